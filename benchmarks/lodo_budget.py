"""The shipped decision on data it never saw: leave one data set out, budget requested vs measured.

For each question set (BANKING77, CLINC150, bitext, fow-cache, GPTCache mock) the match model
*and* its budget table are fitted exactly as ``fit_matcher.py`` fits the shipped ones (k-fold
table), but without that set and without the rule-made pairs made from it; the set is then
decided at budgets 1%, 2% and 5%. PAWS, SNLI and STS-B are never fitted on: they are decided by
the model of all five sets. Prints wrong hits / hits, the hits and the recall per set and budget,
fow-cache per category, and PAWS's best precision at recall >= 0.40.

    python benchmarks/lodo_budget.py              # the shipped recipe (with rule-made pairs)
    python benchmarks/lodo_budget.py --no-rules   # without them
    python benchmarks/lodo_budget.py --all-budgets   # with table rows for 5%, 10%, 20% too

The shipped table honours budgets up to 2% (``match_eval.BUDGETS``); a larger request gets the
2% threshold, as ``MatchModel.threshold_for`` gives it.
"""

from __future__ import annotations

import argparse

import numpy as np
from bench_common import markdown_table
from match_data import DATASETS, PAIR_SETS, RULE_SETS, load_stream
from match_eval import (
    ALL_BUDGETS,
    BUDGETS,
    Prepared,
    Rows,
    concat,
    decide,
    fit_model,
    prepare,
    probabilities,
)

from cacheback.match import MatchModel
from cacheback.match._features import FEATURE_NAMES

OUTSIDE = PAIR_SETS
REPORTED = (0.01, 0.02, 0.05)


def decisions(model: MatchModel, prep: Prepared) -> dict[str, np.ndarray]:
    return decide(prep.rows, probabilities(np.array(model.weights), model.bias, prep.rows.x))


def cell(d: dict[str, np.ndarray], threshold: float) -> str:
    served = d["probability"] >= threshold
    hits, wrong = int(served.sum()), int((served & ~d["right"]).sum())
    recall = int((served & d["right"]).sum()) / max(int(d["answerable"].sum()), 1)
    return f"{wrong / max(hits, 1):.3f} ({hits}, R {recall:.3f})"


def fow_categories(prep: Prepared, d: dict[str, np.ndarray], threshold: float) -> dict[str, str]:
    served = {int(q) for q, p in zip(d["query"], d["probability"]) if p >= threshold}
    served |= set(prep.exact)
    counts: dict[str, list[int]] = {}
    for i, category in enumerate(prep.stream.category):
        slot = counts.setdefault(category, [0, 0])
        slot[0] += i in served
        slot[1] += 1
    return {c: f"{a}/{n}" for c, (a, n) in sorted(counts.items())}


TRAPS = ("negation", "entity_swap", "number_date", "scope")
SHOULD_HIT = ("near_repeat", "paraphrase")


def fow_curve(prep: Prepared, d: dict[str, np.ndarray], thresholds: list[float]) -> list[list[str]]:
    """Traps served and should-hit recall (exact tier included) at each threshold: what any
    threshold of this decision could give fow-cache held out."""
    category = prep.stream.category
    exact = set(prep.exact)
    probability = {int(q): float(p) for q, p in zip(d["query"], d["probability"])}
    rows = []
    for threshold in thresholds:
        def served(i: int, t: float = threshold) -> bool:
            return i in exact or probability.get(i, 0.0) >= t
        traps = [served(i) for i, c in enumerate(category) if c in TRAPS]
        should = [served(i) for i, c in enumerate(category) if c in SHOULD_HIT]
        rows.append([f"{threshold:.4f}", f"{np.mean(traps):.3f}", f"{np.mean(should):.3f}"])
    return rows


def best_precision(d: dict[str, np.ndarray], min_recall: float = 0.40) -> float:
    order = np.argsort(-d["probability"])
    tp = np.cumsum(d["right"][order])
    recall = tp / max(int(d["answerable"].sum()), 1)
    precision = tp / np.arange(1, len(tp) + 1)
    ok = recall >= min_recall
    return float(precision[ok].max()) if ok.any() else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-rules", action="store_true", help="fit without the rule-made pairs")
    parser.add_argument("--folds-only", action="store_true",
                        help="read the budget table off the out-of-fold decisions only (the recipe "
                        "before 5 Dec 2026), not also off the never-fitted pair sets")
    parser.add_argument("--all-budgets", action="store_true",
                        help="give the table rows for 5%%, 10%% and 20%% (not shipped: they do not "
                        "hold on unseen data)")
    args = parser.parse_args()
    budgets = ALL_BUDGETS if args.all_budgets else BUDGETS
    rules = {} if args.no_rules else RULE_SETS
    preps = {n: prepare(load_stream(n)) for n in (*DATASETS, *rules, *OUTSIDE)}

    def unseen(*held: str) -> list[Rows]:
        """The pair sets whose decisions help read the budget table: never the held-out one."""
        return [] if args.folds_only else [preps[n].rows for n in OUTSIDE if n not in held]

    rows = []
    for held in DATASETS:
        train = [n for n in DATASETS if n != held] + [r for r, base in rules.items() if base != held]
        model = fit_model(concat(preps[n].rows for n in train), unseen=unseen(), budgets=budgets)
        d = decisions(model, preps[held])
        rows.append([held, *(cell(d, model.threshold_for(b)) for b in REPORTED)])
        if held == "fow-cache":
            fow = fow_categories(preps[held], d, model.threshold_for(0.02))
            curve = fow_curve(preps[held], d, [model.threshold_for(0.02), 0.85, 0.8, 0.7, 0.6, 0.5])
    fitted = concat(preps[n].rows for n in (*DATASETS, *rules))
    paws = float("nan")
    for name in OUTSIDE:
        model = fit_model(fitted, unseen=unseen(name), budgets=budgets)
        d = decisions(model, preps[name])
        rows.append([f"{name} (never fitted)", *(cell(d, model.threshold_for(b)) for b in REPORTED)])
        if name == "paws":
            paws = best_precision(d)
    print("## Leave one data set out: wrong hits / hits (hits, recall) at each requested budget\n")
    print(markdown_table(["held out", *(f"budget {b:.0%}" for b in REPORTED)], rows))
    print(f"\nfow-cache held out, served per category at budget 2%: {fow}")
    print("\nfow-cache held out, any threshold (the first is the 2% row's):\n")
    print(markdown_table(["threshold", "traps served", "should-hit recall"], curve))
    print(f"PAWS (never fitted): best precision at recall >= 0.40: {paws:.3f}")
    model = fit_model(fitted, unseen=unseen(), budgets=budgets)
    print("\nmodel of all five sets:", {n: round(w, 3) for n, w in zip(FEATURE_NAMES, model.weights)},
          f"bias {model.bias:.3f}; table {[(b, round(t, 4)) for b, t in model.budgets]}")


if __name__ == "__main__":
    main()
