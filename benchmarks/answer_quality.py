"""Answer-aware matching (issue 16, item 2): does the cached *answer* tell a right semantic hit
from a wrong one better than the two questions alone?

The evidence: how well the stored answer fits the new query against how well it fits its own
query, ``answer_fit = cos(query, answer) - cos(stored query, answer)`` (MiniLM vectors; the
model was trained on question-answer pairs). A wrong candidate's answer should fit the new
query worse than it fits its own. The fit is *gated* by how much the answer says about its own
question, ``gate = clip((cos(stored query, answer) - FLOOR) / (1 - FLOOR), 0, 1)``, so an answer
that says nothing ("Yes.", a number, an opaque token) contributes nothing.

bitext is the only dev set with answers (one LLM-written answer per intent). Queries are
folded *by intent* (5 folds): a model is always scored on intents whose answers it never saw.
Three decisions are compared at the same budgets: today's features, today's features +
gated answer fit, and the same model with every answer replaced by a contentless one (the
neutrality check: it must serve what today's features serve).

    PYTHONPATH=$PWD python benchmarks/answer_quality.py
"""

from __future__ import annotations

import csv
import random
import sys

import numpy as np
from bench_common import embed_cached, markdown_table, shared_data_dir
from match_data import Stream, load_stream
from match_eval import L2, Rows, prepare, probabilities

from cacheback.match._features import FEATURE_NAMES, FEATURE_SIGNS
from cacheback.match._fit import fit_logistic

FLOOR = 0.3
FOLDS = 5
BUDGETS = (0.01, 0.02, 0.05)
VETO_FLOORS = (0.02, 0.05, 0.1)
CONTENTLESS = ("Yes.", "No.", "42", "OK", "3.5", "a8f3c9e1-77b2", "Done.", "Sure, here you go.")


def gated_fit(q: np.ndarray, s: np.ndarray, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the gated answer fit and the gate (vectors are unit length)."""
    own = np.einsum("ij,ij->i", s, a)
    new = np.einsum("ij,ij->i", q, a)
    gate = np.clip((own - FLOOR) / (1.0 - FLOOR), 0.0, 1.0)
    return gate * (new - own), gate


def intent_folds(intents: list[str]) -> dict[str, int]:
    names = sorted(set(intents))
    random.Random(16).shuffle(names)
    return {name: n % FOLDS for n, name in enumerate(names)}


def decisions(rows: Rows, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The likeliest candidate of each query: its probability and whether serving it is right."""
    order = np.lexsort((-p, rows.query))
    first = np.r_[True, rows.query[order][1:] != rows.query[order][:-1]]
    best = order[first]
    return p[best], rows.right[best]


def at_budget(p: np.ndarray, right: np.ndarray, answerable: int, budget: float
              ) -> tuple[float, int, int, float]:
    """The loosest threshold whose served hits (and every stricter threshold's, once there are
    enough hits to see 3 wrong ones at this budget) are wrong <= budget: recall over answerable
    queries, hits, wrong hits and the threshold, read off the held-out scores."""
    order = np.argsort(-p)
    wrong = np.cumsum(~right[order])
    served = np.arange(1, len(p) + 1)
    rate = np.where(served >= np.ceil(3 / budget), wrong / served, 0.0)
    ok = np.flatnonzero(np.maximum.accumulate(rate) <= budget)
    if not len(ok):
        return 0.0, 0, 0, 1.0
    n = ok.max() + 1
    hits_right = int(served[n - 1] - wrong[n - 1])
    return hits_right / answerable, int(served[n - 1]), int(wrong[n - 1]), float(p[order][n - 1])


def wrong_at(p: np.ndarray, right: np.ndarray, threshold: float) -> tuple[int, int]:
    served = p >= threshold
    return int(served.sum()), int((served & ~right).sum())


def auc(score: np.ndarray, right: np.ndarray) -> float:
    ranks = np.argsort(np.argsort(score)) + 1
    pos = right.sum()
    return float((ranks[right].sum() - pos * (pos + 1) / 2) / (pos * (len(right) - pos)))


def main() -> int:
    data = shared_data_dir()
    path = data / "bitext" / "bitext_customer_support_6480.csv"
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            source = list(csv.DictReader(fh))
    except FileNotFoundError as exc:
        print(f"shared data not found: {exc}", file=sys.stderr)
        return 1
    answer_of = {r["instruction"]: r["response"] for r in source}
    stream = load_stream("bitext")
    prepared = prepare(stream)
    rows = prepared.rows
    cand = np.array([j for ids in prepared.ids for j in ids])
    qv, sv = stream.query_vectors, stream.stored_vectors
    answers = sorted(set(answer_of.values()))
    av = embed_cached(answers, "answer-bitext")
    a_index = {text: n for n, text in enumerate(answers)}
    a_rows = av[[a_index[answer_of[stream.stored[j]]] for j in cand]]
    q_rows, s_rows = qv[rows.query], sv[cand]
    fit, gate = gated_fit(q_rows, s_rows, a_rows)
    empty = embed_cached(list(CONTENTLESS), "answer-contentless")
    e_rows = empty[np.arange(len(cand)) % len(CONTENTLESS)]
    fit_empty, gate_empty = gated_fit(q_rows, s_rows, e_rows)

    truths = {"same intent and entity (the stream's truth)": rows.right,
              "same intent (what an answer can tell)": np.array(
                  [stream.query_label[i].split("|")[0] == stream.stored_label[j].split("|")[0]
                   for i, j in zip(rows.query, cand)])}
    for title, label in truths.items():
        report(stream, rows, label, fit, fit_empty, gate, gate_empty, len(answers), title)
    return 0


def report(stream: Stream, rows: Rows, label: np.ndarray, fit: np.ndarray, fit_empty: np.ndarray,
           gate: np.ndarray, gate_empty: np.ndarray, n_answers: int, title: str) -> None:
    """Held-out decisions of the three models for one definition of a right hit."""
    rows = Rows(rows.x, label, rows.similarity, rows.query, rows.dataset, rows.answerable)
    query_intent = [stream.query_label[i].split("|")[0] for i in rows.query]
    fold_map = intent_folds(query_intent)
    fold = np.array([fold_map[x] for x in query_intent])
    signs = [FEATURE_SIGNS[n] for n in FEATURE_NAMES]
    x_base = rows.x
    x_ans = np.c_[rows.x, fit]
    x_ans_empty = np.c_[rows.x, fit_empty]
    p_base, p_ans, p_empty = (np.empty(len(rows)) for _ in range(3))
    for f in range(FOLDS):
        test, train = fold == f, fold != f
        w, b = fit_logistic(x_base[train], label[train], l2=L2, signs=signs)
        p_base[test] = probabilities(w, b, x_base[test])
        w, b = fit_logistic(x_ans[train], label[train], l2=L2, signs=[*signs, 1])
        p_ans[test] = probabilities(w, b, x_ans[test])
        p_empty[test] = probabilities(w, b, x_ans_empty[test])
    w_all, _ = fit_logistic(x_ans, label, l2=L2, signs=[*signs, 1])

    answerable = int(sum(label[rows.query == i].any() for i in np.unique(rows.query)))
    print(f"=== truth: {title}")
    print(f"bitext: {len(stream.stored)} stored with answers ({n_answers} distinct), "
          f"{len(set(rows.query.tolist()))} semantic queries, {len(rows)} candidate rows; "
          f"folds by intent ({FOLDS}); gate floor {FLOOR}; answer-fit weight (all data) "
          f"{w_all[-1]:+.2f}")
    print(f"gate (answer says something about its question): real answers median "
          f"{np.median(gate):.2f}, contentless answers median {np.median(gate_empty):.2f} "
          f"(share with gate 0: {np.mean(gate_empty == 0):.1%}); |gated fit| of contentless: "
          f"max {np.abs(fit_empty).max():.3f}\n")

    d_base, d_ans, d_empty = (decisions(rows, p) for p in (p_base, p_ans, p_empty))
    sim_p, sim_r = decisions(rows, rows.similarity)
    table = []
    for name, (p, r) in (("cosine only", (sim_p, sim_r)), ("today's features", d_base),
                         ("features + answer fit", d_ans), ("+ fit, answers contentless", d_empty)):
        cells: list[object] = [name, f"{auc(p, r):.3f}"]
        for budget in BUDGETS:
            recall, hits, wrong, _ = at_budget(p, r, answerable, budget)
            cells.append(f"{recall:.3f} ({wrong}/{hits})")
        table.append(cells)
    print("held-out (unseen intents), best candidate per query; recall at the loosest threshold "
          "within each wrong-hit budget (wrong/served)")
    print(markdown_table(["decision", "AUC right vs wrong", *(f"{b:.0%} budget" for b in BUDGETS)], table))

    flips = []
    for budget in BUDGETS:
        _, _, _, t_base = at_budget(*d_base, answerable, budget)
        base_served = d_base[0] >= t_base
        empty_served = d_empty[0] >= t_base
        flips.append([f"{budget:.0%}", f"{np.mean(base_served != empty_served):.2%}",
                      "{1}/{0}".format(*wrong_at(*d_empty, t_base))])
    print("\nneutrality: contentless answers, at today's threshold for each budget (decisions changed "
          "vs today's features; wrong/served with the answer-fit model)")
    print(markdown_table(["budget", "decisions changed", "wrong/served"], flips))

    veto = []
    for budget in BUDGETS:
        _, _, _, t_base = at_budget(*d_base, answerable, budget)
        p, r = d_base
        cells: list[object] = [f"{budget:.0%}", "{1}/{0}".format(*wrong_at(p, r, t_base))]
        for floor in VETO_FLOORS:
            keep = (p >= t_base) & (best_fit(rows, p_base, fit) > -floor)
            top = np.argsort(-p)[: int(keep.sum())]
            cells.append(f"{int((keep & ~r).sum())}/{int(keep.sum())} vs {int((~r[top]).sum())}")
        veto.append(cells)
    print("\nveto (today's features, then refuse a hit whose gated answer fit is below -v; no refit, so "
          "exactly neutral for contentless answers): wrong/served, vs a stricter threshold serving as many")
    print(markdown_table(["budget", "no veto", *(f"v={v}" for v in VETO_FLOORS)], veto))
    print()


def best_fit(rows: Rows, p: np.ndarray, fit: np.ndarray) -> np.ndarray:
    """The answer fit of each query's likeliest candidate (in :func:`decisions` order)."""
    order = np.lexsort((-p, rows.query))
    first = np.r_[True, rows.query[order][1:] != rows.query[order][:-1]]
    return fit[order[first]]


if __name__ == "__main__":
    raise SystemExit(main())
