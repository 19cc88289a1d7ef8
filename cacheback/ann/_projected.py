"""ProjectedIndex: a scan of the items' main directions, then an exact re-rank of the best few.

Scoring every item on ``components`` principal axes (96 of MiniLM's 384 dimensions) reads a
quarter of what the full scan reads; the ``ef`` items that estimate ranks best are then scored
on their stored vectors, so the distances returned are exact and only the recall is
approximate. The axes are fitted on the items themselves (a sample of at most ``FIT_SAMPLE``)
once ``PROJECT_MIN_ITEMS`` are held, and refitted after as many inserts again as the last fit
saw, by the next search (so a bulk load fits once). Each fit is checked before it is used:
some items are asked as queries, and unless the estimate's candidates hold nearly all of their
true nearest neighbours the index keeps scanning exactly (data whose variance is spread over too
many directions). Below ``PROJECT_MIN_ITEMS``, or when fewer items qualify than ``ef``, the
index scans exactly too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np

from .._errors import IndexFileError, InvalidInputError
from ._base import ANNIndex, _admitted_prefix, _ordered_prefix
from ._filter import Admission
from ._space import dots
from ._store import BLOCK_ELEMENTS

__all__ = ["CHECK_POOL", "CHECK_QUERIES", "CHECK_RECALL", "DEFAULT_CANDIDATES", "DEFAULT_COMPONENTS",
           "FIT_SAMPLE", "PROJECT_MIN_ITEMS", "ProjectedIndex"]

DEFAULT_COMPONENTS = 96
"""Principal axes scanned. Recall@1 against the exact scan, k=13, re-ranking 256, on real MiniLM
vectors: CLINC150 (15k stored, 3,200 queries) 0.982 with 64 axes, 0.994 with 96, 0.999 with 128;
BANKING77 + CLINC150 + Bitext (23k) 0.991 / 0.997 / 0.999, where the cache's HNSW graph (int8,
ef 64) had 0.980 and 0.990. 96 axes cost about a quarter more than 64 (the scan reads memory)."""
DEFAULT_CANDIDATES = 256
"""Items re-ranked exactly per query (``ef``); 512 lifts CLINC150's recall@1 with 96 axes from
0.994 to 0.998 for about 0.1 ms more."""
PROJECT_MIN_ITEMS = 2048
"""Live items from which the axes are fitted; smaller indexes scan exactly."""
FIT_SAMPLE = 4096
"""Items the axes are fitted on (a seeded sample when more are held)."""
CHECK_QUERIES = 64
"""Items asked as queries after each fit, to check the estimate before it is used."""
CHECK_RECALL = 0.97
"""The share of those queries' 10 true nearest neighbours (themselves left out) that must be
among the candidates the estimate picks; below it the index goes on scanning exactly. MiniLM
vectors of the labelled data sets pass with 0.99 or more; clustered isotropic noise does not."""
CHECK_POOL = 16_384
"""At most this many items are searched by the check (a seeded sample, the candidates scaled
down to the same share)."""
logger = logging.getLogger("cacheback")
_FIT_BLOCK = 8192
_UNFITTED = np.zeros((0, 0), dtype=np.float32)


class ProjectedIndex(ANNIndex):
    """Approximate k-NN by a principal-axes scan and an exact re-rank; see :class:`ANNIndex`.

    ``components`` axes are scanned (capped at ``dim``; at ``dim`` the index scans exactly),
    ``set_ef`` sets how many candidates are re-ranked (at least ``k``). ``fit_below`` stops
    fitting from that many items on: a caller about to replace the index by a graph at that
    size saves the work and the memory (an existing projection is kept). Vectors are kept as
    float32, so returned distances are exact, as with :class:`BruteForceIndex`.
    """

    kind = "projected"
    _proj: np.ndarray = _UNFITTED

    def __init__(self, dim: int, space: str = "cosine", max_elements: int = 1024,
                 components: int = DEFAULT_COMPONENTS, seed: int = 0,
                 fit_below: int | None = None) -> None:
        for name, value in (("components", components), ("fit_below", fit_below)):
            if value is not None and (not isinstance(value, (int, np.integer))
                                      or isinstance(value, bool) or value < 1):
                raise InvalidInputError(f"{name} must be a positive int, not {value!r}")
        super().__init__(dim, space, max_elements)
        self.components = min(int(components), self.dim)
        self.seed = int(seed)
        self.fit_below = None if fit_below is None else int(fit_below)
        self.ef = DEFAULT_CANDIDATES
        self._center = np.zeros(self.dim, dtype=np.float32)
        self._axes = np.zeros((self.dim, self.components), dtype=np.float32)
        self._fitted = 0
        self._since_fit = 0

    @property
    def projecting(self) -> bool:
        """Whether searches use the projection (else they scan exactly)."""
        return self._proj.shape[1] > 0

    # ------------------------------------------------------------------ insertion

    def _insert(self, vectors: np.ndarray, ids: np.ndarray, groups: np.ndarray) -> None:
        slots = self._claim_slots(ids)
        self._store(slots, vectors, ids, groups)
        self._since_fit += len(ids)
        if self.projecting:
            self._guarded(lambda: self._project_into(slots, vectors))

    def _refit_if_due(self) -> None:
        """Fit when the index has reached ``PROJECT_MIN_ITEMS`` and taken as many inserts as
        the last fit saw. Done by the search that finds it due, so a bulk load fits once."""
        n = len(self)
        if self.components < self.dim and PROJECT_MIN_ITEMS <= n < (self.fit_below or n + 1) \
                and self._since_fit >= max(self._fitted, PROJECT_MIN_ITEMS):
            self._guarded(self._fit)

    def prepare(self) -> None:
        """Fit the axes now if the next search would (see :meth:`_refit_if_due`)."""
        with self._lock:
            self._refit_if_due()

    def _guarded(self, update: Callable[[], object]) -> None:
        """Run a projection ``update``; if it fails (out of memory, say), drop the projection
        and scan exactly: the items themselves are already stored."""
        try:
            update()
        except Exception as exc:  # noqa: BLE001 - only the speed-up is lost
            self._proj = _UNFITTED
            self._fitted, self._since_fit = len(self), 0
            logger.warning("cacheback: projection dropped, the index scans exactly: %r", exc)

    def _fit(self) -> None:
        """Fit the axes on (a sample of) the live items and project every slot, unless the
        check finds the estimate too weak for these items."""
        live = np.flatnonzero(~self._deleted[: self._n])
        if len(live) > FIT_SAMPLE:
            rng = np.random.default_rng([self.seed, len(live)])
            live = np.sort(rng.choice(live, FIT_SAMPLE, replace=False))
        sample = self._vectors.rows(live)
        center = sample.mean(axis=0)
        sample -= center
        _, eigvecs = np.linalg.eigh((sample.T @ sample).astype(np.float64))
        self._center = center.astype(np.float32)
        self._axes = np.ascontiguousarray(eigvecs[:, ::-1][:, : self.components], dtype=np.float32)
        self._project_all()
        if not self._estimate_holds():
            self._proj = _UNFITTED
        self._fitted, self._since_fit = len(self), 0

    def _estimate_holds(self) -> bool:
        """Whether the candidates the estimate picks for ``CHECK_QUERIES`` sampled items hold
        ``CHECK_RECALL`` of their 10 true nearest neighbours (each item left out of its own)."""
        rng = np.random.default_rng([self.seed, self._n, 1])
        live = np.flatnonzero(~self._deleted[: self._n])
        pool = live if len(live) <= CHECK_POOL else rng.choice(live, CHECK_POOL, replace=False)
        asked = rng.choice(len(pool), min(CHECK_QUERIES, len(pool)), replace=False)
        k = min(10, len(pool) - 2)
        wanted = max(k, round(self.ef * len(pool) / len(live)))
        if k < 1 or wanted >= len(pool) - 1:
            return True
        rows = self._vectors.rows(pool)
        queries = rows[asked]
        true = self._space.scores(queries @ rows.T, self._sqn, pool)
        est = self._space.scores((queries @ self._axes) @ self._proj[pool].T
                                 + (queries @ self._center)[:, None], self._sqn, pool)
        mine = (np.arange(len(asked)), asked)
        true[mine] = est[mine] = np.inf
        nearest = np.argpartition(true, k - 1, axis=1)[:, :k]
        picked = np.argpartition(est, wanted - 1, axis=1)[:, :wanted]
        found = sum(int(np.isin(n, p).sum()) for n, p in zip(nearest, picked))
        return found >= CHECK_RECALL * nearest.size

    def _project_all(self) -> None:
        self._proj = np.zeros((self.capacity, self.components), dtype=np.float32)
        for lo in range(0, self._n, _FIT_BLOCK):
            hi = min(self._n, lo + _FIT_BLOCK)
            self._proj[lo:hi] = self._project(self._vectors.range_rows(lo, hi))

    def _project_into(self, slots: np.ndarray, vectors: np.ndarray) -> None:
        self._proj[slots] = self._project(vectors)

    def _project(self, rows: np.ndarray) -> np.ndarray:
        return (rows - self._center) @ self._axes

    def _set_capacity(self, capacity: int) -> None:
        keep = min(capacity, self._n)
        super()._set_capacity(capacity)
        if self.projecting:
            proj = np.zeros((capacity, self.components), dtype=np.float32)
            proj[:keep] = self._proj[:keep]
            self._proj = proj

    # ------------------------------------------------------------------ search

    def _search(self, query: np.ndarray, k: int,
                admission: Admission) -> tuple[np.ndarray, np.ndarray]:
        self._refit_if_due()
        wanted = max(self.ef, k)
        pool = admission.slots
        if not self.projecting or (len(self) if pool is None else len(pool)) <= wanted:
            return self._exact(query, k, admission)
        estimate = self._estimate(query, pool)
        if admission.call is None:
            picks = np.argpartition(estimate, wanted - 1)[:wanted]
            picks = picks[np.isfinite(estimate[picks])]
        else:
            picks = _admitted_prefix(estimate, wanted, pool, admission.call)
        slots = picks if pool is None else pool[picks]
        scores = self._scores(query, slots)
        order = _ordered_prefix(scores, k)[:k]
        return slots[order].astype(np.int64), scores[order]

    def _estimate(self, query: np.ndarray, pool: np.ndarray | None) -> np.ndarray:
        """Estimated search scores of ``pool`` (of every slot, tombstones at inf, when None).
        A pool of over a quarter of the slots is cut from a scan of them all, which reads
        memory in order; products stay small enough to run on this thread."""
        probe = query @ self._axes
        gathered = pool if pool is not None and 4 * len(pool) < self._n else None
        n = self._n if gathered is None else len(gathered)
        step = max(1, BLOCK_ELEMENTS // self.components)
        est = np.empty(n, dtype=np.float32)
        for lo in range(0, n, step):
            hi = min(n, lo + step)
            rows = self._proj[lo:hi] if gathered is None else self._proj.take(gathered[lo:hi], axis=0)
            est[lo:hi] = dots(rows, probe)
        if pool is not None and gathered is None:
            est = est[pool]
        est += np.float32(query @ self._center)
        est = self._space.scores(est, self._sqn, slice(0, self._n) if pool is None else pool)
        if pool is None and self._n_deleted:
            est[self._deleted[: self._n]] = np.inf
        return est

    # ------------------------------------------------------------------ persistence

    def _params(self) -> dict[str, Any]:
        return {"components": self.components, "seed": self.seed, "fitted": self._fitted,
                "since_fit": self._since_fit, "projecting": self.projecting,
                "fit_below": self.fit_below}

    def _extra_arrays(self) -> tuple[np.ndarray, ...]:
        return (self._proj, self._axes, self._center)

    def _state_arrays(self) -> dict[str, np.ndarray]:
        return {"center": self._center, "axes": self._axes}

    @classmethod
    def _construct(cls, dim: int, space: str, params: dict[str, Any],
                   capacity: int) -> ProjectedIndex:
        fit_below = params["fit_below"]
        return cls(dim, space, max_elements=capacity, components=int(params["components"]),
                   seed=int(params["seed"]), fit_below=None if fit_below is None else int(fit_below))

    def _restore(self, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        center, axes = arrays["center"], arrays["axes"]
        if (center.shape != (self.dim,) or axes.shape != (self.dim, self.components)
                or center.dtype != np.float32 or axes.dtype != np.float32
                or not (np.isfinite(center).all() and np.isfinite(axes).all())):
            raise IndexFileError("index file has malformed projection axes")
        self._center, self._axes = center.copy(), axes.copy()
        self._fitted, self._since_fit = int(params["fitted"]), int(params["since_fit"])
        if params["projecting"]:
            self._project_all()
