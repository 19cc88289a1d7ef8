"""HNSW's heuristic neighbour selection (Malkov & Yashunin, algorithm 4).

A candidate is kept only when it is closer to the base node than to every neighbour already
kept, which spreads the links over directions instead of packing them into one cluster.

Two ways to the same picks. Short candidate lists (at most ``BATCH_MAX_CANDIDATES``: the lists
that overflow when a link is added, 2*M + 1 long, re-selected a dozen at a time) are done for a
block of rows at once: one batched product gives every pairwise distance, then one vectorised
step per candidate position decides it for all rows. Long lists (ef_construction candidates, of
which M are kept) are done row by row, one matrix-vector product per pick over the candidates
still alive, which touches far fewer pairs.
"""

from __future__ import annotations

import numpy as np

from ._space import Space, dots
from ._store import VectorStore

__all__ = ["BATCH_MAX_CANDIDATES", "select_neighbours"]

BATCH_MAX_CANDIDATES = 64
"""Candidate lists up to this long are decided for a block of rows at once."""
_BATCH_ELEMENTS = 1 << 20
"""Vector elements decoded per block of rows (4 MB of float32)."""


def select_neighbours(space: Space, store: VectorStore, sq_norms: np.ndarray,
                      cand: np.ndarray, cand_dist: np.ndarray, m: int) -> np.ndarray:
    """Pick at most ``m`` neighbours per row by the heuristic; ``-1`` pads the result.

    ``cand`` (R, L) holds candidate slots sorted by ``cand_dist`` (their distance to the row's
    base node) ascending, padded with ``-1`` / ``inf`` at the end. Rows with at most ``m``
    candidates keep them all, as hnswlib does. Kept neighbours come first in each row.
    """
    cand = np.asarray(cand, dtype=np.int32)
    cand_dist = np.asarray(cand_dist, dtype=np.float32)
    out = np.full((len(cand), m), -1, dtype=np.int32)
    sizes = (cand >= 0).sum(axis=1)
    keep_all = sizes <= m
    width = min(m, cand.shape[1])
    out[keep_all, :width] = cand[keep_all, :width]
    rows = np.flatnonzero(~keep_all)
    if not rows.size:
        return out
    if cand.shape[1] <= BATCH_MAX_CANDIDATES:
        per_block = max(1, _BATCH_ELEMENTS // (cand.shape[1] * store.dim))
        for lo in range(0, len(rows), per_block):
            block = rows[lo:lo + per_block]
            out[block] = _select_block(space, store, sq_norms, cand[block], cand_dist[block], m)
        return out
    for r, size in zip(rows.tolist(), sizes[rows].tolist()):
        row = cand[r, :size]
        picked = _select_row(space, store, sq_norms, row, cand_dist[r, :size], m)
        out[r, : len(picked)] = row[picked]
    return out


def _select_block(space: Space, store: VectorStore, sq_norms: np.ndarray, cand: np.ndarray,
                  cand_dist: np.ndarray, m: int) -> np.ndarray:
    """The heuristic for rows of at most ``BATCH_MAX_CANDIDATES`` candidates, all at once:
    position ``j`` is kept when it is a candidate, fewer than ``m`` are kept before it and no
    kept one is closer to it than the base node is."""
    n_rows, width = cand.shape
    valid = cand >= 0
    vecs = store.rows(np.where(valid, cand, 0).ravel()).reshape(n_rows, width, store.dim)
    pair = np.matmul(vecs, vecs.transpose(0, 2, 1))
    if space.uses_norms:
        sq = np.where(valid, sq_norms[np.where(valid, cand, 0)], 0.0).astype(np.float32)
        pair = (sq[:, :, None] + sq[:, None, :]) - 2.0 * pair
    else:
        pair = 1.0 - pair
    # shadowed[r, j, i]: candidate i, if kept, is closer to candidate j than the base is
    shadowed = pair < cand_dist[:, :, None]
    kept = np.zeros((n_rows, width), dtype=bool)
    kept[:, 0] = valid[:, 0]
    count = kept[:, 0].astype(np.int64)
    for j in range(1, width):
        ok = valid[:, j] & (count < m) & ~(shadowed[:, j, :j] & kept[:, :j]).any(axis=1)
        kept[:, j] = ok
        count += ok
    out = np.full((n_rows, m), -1, dtype=np.int32)
    order = np.argsort(~kept, axis=1, kind="stable")[:, :m]  # kept positions first, in order
    picked = np.take_along_axis(cand, order, axis=1)
    out[:, : picked.shape[1]] = np.where(np.take_along_axis(kept, order, axis=1), picked, -1)
    return out


def _select_row(space: Space, store: VectorStore, sq_norms: np.ndarray, row: np.ndarray,
                dist_to_base: np.ndarray, m: int) -> list[int]:
    vecs = store.rows(row)
    sq = sq_norms[row]
    alive = np.arange(1, len(row))
    picked = [0]
    while alive.size and len(picked) < m:
        j = picked[-1]
        dot = dots(vecs[alive], vecs[j])
        if space.uses_norms:
            dist = sq[alive] + sq[j] - 2.0 * dot
        else:
            dist = 1.0 - dot
        alive = alive[dist >= dist_to_base[alive]]
        if alive.size:
            picked.append(int(alive[0]))
            alive = alive[1:]
    return picked
