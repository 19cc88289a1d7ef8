"""Does the verifier make the match decision right on data it never saw?

Leave-one-data-set-out over the eight labelled sets (BANKING77, CLINC150, bitext, fow-cache,
GPTCache mock, PAWS, SNLI, STS-B): for each held-out set, the decision model and its budget
table are fitted on the other seven, and the held-out set's verifier scores come from a
cross-encoder trained without the held-out set's group (training/README.md: G1 = BANKING77 +
bitext, G2 = CLINC150 + GPTCache + STS-B, G3 = fow-cache + PAWS + SNLI). Two decisions are
compared at the same budgets:

* ``features``: today's matcher (cosine + the text features), refitted the same way;
* ``verified``: the same features plus the verifier's logit on the most similar candidate
  above the similarity floor (others are never served).

    python benchmarks/verifier_quality.py --models /work/artifacts/verifier [--fit]

The verifier did not beat the features (docs/matching.md), so nothing here writes a shipped
model for it; ``--fit-features`` writes the feature-only ``matcher.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import CACHE_DIR, markdown_table  # noqa: E402
from match_data import ALL_DATASETS, RULE_SETS, load_stream  # noqa: E402
from match_eval import (  # noqa: E402
    BUDGETS,
    L2,
    Prepared,
    Rows,
    concat,
    decide,
    prepare,
    probabilities,
)

from cacheback.match._features import FEATURE_NAMES, FEATURE_SIGNS  # noqa: E402
from cacheback.match._fit import budget_thresholds, fit_logistic  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
from verifier_onnx import OnnxVerifier  # noqa: E402

#: The verified decision scores the most similar candidate (``VERIFY_TOP``) at or above cosine
#: ``VERIFY_FLOOR``; no other candidate is served.
VERIFY_TOP = 1
VERIFY_FLOOR = 0.5

GROUPS = {"banking77": "G1", "bitext": "G1", "clinc150": "G2", "gptcache-mock": "G2",
          "stsb": "G2", "fow-cache": "G3", "paws": "G3", "snli": "G3"}
FOW_SHOULD_HIT = ("paraphrase", "near_repeat")


@dataclass
class Scored:
    """A prepared set with the verifier logit of each row (NaN: not verified)."""

    prep: Prepared
    verifier: np.ndarray
    eligible: np.ndarray


def _ranks(prep: Prepared) -> np.ndarray:
    """Each row's rank by similarity within its query (rows are stored best first)."""
    out = np.empty(len(prep.rows), dtype=np.int64)
    pos = 0
    for cands in prep.ids:
        out[pos:pos + len(cands)] = np.arange(len(cands))
        pos += len(cands)
    return out


def score_rows(prep: Prepared, meta: Path) -> Scored:
    """Verifier logits of the eligible rows, cached by model sha256 and data set."""
    ranks = _ranks(prep)
    eligible = (ranks < VERIFY_TOP) & (prep.rows.similarity >= VERIFY_FLOOR)
    sha = json.loads(meta.read_text())["sha256"][:12]
    cache = CACHE_DIR / f"verifier-{sha}-{prep.stream.name}-{int(eligible.sum())}.npy"
    logits = np.full(len(prep.rows), np.nan)
    if cache.is_file():
        logits[eligible] = np.load(cache)
        return Scored(prep, logits, eligible)
    verifier = OnnxVerifier(meta)
    pairs = []
    pos = 0
    for i, cands in zip(prep.kept, prep.ids):
        for r, j in enumerate(cands):
            if eligible[pos + r]:
                pairs.append((prep.stream.queries[i], prep.stream.stored[j]))
        pos += len(cands)
    out = np.concatenate([verifier.score(pairs[s:s + 64]) for s in range(0, len(pairs), 64)]) \
        if pairs else np.zeros(0)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    np.save(cache, out)
    logits[eligible] = out
    return Scored(prep, logits, eligible)


def _signs(with_verifier: bool) -> list[int]:
    signs = [FEATURE_SIGNS[name] for name in FEATURE_NAMES]
    return [*signs, 1] if with_verifier else signs


def design(scored: list[Scored], with_verifier: bool) -> tuple[Rows, np.ndarray]:
    """Rows of the given sets, the verifier logit appended as a feature when asked, and which
    rows may be served (all of them without the verifier; the verified ones with it)."""
    parts, masks = [], []
    for s in scored:
        rows = s.prep.rows
        if with_verifier:
            x = np.column_stack([rows.x, np.nan_to_num(s.verifier, nan=0.0)])
            rows = Rows(x, rows.right, rows.similarity, rows.query, rows.dataset, rows.answerable)
            masks.append(s.eligible)
        else:
            masks.append(np.ones(len(rows), dtype=bool))
        parts.append(rows)
    return concat(parts), np.concatenate(masks)


#: How much all rule-made pair sets together weigh in a fit, in data sets (``--rules-weight``).
RULES_WEIGHT = [1.0]
#: Whether the rule-made sets' own decisions help choose the budget thresholds (``--rules-in-table``).
RULES_IN_TABLE = [False]


def _weights(rows: Rows) -> np.ndarray:
    """Each data set weighs the same; the rule-made sets share ``RULES_WEIGHT`` data sets' worth."""
    weight = np.empty(len(rows))
    names = np.unique(rows.dataset)
    rules = [n for n in names if n in RULE_SETS]
    for name in names:
        mask = rows.dataset == name
        weight[mask] = (RULES_WEIGHT[0] / len(rules) if name in RULE_SETS else 1.0) / int(mask.sum())
    return weight


def _without(scored: dict[str, Scored], held: str) -> dict[str, Scored]:
    """Every set but ``held`` and the rule-made pairs made from it."""
    return {n: s for n, s in scored.items() if n != held and RULE_SETS.get(n) != held}


def fit(rows: Rows, eligible: np.ndarray, with_verifier: bool) -> tuple[np.ndarray, float]:
    train = rows.take(eligible)
    return fit_logistic(train.x, train.right, _weights(train), l2=L2, signs=_signs(with_verifier))


def scores(rows: Rows, eligible: np.ndarray, model: tuple[np.ndarray, float]) -> np.ndarray:
    p = probabilities(model[0], model[1], rows.x)
    return np.where(eligible, p, 0.0)


def threshold_for(table: list[tuple[float, float]], budget: float) -> float:
    for b, t in table:
        if abs(b - budget) < 1e-12:
            return t
    raise KeyError(budget)


@dataclass
class Outcome:
    served: int
    wrong: int
    right: int
    answerable: int
    queries: int

    def row(self) -> list[object]:
        precision = self.right / self.served if self.served else float("nan")
        recall = self.right / self.answerable if self.answerable else float("nan")
        return [f"{precision:.3f}", f"{recall:.3f}", f"{self.wrong / max(self.served, 1):.3f}",
                f"{self.wrong}/{self.queries}"]


def outcome(d: dict[str, np.ndarray], threshold: float) -> Outcome:
    served = d["probability"] >= threshold
    right = served & d["right"]
    return Outcome(int(served.sum()), int((served & ~d["right"]).sum()), int(right.sum()),
                   int(d["answerable"].sum()), len(served))


def unseen_decisions(scored: dict[str, Scored], with_verifier: bool
                     ) -> dict[str, dict[str, np.ndarray]]:
    """Each set's decisions by a model fitted on the other sets only."""
    out = {}
    for held in scored:
        if held in RULE_SETS and not RULES_IN_TABLE[0]:
            continue
        train_rows, train_ok = design(list(_without(scored, held).values()), with_verifier)
        model = fit(train_rows, train_ok, with_verifier)
        rows, ok = design([scored[held]], with_verifier)
        out[held] = decide(rows, scores(rows, ok, model))
    return out


def unseen_table(decisions: dict[str, dict[str, np.ndarray]]) -> list[tuple[float, float]]:
    """The budget table that keeps every set's wrong-hit rate within budget *when the set was
    unseen by the model*: thresholds read off the sets' leave-one-out decisions."""
    probability = np.concatenate([d["probability"] for d in decisions.values()])
    right = np.concatenate([d["right"] for d in decisions.values()])
    groups = np.concatenate([d["dataset"] for d in decisions.values()])
    return budget_thresholds(probability, right, groups, BUDGETS)


def leave_one_out(scored: dict[str, Scored], with_verifier: bool
                  ) -> dict[str, tuple[dict[str, np.ndarray], list[tuple[float, float]]]]:
    """Per held-out set: its decisions, and a budget table built without it (nested: the
    table comes from the other sets' own leave-one-out decisions, so the held-out set
    chooses neither the weights nor the thresholds)."""
    out = {}
    for held in scored:
        if held in RULE_SETS:
            continue
        others = _without(scored, held)
        table = unseen_table(unseen_decisions(others, with_verifier))
        train_rows, train_ok = design(list(others.values()), with_verifier)
        model = fit(train_rows, train_ok, with_verifier)
        rows, ok = design([scored[held]], with_verifier)
        out[held] = (decide(rows, scores(rows, ok, model)), table)
        print(f"  {'verified' if with_verifier else 'features'}: {held} done", file=sys.stderr)
    return out


def fow_categories(scored: Scored, d: dict[str, np.ndarray], threshold: float
                   ) -> dict[str, tuple[int, int]]:
    """fow-cache per category: (served, pairs); exact-tier repeats count as served."""
    stream = scored.prep.stream
    served = {int(q) for q, p in zip(d["query"], d["probability"]) if p >= threshold}
    served |= set(scored.prep.exact)
    out: dict[str, list[int]] = {}
    for i, category in enumerate(stream.category):
        slot = out.setdefault(category, [0, 0])
        slot[0] += i in served
        slot[1] += 1
    return {k: (v[0], v[1]) for k, v in out.items()}


def _auc(score: np.ndarray, right: np.ndarray) -> float:
    """Rank AUC of ``score`` for right (positive) against wrong answers."""
    right = right.astype(bool)
    n1, n0 = int(right.sum()), int((~right).sum())
    if not n1 or not n0:
        return float("nan")
    order = np.argsort(score, kind="stable")
    ranks = np.empty(len(score))
    ranks[order] = np.arange(1, len(score) + 1)
    return float((ranks[right].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def best_precision_at_recall(d: dict[str, np.ndarray], min_recall: float) -> tuple[float, float]:
    """The best precision of any threshold whose recall is at least ``min_recall``."""
    order = np.argsort(-d["probability"])
    right = d["right"][order]
    answerable = max(int(d["answerable"].sum()), 1)
    tp = np.cumsum(right)
    served = np.arange(1, len(right) + 1)
    recall = tp / answerable
    ok = recall >= min_recall
    if not ok.any():
        return float("nan"), float(recall[-1]) if len(recall) else float("nan")
    precision = tp / served
    best = int(np.argmax(np.where(ok, precision, -1.0)))
    return float(precision[best]), float(recall[best])


def never_seen(scored: dict[str, Scored], outside: dict[str, Scored], with_verifier: bool
               ) -> dict[str, tuple[dict[str, np.ndarray], list[tuple[float, float]]]]:
    """Sets outside the fit entirely: decided by the model and table of all fitted sets."""
    if not outside:
        return {}
    table = unseen_table(unseen_decisions(scored, with_verifier))
    train_rows, train_ok = design(list(scored.values()), with_verifier)
    model = fit(train_rows, train_ok, with_verifier)
    out = {}
    for name, s in outside.items():
        rows, ok = design([s], with_verifier)
        out[name] = (decide(rows, scores(rows, ok, model)), table)
    return out


def report(scored: dict[str, Scored], budget: float, features_only: bool = False,
           outside: dict[str, Scored] | None = None) -> dict[str, object]:
    outside = outside or {}
    results = {False: {**leave_one_out(scored, False), **never_seen(scored, outside, False)}}
    results[True] = results[False] if features_only else {
        **leave_one_out(scored, True), **never_seen(scored, outside, True)}
    scored = {n: s for n, s in {**scored, **outside}.items() if n not in RULE_SETS}
    table = []
    for name in scored:
        line: list[object] = [name]
        for variant in (False, True):
            d, tab = results[variant][name]
            line += outcome(d, threshold_for(tab, budget)).row()
        table.append(line)
    print("\n## Leave one data set out: how well each decision ranks its served answers "
          "(AUC of the probability, right vs wrong top answer; precision at recall 0.4)\n")
    ranking = []
    for name in scored:
        line: list[object] = [name]
        for variant in (False, True):
            d = results[variant][name][0]
            line.append(f"{_auc(d['probability'], d['right']):.3f}")
            p, r = best_precision_at_recall(d, 0.40)
            line.append(f"{p:.3f}")
        ranking.append(line)
    print(markdown_table(["held out", "features AUC", "P@R0.4", "verified AUC", "P@R0.4"], ranking))
    print(f"\n## Leave one data set out at budget {budget} (precision / recall / wrong share of hits /"
          " wrong hits per query)\n")
    print(markdown_table(["held out", "features P", "R", "wrong/hits", "wrong/queries",
                          "verified P", "R", "wrong/hits", "wrong/queries"], table))
    print("\n## The budget, requested vs measured (wrong hits / hits, leave one set out)\n")
    rows = []
    for name in scored:
        line = [name]
        for variant in (False, True):
            d, tab = results[variant][name]
            for b in (0.01, 0.02, 0.05):
                o = outcome(d, threshold_for(tab, b))
                line.append(f"{o.wrong / o.served:.3f} ({o.served})" if o.served else "- (0)")
        rows.append(line)
    print(markdown_table(["held out", "features 1%", "2%", "5%", "verified 1%", "2%", "5%"], rows))
    if "fow-cache" in scored:
        print(f"\n## fow-cache held out, per category (share served) at budget {budget}\n")
        cats = []
        for variant in (False, True):
            d, tab = results[variant]["fow-cache"]
            per = fow_categories(scored["fow-cache"], d, threshold_for(tab, budget))
            should = sum(per[c][0] for c in per if c in FOW_SHOULD_HIT) / max(
                sum(per[c][1] for c in per if c in FOW_SHOULD_HIT), 1)
            trap = sum(per[c][0] for c in per if c not in FOW_SHOULD_HIT) / max(
                sum(per[c][1] for c in per if c not in FOW_SHOULD_HIT), 1)
            cats.append(["verified" if variant else "features",
                         *[f"{per[c][0] / per[c][1]:.3f}" for c in sorted(per)],
                         f"{should:.3f}", f"{trap:.3f}"])
        names = sorted(fow_categories(scored["fow-cache"], *[results[False]["fow-cache"][0], 1.0]))
        print(markdown_table(["decision", *names, "should-hit recall", "trap rate"], cats))
    if "paws" in scored:
        print("\n## PAWS held out: best precision at recall >= 0.40\n")
        for variant in (False, True):
            p, r = best_precision_at_recall(results[variant]["paws"][0], 0.40)
            print(f"- {'verified' if variant else 'features'}: precision {p:.3f} at recall {r:.3f}")
    return {"results": results}


def fit_features_and_save(scored: dict[str, Scored], info: dict[str, object]) -> None:
    """Today's feature model refitted on every set, with the budget table read off the sets'
    leave-one-out decisions (so the budget holds on a set the model never saw), as the shipped
    ``cacheback/match/data/matcher.json``."""
    from cacheback.match import DEFAULT_MODEL_PATH, MatchModel

    rows, ok = design(list(scored.values()), False)
    weights, bias = fit(rows, ok, False)
    table = unseen_table(unseen_decisions(scored, False))
    model = MatchModel(weights=tuple(float(w) for w in weights), bias=float(bias),
                       budgets=tuple(table), info=info)
    model.save(DEFAULT_MODEL_PATH)
    print(f"\nwrote {DEFAULT_MODEL_PATH}: table {table}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=Path, default=Path("/work/artifacts/verifier"),
                        help="folder with no_G1.json, no_G2.json, no_G3.json (+ their .onnx)")
    parser.add_argument("--datasets", nargs="*", default=list(ALL_DATASETS))
    parser.add_argument("--outside", nargs="*", default=[],
                        help="sets never fitted on: decided by the model of all --datasets")
    parser.add_argument("--budget", type=float, default=0.05)
    parser.add_argument("--fit-features", action="store_true",
                        help="write the shipped feature-only matcher.json (leave-one-out table)")
    parser.add_argument("--features-only", action="store_true",
                        help="no verifier: today's decision only (both column groups equal)")
    parser.add_argument("--rules", action="store_true",
                        help="fit on rule-made pairs too (rules-<set>; dropped with <set>)")
    parser.add_argument("--rules-weight", type=float, default=1.0)
    parser.add_argument("--rules-in-table", action="store_true")
    parser.add_argument("--model-for", default="",
                        help="use one model json for every set (a quick run, not honest)")
    args = parser.parse_args()
    pick: Callable[[str], Path] = (
        (lambda _name: Path(args.model_for)) if args.model_for
        else (lambda name: args.models / f"no_{GROUPS[name]}.json"))
    scored: dict[str, Scored] = {}
    outside: dict[str, Scored] = {}
    RULES_WEIGHT[0] = args.rules_weight
    RULES_IN_TABLE[0] = args.rules_in_table
    rules = [r for r, base in RULE_SETS.items() if base in args.datasets] if args.rules else []
    for name in [*args.datasets, *rules, *args.outside]:
        prep = prepare(load_stream(name))
        if args.features_only:
            n = len(prep.rows)
            scored[name] = Scored(prep, np.full(n, np.nan), np.zeros(n, dtype=bool))
        else:
            scored[name] = score_rows(prep, pick(name))
        print(f"{name}: {len(prep.kept)} queries, {int(scored[name].eligible.sum())} verified rows",
              file=sys.stderr)
        if name in args.outside:
            outside[name] = scored.pop(name)
    report(scored, args.budget, args.features_only, outside)
    if args.fit_features:
        fit_features_and_save(scored, {
            "fitted_on": list(scored), "budget_table": "thresholds read off leave-one-data-set-out "
            "decisions (benchmarks/verifier_quality.py)"})


if __name__ == "__main__":
    main()
