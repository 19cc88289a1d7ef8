"""CQS (cache quality score) and cost per tier on bitext: hit, local synthesis, upstream.

Half of the bitext queries (with their reference responses) are stored; the other half asks.
Each query is served by the first tier that answers: the cache's match decision (exact or
semantic hit), then the local synthesizer on the entries in the band, then the upstream (whose
answer *is* the reference). CQS of a served answer y for a query with reference r and intent t:

    CQS = cos(e(y), e(r)) * [intent(y) == t]

where e is the MiniLM embedding and intent(y) the intent whose stored reference answers are
closest to y (nearest centroid, fit on the stored half only). An upstream answer scores 1.
Costs price every full call at the requested model (tokens ~ characters / 4).

    python benchmarks/ceag_quality.py [--queries N]
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cacheback import SemanticCache
from cacheback.ceag import (
    LocalSettings,
    LocalSynthesizer,
    PromptLimits,
    SynthesisPolicy,
    SynthesisRequest,
    SynthesisTier,
    build_prompt,
    estimate_tokens,
)
from cacheback.pricing import PRICES

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conversation_quality import DiskCachedEmbedder, shared_data_dir  # noqa: E402

REQUESTED_MODEL = "gpt-4o"
SYNTHESIS_MODEL = "gpt-4o-mini"
FLOORS = (0.0, 0.6, 0.75, 0.8)
BANDS = (0.75, 0.80, 0.85)


@dataclass(frozen=True)
class Row:
    query: str
    intent: str
    reference: str


def load_rows(data: Path) -> list[Row]:
    with (data / "bitext" / "bitext_customer_support_6480.csv").open(newline="", encoding="utf-8") as fh:
        return [Row(r["instruction"], r["intent"], r["response"]) for r in csv.DictReader(fh)]


class Judge:
    """Scores served answers against references: cosine times intent agreement."""

    def __init__(self, embedder: DiskCachedEmbedder, stored: Sequence[Row]) -> None:
        self.embedder = embedder
        by_intent: dict[str, list[str]] = defaultdict(list)
        for row in stored:
            by_intent[row.intent].append(row.reference)
        self.intents = sorted(by_intent)
        centroids = np.stack([embedder.embed_batch(sorted(set(by_intent[i]))).mean(axis=0)
                              for i in self.intents])
        self.centroids = centroids / np.linalg.norm(centroids, axis=1, keepdims=True)

    def score(self, served: str, row: Row) -> tuple[float, float, float]:
        """(CQS, similarity, intent agreement) of one served answer."""
        vectors = self.embedder.embed_batch([served, row.reference])
        similarity = max(0.0, float(vectors[0] @ vectors[1]))
        agree = float(self.intents[int(np.argmax(self.centroids @ vectors[0]))] == row.intent)
        return similarity * agree, similarity, agree


def upstream_cost(row: Row) -> float:
    return PRICES[REQUESTED_MODEL].cost(estimate_tokens(row.query), estimate_tokens(row.reference))


@dataclass
class Served:
    tier: str
    cqs: float
    similarity: float
    agree: float
    spent: float
    nearest_cqs: float | None = None


def run(cache: SemanticCache, judge: Judge, queries: Sequence[Row], synthesizer: LocalSynthesizer | None,
        policy: SynthesisPolicy) -> list[Served]:
    """Serve every query through hit -> synthesis -> upstream and score what was served."""
    tier = SynthesisTier(synthesizer, policy) if synthesizer else None
    out: list[Served] = []
    for row in queries:
        hit = cache.get(row.query)
        if hit is not None:
            out.append(Served(hit.tier, *judge.score(hit.response, row), spent=0.0))
            continue
        candidates = cache.candidates(row.query, k=policy.max_sources + 1)
        result = tier.try_synthesize(row.query, candidates, requested_model=REQUESTED_MODEL) if tier else None
        if result is not None:
            nearest = judge.score(candidates[0].response, row)[0]
            out.append(Served("synthesized", *judge.score(result.text, row), spent=0.0, nearest_cqs=nearest))
            continue
        out.append(Served("upstream", 1.0, 1.0, 1.0, spent=upstream_cost(row)))
    return out


def summary(served: Sequence[Served], queries: Sequence[Row]) -> None:
    baseline = sum(upstream_cost(r) for r in queries)
    print(f"{'tier':12s} {'share':>7s} {'CQS':>6s} {'cosine':>7s} {'intent ok':>9s} {'$ spent':>9s}")
    for name in ("exact", "semantic", "synthesized", "upstream"):
        rows = [s for s in served if s.tier == name]
        if not rows:
            continue
        print(f"{name:12s} {len(rows) / len(served):7.1%} {np.mean([s.cqs for s in rows]):6.3f} "
              f"{np.mean([s.similarity for s in rows]):7.3f} {np.mean([s.agree for s in rows]):9.1%} "
              f"{sum(s.spent for s in rows):9.4f}")
    spent = sum(s.spent for s in served)
    print(f"{'all':12s} {1:7.1%} {np.mean([s.cqs for s in served]):6.3f} {'':7s} {'':9s} {spent:9.4f}"
          f"   (always upstream: ${baseline:.4f}; saved {1 - spent / baseline:.1%})")


def llm_estimate(cache: SemanticCache, queries: Sequence[Row], policy: SynthesisPolicy) -> None:
    """What the LLM synthesizer would cost on the same band (its quality needs a real model)."""
    limits = PromptLimits()
    calls = []
    for row in queries:
        if cache.get(row.query) is not None:
            continue
        sources = policy.sources(cache.candidates(row.query, k=policy.max_sources + 1))
        if sources:
            prompt = build_prompt(SynthesisRequest(row.query, sources, (), REQUESTED_MODEL), limits)
            prompt_tokens = estimate_tokens(prompt.system + prompt.user)
            mean_out = int(np.mean([estimate_tokens(c.response) for c in sources]))
            calls.append((PRICES[SYNTHESIS_MODEL].cost(prompt_tokens, mean_out),
                          PRICES[SYNTHESIS_MODEL].cost(prompt_tokens, prompt.max_tokens), upstream_cost(row)))
    if not calls:
        print("no query in the band")
        return
    typical, worst, full = (sum(c[i] for c in calls) for i in range(3))
    print(f"{len(calls)} queries in the band (>= {policy.band_floor}, >= {policy.min_sources} sources): "
          f"{SYNTHESIS_MODEL} synthesis ${typical:.4f} (answer as long as the sources; ${worst:.4f} at the "
          f"token cap) vs {REQUESTED_MODEL} full calls ${full:.4f}: {typical / full:.1%} of the cost")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=1500, help="how many of the asking half to run")
    args = parser.parse_args()
    try:
        rows = load_rows(shared_data_dir())
    except FileNotFoundError as exc:
        print(f"shared data not found: {exc}", file=sys.stderr)
        return 1
    order = list(range(len(rows)))
    random.Random(20240611).shuffle(order)
    stored = [rows[i] for i in order[: len(rows) // 2]]
    queries = [rows[i] for i in order[len(rows) // 2:]][: args.queries]
    embedder = DiskCachedEmbedder("bitext")
    embedder.embed_batch([r.query for r in stored + queries])
    cache = SemanticCache(":memory:", embedder=embedder)
    for row in stored:
        cache.put(row.query, row.reference)
    judge = Judge(embedder, stored)
    print(f"bitext: {len(stored)} stored, {len(queries)} asked; matcher {type(cache.matcher).__name__}; "
          f"requested model {REQUESTED_MODEL}")

    policy = SynthesisPolicy()
    settings = LocalSettings()
    print("\nwithout synthesis")
    summary(run(cache, judge, queries, None, policy), queries)
    print(f"\nwith the local synthesizer (band >= {policy.band_floor}, "
          f"confidence >= {settings.confidence_floor})")
    served = run(cache, judge, queries, LocalSynthesizer(embedder, settings), policy)
    summary(served, queries)
    synthesized = [s for s in served if s.tier == "synthesized"]
    if synthesized:
        print(f"on the {len(synthesized)} synthesized queries: CQS synthesized "
              f"{np.mean([s.cqs for s in synthesized]):.3f} vs serving the nearest entry "
              f"{np.mean([s.nearest_cqs or 0.0 for s in synthesized]):.3f} vs upstream 1.000")

    print("\nsweep: band floor x confidence floor -> share synthesized, its CQS, the nearest entry's CQS "
          "on the same queries, overall CQS, cost vs always upstream")
    baseline = sum(upstream_cost(r) for r in queries)
    print(" ".join(f"{h:>8s}" for h in ("band", "floor", "synth", "CQS syn", "nearest", "CQS all", "cost")))
    for band in BANDS:
        for floor in FLOORS:
            synthesizer = LocalSynthesizer(embedder, LocalSettings(confidence_floor=floor))
            sweep = run(cache, judge, queries, synthesizer, SynthesisPolicy(band_floor=band))
            syn = [s for s in sweep if s.tier == "synthesized"]
            print(f"{band:8.2f} {floor:8.2f} {len(syn) / len(sweep):8.1%} "
                  f"{np.mean([s.cqs for s in syn]) if syn else float('nan'):8.3f} "
                  f"{np.mean([s.nearest_cqs or 0.0 for s in syn]) if syn else float('nan'):8.3f} "
                  f"{np.mean([s.cqs for s in sweep]):8.3f} {sum(s.spent for s in sweep) / baseline:8.1%}")

    print("\nLLM synthesizer (cost only, offline):")
    llm_estimate(cache, queries, policy)
    embedder.save()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
