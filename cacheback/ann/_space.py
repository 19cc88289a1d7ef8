"""Distance spaces: how vectors are prepared and compared (hnswlib's conventions)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ._store import VectorStore

__all__ = ["SPACES", "Space", "dots"]

SPACES = ("cosine", "ip", "l2")


def dots(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """``matrix @ vector`` for the small products of graph search.

    Written as a one-column matrix product on purpose: OpenBLAS runs matrix-vector products of a
    few thousand elements on several threads, and waking them between two Python steps stalls
    the search on a busy machine; the matrix-matrix path keeps such sizes on one thread.
    """
    return (matrix @ vector[:, None])[:, 0]


class Space:
    """One metric: ``cosine`` (1 - cos), ``ip`` (1 - dot) or ``l2`` (squared Euclidean).

    Searches rank by a cheap *score* that is monotone in the distance for a fixed query
    (``-dot`` or ``|x|^2 - 2 dot``); ``offset(q)`` turns scores back into distances.
    """

    __slots__ = ("name", "normalize", "uses_norms")

    def __init__(self, name: str) -> None:
        if name not in SPACES:
            raise ValueError(f"space must be one of {SPACES}, not {name!r}")
        self.name = name
        self.normalize = name == "cosine"
        self.uses_norms = name == "l2"

    def prepare(self, vectors: np.ndarray) -> np.ndarray:
        """Contiguous float32 copy, L2-normalised in cosine space (zero vectors stay zero)."""
        out = np.array(vectors, dtype=np.float32, order="C", copy=True)
        if self.normalize:
            norms = np.linalg.norm(out, axis=-1, keepdims=True)
            np.divide(out, norms, out=out, where=norms > 0)
        return out

    def sq_norms(self, vectors: np.ndarray) -> np.ndarray:
        """Squared L2 norms, used by the l2 score (all zero elsewhere, so scores stay -dot)."""
        if not self.uses_norms:
            return np.zeros(len(vectors), dtype=np.float32)
        return np.einsum("ij,ij->i", vectors, vectors).astype(np.float32)

    def scores(self, dots: np.ndarray, sq_norms: np.ndarray,
               rows: slice | np.ndarray) -> np.ndarray:
        """Search scores from the ``dots`` of ``rows`` with the query (``sq_norms[rows]`` is read
        only in l2 space); ``dots`` may be overwritten."""
        if self.uses_norms:
            return sq_norms[rows] - 2.0 * dots
        return np.negative(dots, out=dots)

    def offset(self, query: np.ndarray) -> float:
        """What to add to a score to get the distance for this (prepared) query."""
        return float(query @ query) if self.uses_norms else 1.0

    def to_distance(self, scores: np.ndarray, offset: float) -> np.ndarray:
        """Distances from scores; squared L2 is clipped at 0 against rounding."""
        dist = np.asarray(scores, dtype=np.float32) + np.float32(offset)
        return np.maximum(dist, 0.0, out=dist) if self.uses_norms else dist

    def gram_to_distance(self, gram: np.ndarray, sq_a: np.ndarray, sq_b: np.ndarray) -> np.ndarray:
        """Pairwise distances from dot products ``gram[..., i, j]`` and squared norms."""
        if self.uses_norms:
            return np.maximum(sq_a[..., :, None] + sq_b[..., None, :] - 2.0 * gram, 0.0)
        return 1.0 - gram

    def distances_from(self, store: VectorStore, sq_norms: np.ndarray, base: np.ndarray,
                       cand: np.ndarray) -> np.ndarray:
        """Distances from each ``base[r]`` slot to the slots ``cand[r, :]`` (``-1`` gives inf)."""
        valid = cand >= 0
        safe = np.where(valid, cand, 0)
        others = store.rows(safe.ravel()).reshape(*safe.shape, store.dim)
        dots = np.einsum("rd,rld->rl", store.rows(base), others)
        if self.uses_norms:
            dist = np.maximum(sq_norms[base][:, None] + sq_norms[safe] - 2.0 * dots, 0.0)
        else:
            dist = 1.0 - dots
        return np.where(valid, dist, np.inf).astype(np.float32)

