"""How often the match decision serves a right answer, on every shared development data set.

Every figure for data the shipped model was fitted on is cross-validated: k-fold (each fold's
queries scored by a model, and a budget table, fitted without them) and leave-one-dataset-out
(a model fitted on the other data sets only, the honest guess for unseen data). Prints tables
and writes the precision/recall plot to ``benchmarks/out/match_quality.png``.

    python benchmarks/match_quality.py             # everything (a few minutes on 2 cores)
    python benchmarks/match_quality.py --no-lodo   # skip leave-one-dataset-out
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from bench_common import LookupEmbedder
from match_data import DATASETS, PAIR_SETS, RULE_SETS, load_stream, shared_data_dir
from match_eval import (
    FOLDS,
    L2,
    Prepared,
    Rows,
    concat,
    decide,
    fit_model,
    fold_of,
    prepare,
    probabilities,
)

from cacheback import SemanticCache
from cacheback._types import Candidate
from cacheback.cache import DEFAULT_SIMILARITY_THRESHOLD
from cacheback.match import DEFAULT_MAX_WRONG_HIT_RATE, CalibratedMatcher, MatchModel
from cacheback.match._fit import budget_thresholds
from cacheback.match._model import logit
from cacheback.match._text import profile

OUT = Path(__file__).resolve().parent / "out"
REPORT_BUDGETS = (0.005, 0.01, 0.02, 0.05, 0.1)
FOW_SHOULD_HIT = ("paraphrase", "near_repeat")
FOW_TRAPS = ("negation", "entity_swap", "number_date", "scope")


@dataclass
class Outcome:
    """One query's fate: served or not, and if served whether rightly."""

    dataset: str
    query: int
    served: bool
    right: bool
    answerable: bool


def _candidates(prep: Prepared, n: int) -> list[Candidate]:
    s = prep.stream
    return [
        Candidate(entry_id=j, query=s.stored[j], response="", similarity=sim)
        for j, sim in zip(prep.ids[n], prep.sims[n])
    ]


def matcher_outcomes(prep: Prepared, matcher: CalibratedMatcher, positions: Sequence[int]) -> list[Outcome]:
    """Run the product's matcher on the given queries (positions into ``prep.kept``)."""
    s = prep.stream
    out = []
    for n in positions:
        i = prep.kept[n]
        chosen = matcher.decide(s.queries[i], _candidates(prep, n)).accepted
        right = chosen is not None and s.right(i, chosen.entry_id)
        out.append(Outcome(s.name, i, chosen is not None, right, s.answerable(i)))
    return out


def cosine_outcomes(prep: Prepared, threshold: float) -> list[Outcome]:
    """Plain cosine: serve the most similar stored text when its similarity clears ``threshold``."""
    s = prep.stream
    out = []
    for n, i in enumerate(prep.kept):
        served = prep.sims[n][0] >= threshold
        out.append(Outcome(s.name, i, served, served and s.right(i, prep.ids[n][0]), s.answerable(i)))
    return out


def summary(outcomes: Sequence[Outcome]) -> dict[str, float]:
    hits = sum(o.served for o in outcomes)
    right = sum(o.right for o in outcomes)
    answerable = sum(o.answerable for o in outcomes)
    return {
        "queries": len(outcomes),
        "hits": hits,
        "right": right,
        "wrong": hits - right,
        "precision": right / hits if hits else float("nan"),
        "recall": right / answerable if answerable else float("nan"),
        "false_hit_rate": (hits - right) / len(outcomes) if outcomes else float("nan"),
        "wrong_hit_rate": (hits - right) / hits if hits else 0.0,
    }


def _row(name: str, stats: dict[str, float]) -> str:
    return (
        f"{name:<26}{stats['queries']:>8.0f}{stats['hits']:>7.0f}{stats['wrong']:>7.0f}"
        f"{stats['precision']:>10.3f}{stats['recall']:>8.3f}{stats['false_hit_rate']:>8.3f}"
    )


HEADER = f"{'':<26}{'queries':>8}{'hits':>7}{'wrong':>7}{'precision':>10}{'recall':>8}{'FHR':>8}"


# ------------------------------------------------------------------ cross-validated scoring


@dataclass
class HeldOut:
    """Per fold: the model fitted without it and the positions (into ``kept``) of its queries."""

    models: list[MatchModel]
    positions: dict[str, list[list[int]]]
    probability: np.ndarray


def k_fold(preps: dict[str, Prepared], l2: float, rules: Rows, unseen: list[Rows]) -> HeldOut:
    """Fit one model (and budget table) per fold without that fold's queries, as
    ``fit_matcher.py`` fits the shipped one: plus the rule-made pairs, the table also held on
    the never-fitted pair sets."""
    rows = concat(p.rows for p in preps.values())
    fold = fold_of(rows)
    models, probability = [], np.empty(len(rows))
    for f in range(FOLDS):
        test = fold == f
        model = fit_model(concat([rows.take(~test), rules]), l2=l2, unseen=unseen)
        models.append(model)
        probability[test] = probabilities(np.array(model.weights), model.bias, rows.x[test])
        print(f"  fold {f + 1}/{FOLDS} fitted", file=sys.stderr)
    positions: dict[str, list[list[int]]] = {}
    for name, prep in preps.items():
        where = {q: n for n, q in enumerate(prep.kept)}
        mask = rows.dataset == name
        per_fold: list[list[int]] = [[] for _ in range(FOLDS)]
        seen: set[int] = set()
        for q, f in zip(rows.query[mask], fold[mask]):
            if q not in seen:
                seen.add(q)
                per_fold[f].append(where[int(q)])
        positions[name] = per_fold
    return HeldOut(models, positions, probability)


def held_out_outcomes(prep: Prepared, held: HeldOut, budget: float) -> list[Outcome]:
    out: list[Outcome] = []
    for model, positions in zip(held.models, held.positions[prep.stream.name]):
        out += matcher_outcomes(prep, CalibratedMatcher(budget, model=model), positions)
    return out


# ------------------------------------------------------------------ reports


def report_default(preps: dict[str, Prepared], held: HeldOut, cosine: float) -> dict[str, list[Outcome]]:
    print(
        f"\n== Default settings: matcher at max_wrong_hit_rate={DEFAULT_MAX_WRONG_HIT_RATE} "
        f"({FOLDS}-fold held out) vs plain cosine >= {cosine}"
    )
    print(HEADER)
    chosen: dict[str, list[Outcome]] = {}
    for name, prep in preps.items():
        chosen[name] = held_out_outcomes(prep, held, DEFAULT_MAX_WRONG_HIT_RATE)
        print(_row(f"{name} matcher", summary(chosen[name])))
        print(_row(f"{name} cosine", summary(cosine_outcomes(prep, cosine))))
    print(
        "(semantic tier only: queries stored verbatim go to the exact tier and are left out; "
        "FHR = wrong hits / queries)"
    )
    return chosen


def report_fow(prep: Prepared, matcher: list[Outcome], cosine: float) -> None:
    category = prep.stream.category
    base = cosine_outcomes(prep, cosine)
    exact = {c: sum(category[i] == c for i in prep.exact) for c in FOW_SHOULD_HIT + FOW_TRAPS}
    print("\n== fow-cache pairs per category (exact-tier repeats count as hits; rate = share served)")
    print(f"{'category':<14}{'pairs':>6}{'exact':>7}{'matcher':>9}{'cosine':>8}")
    totals = {"should": [0, 0, 0], "trap": [0, 0, 0]}
    for c in FOW_SHOULD_HIT + FOW_TRAPS:
        pairs = sum(label == c for label in category)
        m = sum(o.served for o in matcher if category[o.query] == c) + exact[c]
        b = sum(o.served for o in base if category[o.query] == c) + exact[c]
        print(f"{c:<14}{pairs:>6}{exact[c]:>7}{m / pairs:>9.3f}{b / pairs:>8.3f}")
        t = totals["should" if c in FOW_SHOULD_HIT else "trap"]
        t[0] += pairs
        t[1] += m
        t[2] += b
    for key, label in (("should", "should-hit recall"), ("trap", "trap false-hit rate")):
        pairs, m, b = totals[key]
        print(f"{label:<27}{m / pairs:>9.3f}{b / pairs:>8.3f}")


def report_specials(preps: dict[str, Prepared], chosen: dict[str, list[Outcome]], cosine: float) -> None:
    print("\n== Special checks at default settings (held out)")
    clinc = preps["clinc150"].stream
    oos = [o for o in chosen["clinc150"] if clinc.query_label[o.query] == "oos"]
    oos_cos = [o for o in cosine_outcomes(preps["clinc150"], cosine) if clinc.query_label[o.query] == "oos"]
    print(
        f"CLINC out-of-scope queries served an in-scope answer: matcher "
        f"{sum(o.served for o in oos)}/{len(oos)} = {sum(o.served for o in oos) / len(oos):.3f}; "
        f"cosine {sum(o.served for o in oos_cos) / len(oos_cos):.3f}"
    )
    prep = preps["bitext"]
    s = prep.stream
    traps = {
        prep.kept[n]
        for n in range(len(prep.kept))
        if s.query_label[prep.kept[n]].split("|")[1]
        and s.query_label[prep.kept[n]].split("|")[0] == s.stored_label[prep.ids[n][0]].split("|")[0]
        and s.query_label[prep.kept[n]] != s.stored_label[prep.ids[n][0]]
    }
    served = sum(o.served and not o.right for o in chosen["bitext"] if o.query in traps)
    served_cos = sum(o.served and not o.right for o in cosine_outcomes(prep, cosine) if o.query in traps)
    print(
        f"bitext same-intent / different-entity traps (top neighbour has another order id, name...): "
        f"{len(traps)} queries; wrongly served: matcher {served}, cosine {served_cos}"
    )
    g = summary(chosen["gptcache-mock"])
    gc = summary(cosine_outcomes(preps["gptcache-mock"], cosine))
    for label, st in (("matcher", g), ("cosine", gc)):
        print(
            f"gptcache-mock {label}: correct hits {st['right']:.0f}, wrong hits {st['wrong']:.0f}, "
            f"misses {st['queries'] - st['hits']:.0f} of {st['queries']:.0f}"
        )


def _precision_recall(
    scores: np.ndarray, right: np.ndarray, answerable: int, threshold: float
) -> tuple[int, float, float]:
    served = scores >= threshold
    good = int((served & right).sum())
    return int(served.sum()), good / max(int(served.sum()), 1), good / answerable


def report_sweep(preps: dict[str, Prepared], held: HeldOut) -> dict[str, list[tuple[float, float, float]]]:
    """Precision/recall of the held-out probabilities over thresholds, next to plain cosine."""
    rows = concat(p.rows for p in preps.values())
    d = decide(rows, held.probability)
    print("\n== Sweep (held-out probabilities; cosine on the top candidate): precision / recall")
    tables = (
        ("dataset", "p>=", "probability", "right", (0.5, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95)),
        (
            "plain cosine",
            "s>=",
            "similarity",
            "right_by_similarity",
            (0.8, 0.85, 0.88, 0.9, 0.92, 0.95, 0.97),
        ),
    )
    for title, sign, score, truth, thresholds in tables:
        print(f"{title:<15}" + "".join(f"{sign + str(t):>13}" for t in thresholds))
        for name in preps:
            m = d["dataset"] == name
            answerable = int(d["answerable"][m].sum())
            cells = [_precision_recall(d[score][m], d[truth][m], answerable, t) for t in thresholds]
            print(f"{name:<15}" + "".join(f"{p:.3f}/{r:.3f}".rjust(13) for _, p, r in cells))
    curves: dict[str, list[tuple[float, float, float]]] = {}
    for name in preps:
        m = d["dataset"] == name
        answerable = int(d["answerable"][m].sum())
        grid = np.unique(
            np.r_[np.linspace(0, 1, 201), np.quantile(d["probability"][m], np.linspace(0, 1, 201))]
        )
        points = [
            (float(t), *_precision_recall(d["probability"][m], d["right"][m], answerable, t)) for t in grid
        ]
        curves[name] = [(t, p, r) for t, hits, p, r in points if hits >= 5]
    return curves


def report_fow_ceiling(preps: dict[str, Prepared], held: HeldOut, max_trap_rate: float = 0.02) -> None:
    """The best fow-cache should-hit recall any single threshold reaches with traps served at
    most ``max_trap_rate``, on held-out probabilities: what the features can separate at all."""
    prep = preps["fow-cache"]
    rows = concat(p.rows for p in preps.values())
    d = decide(rows, held.probability)
    mine = d["dataset"] == "fow-cache"
    category = prep.stream.category
    queries, scores = d["query"][mine], d["probability"][mine]
    should = sum(c in FOW_SHOULD_HIT for c in category)
    traps = sum(c in FOW_TRAPS for c in category)
    exact = sum(category[i] in FOW_SHOULD_HIT for i in prep.exact)
    best = (0.0, 0.0, 1.0)
    for threshold in np.unique(scores):
        served = [category[q] for q in queries[scores >= threshold]]
        recall = (sum(c in FOW_SHOULD_HIT for c in served) + exact) / should
        trap_rate = sum(c in FOW_TRAPS for c in served) / traps
        if trap_rate <= max_trap_rate and recall > best[0]:
            best = (recall, trap_rate, float(threshold))
    print(
        f"\n== fow-cache, best of any threshold (held out): should-hit recall {best[0]:.3f} with traps "
        f"{best[1]:.3f} at p >= {best[2]:.3f} (traps allowed: <= {max_trap_rate})"
    )


def report_calibration(preps: dict[str, Prepared], held: HeldOut) -> None:
    """Requested budget vs measured wrong-hit rate, each query judged by its own fold's model."""
    rows = concat(p.rows for p in preps.values())
    d = decide(rows, held.probability)
    fold = fold_of(rows)[d["row"]]
    print("\n== Calibration: requested max_wrong_hit_rate vs measured wrong hits / hits (held-out folds)")
    print(f"{'requested':<11}" + "".join(f"{n:>15}" for n in preps) + f"{'all pooled':>12}")
    for budget in REPORT_BUDGETS:
        threshold = np.array([m.threshold_for(budget) for m in held.models])[fold]
        served = d["probability"] >= threshold
        cells = []
        for n in preps:
            m = served & (d["dataset"] == n)
            cells.append(f"{(~d['right'][m]).mean():.3f} ({m.sum()})")
        print(f"{budget:<11}" + "".join(f"{c:>15}" for c in cells) + f"{(~d['right'][served]).mean():>12.3f}")
    print("(in brackets: hits served; on a set with few hits a budget cannot be told apart from zero)")


def report_lodo(
    preps: dict[str, Prepared], l2: float, rules: dict[str, Prepared], unseen: list[Rows]
) -> None:
    print("\n== Leave one data set out: model and budget table fitted on the other four only "
          "(and the rule-made pairs not made from the held-out set; benchmarks/lodo_budget.py "
          "also holds out the pair sets)")
    print(
        f"{'held-out set':<15}{'budget':>7}{'hits':>7}{'wrong':>7}{'precision':>10}{'recall':>8}"
        f"{'FHR':>8}{'wrong/hits':>11}"
    )
    for name, prep in preps.items():
        train = [p.rows for n, p in preps.items() if n != name]
        train += [p.rows for r, p in rules.items() if RULE_SETS[r] != name]
        model = fit_model(concat(train), l2=l2, unseen=unseen)
        everyone = range(len(prep.kept))
        for budget in sorted({0.01, 0.02, 0.05, DEFAULT_MAX_WRONG_HIT_RATE}):
            st = summary(matcher_outcomes(prep, CalibratedMatcher(budget, model=model), everyone))
            print(
                f"{name:<15}{budget:>7}{st['hits']:>7.0f}{st['wrong']:>7.0f}{st['precision']:>10.3f}"
                f"{st['recall']:>8.3f}{st['false_hit_rate']:>8.3f}{st['wrong_hit_rate']:>11.3f}"
            )
        if name == "fow-cache":
            print("fow-cache held out entirely, per category:", end="")
            report_fow(
                prep,
                matcher_outcomes(prep, CalibratedMatcher(model=model), everyone),
                DEFAULT_SIMILARITY_THRESHOLD,
            )


def report_cosine_threshold(preps: dict[str, Prepared]) -> None:
    """The plain-cosine threshold each wrong-hit budget needs on every data set (the baseline's default)."""
    rows = concat(p.rows for p in preps.values())
    d = decide(rows, rows.similarity)
    print(
        "\n== Plain cosine: smallest threshold within a wrong-hit budget on every data set but "
        "fow-cache (which no cosine threshold protects)"
    )
    keep = d["dataset"] != "fow-cache"
    table = budget_thresholds(
        d["similarity"][keep], d["right_by_similarity"][keep], d["dataset"][keep], (0.02, 0.05, 0.1)
    )
    for budget, threshold in table:
        print(f"  budget {budget:<5} -> cosine >= {threshold:.3f}")
    print(f"  DEFAULT_SIMILARITY_THRESHOLD = {DEFAULT_SIMILARITY_THRESHOLD}")


def report_latency(preps: dict[str, Prepared]) -> None:
    """Time ``decide`` over 5 candidates: texts new to the profile cache, and the steady state."""
    matcher = CalibratedMatcher()
    prep = preps["banking77"]
    calls = [(prep.stream.queries[i], _candidates(prep, n)) for n, i in enumerate(prep.kept[:1000])]
    cold, warm = [], []
    for query, cands in calls:
        profile.cache_clear()
        start = time.perf_counter()
        matcher.decide(query, cands)
        cold.append(time.perf_counter() - start)
    profile.cache_clear()
    for _, cands in calls:
        for c in cands:
            profile(c.query)
    for query, cands in calls:
        start = time.perf_counter()
        matcher.decide(query, cands)
        warm.append(time.perf_counter() - start)
    print("\n== Latency of CalibratedMatcher.decide, 5 candidates, 1000 banking77 queries")
    for label, times in (("all 6 texts new (cold)", cold), ("query new, stored texts seen (steady)", warm)):
        ms = sorted(t * 1000 for t in times)
        print(f"  {label:<40} p50 {statistics.median(ms):.3f} ms   p99 {ms[int(len(ms) * 0.99)]:.3f} ms")
    floor, bound = logit(matcher.threshold), matcher.model.max_logit
    pruned = sum(bound(c.similarity, cands[0].similarity) < floor for _, cands in calls for c in cands)
    below = sum(c.similarity < matcher.min_similarity() for _, cands in calls for c in cands)
    total = sum(len(cands) for _, cands in calls)
    print(
        f"  candidates rejected on similarity alone (texts never read): {pruned}/{total}; "
        f"below min_similarity() = {matcher.min_similarity():.3f}: {below}/{total}"
    )
    report_get_latency(prep)


def report_get_latency(prep: Prepared, stored: int = 2000, asked: int = 500) -> None:
    """``SemanticCache.get`` p50 with the calibrated matcher and with plain cosine, same cache."""
    s = prep.stream
    assert s.stored_vectors is not None and s.query_vectors is not None
    embedder = LookupEmbedder(s.stored + s.queries, np.vstack([s.stored_vectors, s.query_vectors]))
    queries = [s.queries[i] for i in prep.kept[:asked]]
    print(
        f"\n== SemanticCache.get, {stored} stored banking77 texts, {asked} new queries (vectors precomputed)"
    )
    for label, knobs in (("calibrated matcher", {}), ("plain cosine 0.90", {"similarity_threshold": 0.9})):
        with SemanticCache(":memory:", embedder=embedder, **knobs) as cache:  # type: ignore[arg-type]
            for text in s.stored[:stored]:
                cache.put(text, "answer")
            profile.cache_clear()
            times = []
            for query in queries:
                start = time.perf_counter()
                cache.get(query)
                times.append(time.perf_counter() - start)
        ms = sorted(t * 1000 for t in times)
        print(f"  {label:<20} p50 {statistics.median(ms):.3f} ms   p99 {ms[int(len(ms) * 0.99)]:.3f} ms")


def plot(
    curves: dict[str, list[tuple[float, float, float]]],
    preps: dict[str, Prepared],
    chosen: dict[str, list[Outcome]],
) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot")
        return None
    fig, grid = plt.subplots(2, 3, figsize=(13, 8.5), sharey=True)
    axes = list(grid.flat)
    for ax, name in zip(axes, preps):
        points = curves[name]
        ax.plot([p[2] for p in points], [p[1] for p in points], label="cacheback matcher (held out)")
        prep = preps[name]
        cos = []
        for t in np.linspace(0.5, 1.0, 101):
            st = summary(cosine_outcomes(prep, float(t)))
            if st["hits"] >= 5:
                cos.append((st["recall"], st["precision"]))
        ax.plot([c[0] for c in cos], [c[1] for c in cos], "--", label="plain cosine")
        st = summary(chosen[name])
        ax.plot(
            [st["recall"]], [st["precision"]], "o", label=f"default (budget {DEFAULT_MAX_WRONG_HIT_RATE})"
        )
        base = summary(cosine_outcomes(prep, DEFAULT_SIMILARITY_THRESHOLD))
        ax.plot([base["recall"]], [base["precision"]], "s", label=f"cosine {DEFAULT_SIMILARITY_THRESHOLD}")
        ax.set_title(name)
        ax.set_xlabel("recall")
        ax.set_xlim(0, 1)
        ax.set_ylim(0.4, 1.005)
        ax.grid(alpha=0.3)
    for ax in (axes[0], axes[3]):
        ax.set_ylabel("precision (right hits / hits)")
    handles, labels = axes[0].get_legend_handles_labels()
    axes[-1].axis("off")
    axes[-1].legend(handles, labels, loc="center", fontsize=10)
    fig.tight_layout()
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "match_quality.png"
    fig.savefig(path, dpi=110)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--no-lodo", action="store_true", help="skip leave-one-dataset-out")
    parser.add_argument("--l2", type=float, default=L2)
    args = parser.parse_args(argv)
    if not shared_data_dir().is_dir():
        print(f"no shared data at {shared_data_dir()}", file=sys.stderr)
        return 1
    preps = {name: prepare(load_stream(name)) for name in DATASETS}
    rules = {name: prepare(load_stream(name)) for name in RULE_SETS}
    unseen = [prepare(load_stream(name)).rows for name in PAIR_SETS]
    held = k_fold(preps, args.l2, concat(p.rows for p in rules.values()), unseen)
    cosine = DEFAULT_SIMILARITY_THRESHOLD
    chosen = report_default(preps, held, cosine)
    report_fow(preps["fow-cache"], chosen["fow-cache"], cosine)
    report_specials(preps, chosen, cosine)
    curves = report_sweep(preps, held)
    report_fow_ceiling(preps, held)
    report_calibration(preps, held)
    report_cosine_threshold(preps)
    if not args.no_lodo:
        report_lodo(preps, args.l2, rules, unseen)
    report_latency(preps)
    path = plot(curves, preps, chosen)
    if path:
        print(f"\nplot: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
