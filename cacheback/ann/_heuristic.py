"""HNSW's heuristic neighbour selection (Malkov & Yashunin, algorithm 4).

A candidate is kept only when it is closer to the base node than to every neighbour already
kept, which spreads the links over directions instead of packing them into one cluster.
Per row, each pick costs one matrix-vector product over the candidates still alive (small
matrix-matrix products are avoided: threaded BLAS makes them slow on a busy machine).
"""

from __future__ import annotations

import numpy as np

from ._space import Space, dots
from ._store import VectorStore

__all__ = ["select_neighbours"]


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
    for r, size in enumerate(sizes.tolist()):
        row = cand[r, :size]
        if size <= m:
            out[r, :size] = row
        else:
            picked = _select_row(space, store, sq_norms, row, cand_dist[r, :size], m)
            out[r, : len(picked)] = row[picked]
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
