"""Shared machinery of the match fit and benchmark: candidate rows, decisions, cross-validation.

A *row* is one (query, candidate) pair with its feature vector and truth; a *decision* is what
the matcher does for one query: take its likeliest candidate, serve it when the probability
clears the threshold. Both the refit script and ``match_quality.py`` build on these.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from match_data import Stream

from cacheback._normalize import normalise_query
from cacheback.match import MatchModel
from cacheback.match._features import FEATURE_NAMES, FEATURE_SIGNS, pair_features
from cacheback.match._fit import budget_thresholds, fit_logistic
from cacheback.match._text import profile

__all__ = [
    "ALL_BUDGETS",
    "BUDGETS",
    "FOLDS",
    "L2",
    "Prepared",
    "Rows",
    "candidate_lists",
    "concat",
    "cross_validated",
    "decide",
    "feedback_rows",
    "fit_model",
    "fold_of",
    "prepare",
    "probabilities",
    "rows_for",
]

K = 5
FOLDS = 5
L2 = 1e-2
#: The budgets the shipped table honours. Looser ones (5%, 10%, 20%) are not offered: read off
#: the other sets, the 5% row served 12.5% wrong on SNLI and 7.4% on STS-B left out (issue 16:
#: within 1 point), so a budget above 2% gets the 2% threshold (``MatchModel.threshold_for``).
BUDGETS = (0.005, 0.01, 0.02)
#: Every budget the fit can read a row for, to show what the looser rows would do.
ALL_BUDGETS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2)
_SEED = 7


@dataclass
class Rows:
    """Feature rows of (query, candidate) pairs; ``query`` numbers queries within ``dataset``."""

    x: np.ndarray
    right: np.ndarray
    similarity: np.ndarray
    query: np.ndarray
    dataset: np.ndarray
    answerable: np.ndarray

    def __len__(self) -> int:
        return len(self.right)

    def take(self, mask: np.ndarray) -> Rows:
        return Rows(*(getattr(self, f)[mask] for f in _FIELDS))


_FIELDS = ("x", "right", "similarity", "query", "dataset", "answerable")


def concat(parts: Iterable[Rows]) -> Rows:
    parts = list(parts)
    return Rows(*(np.concatenate([getattr(p, f) for p in parts]) for f in _FIELDS))


def candidate_lists(stream: Stream, k: int = K) -> tuple[list[int], list[list[int]], list[list[float]]]:
    """The semantic-tier candidates of each query: the ``k`` most similar stored texts.

    Queries whose normalised text is stored verbatim are dropped: the exact tier serves them.
    """
    assert stream.stored_vectors is not None and stream.query_vectors is not None
    kept, ids, sims = [], [], []
    if stream.pairs_only:
        dots = np.einsum("ij,ij->i", stream.query_vectors, stream.stored_vectors)
        for i in range(len(stream.queries)):
            if normalise_query(stream.queries[i]) != normalise_query(stream.stored[i]):
                kept.append(i)
                ids.append([i])
                sims.append([float(min(dots[i], 1.0))])
        return kept, ids, sims
    stored_norm = {normalise_query(t) for t in stream.stored}
    for start in range(0, len(stream.queries), 1024):
        block = stream.query_vectors[start : start + 1024] @ stream.stored_vectors.T
        top = np.argpartition(-block, k, axis=1)[:, :k]
        for row, i in enumerate(range(start, start + len(block))):
            if normalise_query(stream.queries[i]) in stored_norm:
                continue
            order = top[row][np.argsort(-block[row, top[row]], kind="stable")]
            kept.append(i)
            ids.append(order.tolist())
            sims.append([float(min(block[row, j], 1.0)) for j in order])
    return kept, ids, sims


@dataclass
class Prepared:
    """A stream with its candidate lists and feature rows, and the queries the exact tier serves."""

    stream: Stream
    kept: list[int]
    ids: list[list[int]]
    sims: list[list[float]]
    rows: Rows
    exact: list[int]


def prepare(stream: Stream, k: int = K) -> Prepared:
    kept, ids, sims = candidate_lists(stream, k)
    served = set(kept)
    exact = [i for i in range(len(stream.queries)) if i not in served]
    return Prepared(stream, kept, ids, sims, _rows(stream, kept, ids, sims), exact)


def rows_for(stream: Stream, k: int = K) -> Rows:
    """Every (query, candidate) row of a stream, features computed as the matcher computes them."""
    return _rows(stream, *candidate_lists(stream, k))


def _rows(stream: Stream, kept: list[int], ids: list[list[int]], sims: list[list[float]]) -> Rows:
    x, right, sim, query = [], [], [], []
    for i, cands, cand_sims in zip(kept, ids, sims):
        asked = profile(stream.queries[i])
        best = max(cand_sims)
        for j, s in zip(cands, cand_sims):
            x.append(pair_features(asked, profile(stream.stored[j]), s, best))
            right.append(stream.right(i, j))
            sim.append(s)
            query.append(i)
    n = len(right)
    return Rows(
        x=np.array(x, dtype=np.float64).reshape(n, len(FEATURE_NAMES)),
        right=np.array(right, dtype=bool),
        similarity=np.array(sim),
        query=np.array(query, dtype=np.int64),
        dataset=np.array([stream.name] * n),
        answerable=np.array([stream.answerable(i) for i in query], dtype=bool),
    )


def feedback_rows(rows: Sequence[dict[str, Any]]) -> Rows:
    """Rows from ``SQLiteStorage.feedback_rows()``: a served pair judged right or wrong by a user.

    Only semantic hits are used; the runner-up similarity is unknown, so each is its own best.
    """
    semantic = [r for r in rows if r.get("tier") == "semantic"]
    similarity = [float(r["similarity"]) for r in semantic]
    x = [
        pair_features(profile(str(r["query"])), profile(str(r["matched_query"])), s, s)
        for r, s in zip(semantic, similarity)
    ]
    n = len(semantic)
    return Rows(
        x=np.array(x, dtype=np.float64).reshape(n, len(FEATURE_NAMES)),
        right=np.array([bool(r["correct"]) for r in semantic], dtype=bool),
        similarity=np.array(similarity),
        query=np.arange(n, dtype=np.int64),
        dataset=np.array(["feedback"] * n),
        answerable=np.ones(n, dtype=bool),
    )


def fold_of(rows: Rows, folds: int = FOLDS) -> np.ndarray:
    """A seeded fold number per row; all rows of one query share a fold."""
    out = np.empty(len(rows), dtype=np.int64)
    for name in np.unique(rows.dataset):
        mask = rows.dataset == name
        queries = np.unique(rows.query[mask])
        order = list(queries)
        random.Random(f"{_SEED}-{name}").shuffle(order)
        fold = {q: n % folds for n, q in enumerate(order)}
        out[mask] = [fold[q] for q in rows.query[mask]]
    return out


#: User judgements weigh like labelled pairs: each 1/300 of a data set, until 300 of them
#: together weigh as much as one whole data set.
FEEDBACK_FULL_WEIGHT_AT = 300


#: Rule-made pair sets (``match_data.RULE_SETS``) are named with this prefix; together they weigh
#: as much as one data set, and they never choose a budget threshold (they are not traffic).
RULES_PREFIX = "rules-"


def _weights(rows: Rows) -> np.ndarray:
    """Each data set weighs the same in the fit, whatever its size; feedback by its size; the
    rule-made sets share one data set's weight."""
    weight = np.empty(len(rows))
    names = [str(n) for n in np.unique(rows.dataset)]
    rule_sets = max(sum(n.startswith(RULES_PREFIX) for n in names), 1)
    for name in names:
        mask = rows.dataset == name
        size = int(mask.sum())
        if name == "feedback":
            weight[mask] = 1.0 / max(size, FEEDBACK_FULL_WEIGHT_AT)
        else:
            weight[mask] = (1.0 / rule_sets if name.startswith(RULES_PREFIX) else 1.0) / size
    return weight


def probabilities(weights: np.ndarray, bias: float, x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x @ weights + bias, -35, 35)))


def decide(rows: Rows, probability: np.ndarray) -> dict[str, np.ndarray]:
    """One decision per query: the likeliest candidate's probability, similarity and truth.

    Also the plain-cosine decision (the top candidate by similarity) for the baseline.
    """
    key = np.char.add(np.char.add(rows.dataset.astype(str), "#"), rows.query.astype(str))
    order = np.lexsort((-probability, key))
    first = np.r_[True, key[order][1:] != key[order][:-1]]
    best = order[first]
    by_sim = np.lexsort((-rows.similarity, key))
    top = by_sim[np.r_[True, key[by_sim][1:] != key[by_sim][:-1]]]
    return {
        "row": best,
        "dataset": rows.dataset[best],
        "query": rows.query[best],
        "probability": probability[best],
        "right": rows.right[best],
        "answerable": rows.answerable[best],
        "similarity": rows.similarity[top],
        "right_by_similarity": rows.right[top],
    }


def cross_validated(
    rows: Rows, fitter: Callable[[Rows], tuple[np.ndarray, float]], folds: int = FOLDS
) -> np.ndarray:
    """Out-of-fold probabilities: each row scored by a model fitted without its fold."""
    fold = fold_of(rows, folds)
    out = np.empty(len(rows))
    for f in range(folds):
        test = fold == f
        weights, bias = fitter(rows.take(~test))
        out[test] = probabilities(weights, bias, rows.x[test])
    return out


def _fit(rows: Rows, l2: float = L2) -> tuple[np.ndarray, float]:
    signs = [FEATURE_SIGNS[name] for name in FEATURE_NAMES]
    return fit_logistic(rows.x, rows.right, _weights(rows), l2=l2, signs=signs)


#: How far over a budget a never-fitted pair set may be when it helps read the table: the
#: tolerance issue 16 judges unseen data by (within 1 point). The out-of-fold sets keep a
#: margin of 0.8 x the budget instead; an unseen set *is* the unlike data that margin is for.
UNSEEN_SLACK = 0.01


def fit_model(
    rows: Rows,
    l2: float = L2,
    folds: int = FOLDS,
    info: dict[str, object] | None = None,
    unseen: Iterable[Rows] = (),
    budgets: Sequence[float] = BUDGETS,
) -> MatchModel:
    """Weights fitted on all ``rows``; the budget table from their out-of-fold decisions.

    ``unseen`` are data sets the weights never see (general pair sets): the fitted model's
    decisions on them join the out-of-fold ones when the table is read, so that each budget
    also holds on data unlike anything fitted (issue 16: the budget means what it says on
    unseen data)."""
    weights, bias = _fit(rows, l2)
    held_out = cross_validated(rows, lambda r: _fit(r, l2), folds)
    d = decide(rows, held_out)
    traffic = ~np.char.startswith(d["dataset"].astype(str), RULES_PREFIX)
    table = budget_thresholds(d["probability"][traffic], d["right"][traffic], d["dataset"][traffic], budgets)
    unseen = list(unseen)
    if unseen:
        e = [decide(other, probabilities(weights, bias, other.x)) for other in unseen]
        strict = budget_thresholds(
            np.concatenate([x["probability"] for x in e]),
            np.concatenate([x["right"] for x in e]),
            np.concatenate([x["dataset"].astype(str) for x in e]),
            budgets,
            margin=1.0,
            slack=UNSEEN_SLACK,
        )
        table = [(b, max(t, u)) for (b, t), (_, u) in zip(table, strict)]
    return MatchModel(
        weights=tuple(float(w) for w in weights),
        bias=bias,
        budgets=tuple(table),
        info=dict(info or {}),
    )
