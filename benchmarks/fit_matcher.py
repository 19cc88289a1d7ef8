"""Refit the match model and its wrong-hit budget table; writes ``cacheback/match/data/matcher.json``.

Rows are (query, candidate) pairs from the shared development data (``../shared/data``, every
data set weighing the same), pairs made by general grammar rules from the intent sets' stored
questions (``rules-*``: negations, other numbers, swapped names, opposite scope words, harmless
rewrites; together one data set's weight, never choosing a budget threshold), optionally plus
user judgements from caches' feedback tables. The budget table is read off the out-of-fold
decisions and off the model's decisions on the general pair sets it never fits (PAWS, SNLI,
STS-B: each budget must hold on them within one point):

    python benchmarks/fit_matcher.py                          # refit on the shared data
    python benchmarks/fit_matcher.py --feedback ~/.cache/cacheback/cache.db
    python benchmarks/fit_matcher.py --out /tmp/matcher.json  # leave the shipped model alone
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from match_data import DATASETS, PAIR_SETS, RULE_SETS, load_stream, shared_data_dir
from match_eval import BUDGETS, FOLDS, L2, Rows, concat, feedback_rows, fit_model, rows_for

from cacheback.match import DEFAULT_MODEL_PATH, MatchModel
from cacheback.match._features import FEATURE_NAMES
from cacheback.storage import SQLiteStorage


def dev_rows(datasets: tuple[str, ...] = DATASETS, rules: bool = True) -> Rows:
    """The feature rows of every shared development data set (and the rule-made pairs)."""
    names = [*datasets, *(r for r, base in RULE_SETS.items() if base in datasets and rules)]
    return concat(rows_for(load_stream(name)) for name in names)


def _feedback(paths: list[str]) -> Rows | None:
    judged = []
    for path in paths:
        storage = SQLiteStorage(path)
        try:
            judged += storage.feedback_rows()
        finally:
            storage.close()
    rows = feedback_rows(judged)
    print(f"feedback: {len(rows)} judged semantic hits from {len(paths)} database(s)")
    return rows if len(rows) else None


def describe(model: MatchModel) -> str:
    lines = [f"{'feature':<24}{'weight':>9}"]
    lines += [f"{name:<24}{w:>9.3f}" for name, w in zip(FEATURE_NAMES, model.weights)]
    lines.append(f"{'(bias)':<24}{model.bias:>9.3f}")
    lines.append("")
    lines.append(f"{'max wrong-hit rate':<24}{'threshold':>9}")
    lines += [f"{b:<24.3f}{t:>9.4f}" for b, t in model.budgets]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--feedback", nargs="*", default=[], help="cache databases whose feedback to add")
    parser.add_argument("--l2", type=float, default=L2)
    parser.add_argument("--no-rules", action="store_true", help="leave the rule-made pairs out")
    args = parser.parse_args(argv)
    if not shared_data_dir().is_dir():
        print(f"no shared data at {shared_data_dir()}", file=sys.stderr)
        return 1
    rows = dev_rows(rules=not args.no_rules)
    extra = _feedback(args.feedback) if args.feedback else None
    if extra is not None:
        rows = concat([rows, extra])
    counts = {str(n): int(c) for n, c in zip(*np.unique(rows.dataset, return_counts=True))}
    model = fit_model(
        rows,
        l2=args.l2,
        unseen=[rows_for(load_stream(name)) for name in PAIR_SETS],
        info={
            "fitted_on": counts,
            "l2": args.l2,
            "folds": FOLDS,
            "budgets": list(BUDGETS),
            "budget_also_from": list(PAIR_SETS),
            "refit": "python benchmarks/fit_matcher.py",
        },
    )
    model.save(args.out)
    print(describe(model))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
