"""HNSWIndex: hierarchical navigable small world graphs in pure numpy (Malkov & Yashunin).

Graph: one flat int32 neighbour table per level (:class:`Layer`), 2*M wide at level 0 and M
above. Queries descend greedily through the upper levels and run a best-first search of
breadth ``ef`` at level 0. Inserts link a node to neighbours picked by the paper's heuristic
and add the reverse links, re-running the heuristic on lists that overflow. Large batches are
linked in chunks whose candidate lists come from one exact matrix product per chunk while the
graph is small (up to ``EXACT_BUILD_MAX`` slots), one by one above that.

Linking one item into a large graph costs milliseconds of Python (about 12 ms at 100k items);
an index given a *buffer* (:meth:`HNSWIndex.set_buffer`) stores new items at once but links them
later: searches scan the buffered items exactly beside the graph, so an item is found from the
moment ``add_items`` returns, and :meth:`HNSWIndex.link_buffered` or an overflowing buffer links
them. :meth:`HNSWIndex.link_next` links one without keeping searches waiting: it finds the
row's neighbours (the search, most of the cost) without the lock, against the graph as it is
then, and takes the lock only to write the links, after checking that the row is still the one
it planned for.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._errors import IndexFileError, InvalidInputError
from ._base import ANNIndex
from ._filter import Admission
from ._graph import Layer
from ._heuristic import select_neighbours
from ._idmap import IdMap
from ._search import greedy_descend, search_layer
from ._store import CODE_STORES, Float32Store, VectorStore

__all__ = ["BULK_MIN_ITEMS", "COMPACT_FRACTION", "DEFAULT_EF", "EXACT_BUILD_MAX",
           "HNSWIndex"]

DEFAULT_EF = 64
"""Default search breadth: recall@1 0.990 on 100k MiniLM vectors (1000 held-out queries) and
0.995 on 100k clustered synthetic ones, at p50 0.72 / 0.86 ms (benchmarks/ann_bench.py)."""
COMPACT_FRACTION = 0.2
"""Rebuild the graph once tombstones exceed this share of the slots."""
BULK_MIN_ITEMS = 64
"""Fresh inserts of at least this many items go through the chunked bulk path."""
EXACT_BUILD_MAX = 40_000
"""Bulk linking uses exact candidate lists while the graph has at most this many slots."""
_POOL_BLOCK = 8192
"""Pool rows decoded at a time for the exact candidate lists."""
EXACT_FILTER_MAX = 2048
"""An allowed-id filter this small is answered by an exact scan of those ids."""
SELECTIVE_SAMPLE, SELECTIVE_SHARE = 32, 16
"""A predicate passing fewer than 1 in SELECTIVE_SHARE of SELECTIVE_SAMPLE sampled items is
answered by the exact scan."""
SELECTIVE_EXACT_MAX = 32_768
"""An allowed-id set holding fewer than 1 in SELECTIVE_SHARE of the graph's linked items is
answered by the exact scan when it is at most this large (about 3 ms at 384 dimensions)."""
LINK_EF_SHARE = 0.25
"""Linking searches run at this share of ef_construction; the ef_construction best nodes they
score (not just the ones they keep) are the candidates: nearly the same lists, far fewer hops."""
_MAX_LEVEL = 16
_BIG = np.iinfo(np.int32).max


@dataclass(frozen=True)
class _LinkPlan:
    """The links a buffered item gets, found without the index lock from entry point
    ``entry``: ``chosen[i]`` are its neighbours at level ``len(chosen) - 1 - i``. They are
    written only if the entry point is the same and the item is still buffered under the same
    ``stamp`` (unique to each time an item enters the buffer: a deleted, replaced or compacted
    item has lost it)."""

    slot: int
    stamp: int
    entry: int
    chosen: tuple[np.ndarray, ...]


class HNSWIndex(ANNIndex):
    """Approximate k-NN over an HNSW graph; see :class:`ANNIndex` for the shared API.

    ``M`` bounds the links per node (2*M at level 0), ``ef_construction`` is the candidate
    list size when linking, ``set_ef`` the search breadth (at least ``k`` is used).
    Tombstones keep routing searches; inserts reuse their slots (after repairing the
    neighbours' lists), and the graph is rebuilt once they exceed ``COMPACT_FRACTION``.
    With a buffer (``set_buffer``), items are linked later; searches are exact over them meanwhile.
    """

    kind = "hnsw"

    def __init__(self, dim: int, space: str = "cosine", M: int = 16,  # noqa: N803
                 ef_construction: int = 200, seed: int = 0, max_elements: int = 1024,
                 codes: str = "int16") -> None:
        if codes not in CODE_STORES:
            raise InvalidInputError(f"codes must be one of {sorted(CODE_STORES)}, not {codes!r}")
        self.codes = codes
        if not isinstance(M, (int, np.integer)) or M < 2:
            raise InvalidInputError(f"M must be an int >= 2, not {M!r}")
        if not isinstance(ef_construction, (int, np.integer)) or ef_construction < 1:
            raise InvalidInputError(f"ef_construction must be a positive int, not "
                                    f"{ef_construction!r}")
        self.M = int(M)
        self.ef_construction = int(ef_construction)
        self._ef_link = max(self.M, int(LINK_EF_SHARE * self.ef_construction))
        self.seed = int(seed)
        self._rng = np.random.default_rng(self.seed)
        self._sampler = np.random.default_rng(self.seed + 1)
        self._layers = [Layer(2 * self.M, 0, dense=True)]
        self._level = np.zeros(0, dtype=np.int8)
        self._entry = -1
        self._buffer_max = 0
        self._buffered: dict[int, int] = {}
        self._stamps = itertools.count()
        self._planning: set[int] = set()
        self._layout = 0
        super().__init__(dim, space, max_elements)
        self.ef = DEFAULT_EF

    # ------------------------------------------------------------------ the link buffer

    def set_buffer(self, max_items: int) -> None:
        """Keep up to ``max_items`` new items in a side buffer instead of linking each as it is
        added (0, the default, links at once). Buffered items are stored and searched exactly,
        so results do not change, only when the linking work is done: by :meth:`link_buffered`,
        or, once the buffer is full, the oldest items on each ``add_items``."""
        if not isinstance(max_items, (int, np.integer)) or isinstance(max_items, bool) \
                or max_items < 0:
            raise InvalidInputError(f"max_items must be an int >= 0, not {max_items!r}")
        with self._lock:
            self._buffer_max = int(max_items)
            self._link_overflow()

    @property
    def buffered(self) -> int:
        """Items stored but not yet linked into the graph."""
        return len(self._buffered)

    def link_buffered(self, max_items: int | None = None) -> int:
        """Link up to ``max_items`` buffered items (all when None), oldest first; returns how
        many were linked. The lock is held throughout: an index shared with searches is
        better served by :meth:`link_next`."""
        with self._lock:
            count = len(self._buffered) if max_items is None else min(max_items, len(self._buffered))
            for _ in range(count):
                slot = next(iter(self._buffered))
                del self._buffered[slot]
                self._relink(slot)
            return count

    def link_next(self) -> bool:
        """Link the oldest buffered item, holding the lock only to pick it and to write its
        links (about a sixth of the work): the search for its neighbours runs without it, so
        searches and adds go on meanwhile. Threads calling it at once link different items. A
        plan the graph moved under (the item deleted or replaced, the slots renumbered, a new
        entry point) is made again. Returns False when no buffered item is left that another
        thread is not already linking."""
        while True:
            with self._lock:
                slot = next((s for s in self._buffered if s not in self._planning), -1)
                if slot < 0:
                    return False
                if self._linked_before(slot):
                    del self._buffered[slot]
                    self._relink(slot)  # a reused slot: its old neighbours are mended first
                    return True
                stamp, layout, entry = self._buffered[slot], self._layout, self._entry
                self._planning.add(slot)
            try:
                try:
                    plan = _LinkPlan(slot, stamp, entry, self._plan(slot, entry))
                except (IndexError, ValueError):
                    if self._layout == layout:
                        raise
                    continue  # the arrays grew under the search: plan again
                with self._lock:
                    if self._commit(plan):
                        return True
            finally:
                self._planning.discard(slot)  # atomic; only iterations over _buffered need the lock

    def _commit(self, plan: _LinkPlan) -> bool:
        """Write ``plan``'s links if the graph still matches it (called with the lock held)."""
        if plan.entry != self._entry or self._buffered.get(plan.slot) != plan.stamp:
            return False
        del self._buffered[plan.slot]
        self._apply(plan.slot, plan.chosen)
        return True

    def _linked_before(self, slot: int) -> bool:
        """Whether ``slot`` has links of its own (a reused slot) or is the entry point."""
        if slot == self._entry:
            return True
        for layer in self._layers[: int(self._level[slot]) + 1]:
            row = layer.row(slot)
            if row >= 0 and layer.counts[row]:
                return True
        return False

    def mark_deleted(self, id: int) -> None:
        with self._lock:
            slot = self._slot_of.get(int(id)) if isinstance(id, (int, np.integer)) else None
            super().mark_deleted(id)
            if slot is not None:
                self._buffered.pop(slot, None)

    def _link_overflow(self) -> None:
        over = len(self._buffered) - self._buffer_max
        if over > 0:
            self.link_buffered(over)

    # ------------------------------------------------------------------ maintenance

    def compact(self) -> None:
        """Rebuild the graph from the live items only, dropping every tombstone."""
        with self._lock:
            self._group_memo.clear()
            live = np.flatnonzero(~self._deleted[: self._n])
            vectors, ids, groups = self._vectors.rows(live), self._labels[live], self._groups[live]
            self._n = self._n_deleted = 0
            self._slot_of, self._free = IdMap(), []
            self._deleted[:] = False
            self._level[:] = 0
            self._layers = [Layer(2 * self.M, self.capacity, dense=True)]
            self._entry = -1
            self._buffered.clear()
            if len(ids):
                self._insert(vectors, ids, groups)

    def _set_capacity(self, capacity: int) -> None:
        keep = min(capacity, self._n)
        self._layout += 1
        super()._set_capacity(capacity)
        level = np.zeros(capacity, dtype=np.int8)
        level[:keep] = self._level[:keep]
        self._level = level
        for layer in self._layers:
            layer.resize(capacity)

    # ------------------------------------------------------------------ insertion

    def _insert(self, vectors: np.ndarray, ids: np.ndarray, groups: np.ndarray) -> None:
        self._layout += 1
        fresh: list[int] = []
        for i, label in enumerate(ids.tolist()):
            slot = self._reusable_slot(label)
            if slot is None:
                fresh.append(i)
                continue
            self._store(np.array([slot]), vectors[i:i + 1], ids[i:i + 1], groups[i:i + 1])
            if self._buffer_max:
                self._buffered.pop(slot, None)
                self._buffered[slot] = next(self._stamps)
            else:
                self._relink(slot)
        if fresh:
            slots = self._append_slots(len(fresh))
            self._store(slots, vectors[fresh], ids[fresh], groups[fresh])
            self._assign_levels(slots)
            bulk = len(slots) >= BULK_MIN_ITEMS and int(slots[0]) <= EXACT_BUILD_MAX
            if self._buffer_max and not bulk:
                self._buffered.update((slot, next(self._stamps)) for slot in slots.tolist())
            elif len(slots) >= BULK_MIN_ITEMS:
                self._bulk_link(int(slots[0]), int(slots[-1]) + 1)
            else:
                for slot in slots.tolist():
                    self._link(slot)
        if self._n_deleted > COMPACT_FRACTION * self._n:
            self.compact()
        self._link_overflow()

    def _assign_levels(self, slots: np.ndarray) -> None:
        """Draw HNSW levels (floor(-ln U / ln M)) and give the slots rows on their levels."""
        draws = -np.log1p(-self._rng.random(len(slots))) / math.log(self.M)
        levels = np.minimum(draws.astype(np.int64), _MAX_LEVEL)
        self._level[slots] = levels
        while len(self._layers) <= levels.max():
            self._layers.append(Layer(self.M, self.capacity, dense=False))
        for slot, level in zip(slots.tolist(), levels.tolist()):
            for layer in self._layers[1:level + 1]:
                layer.add_slot(slot)

    @property
    def _top(self) -> int:
        return int(self._level[self._entry]) if self._entry >= 0 else -1

    @property
    def _norms(self) -> np.ndarray | None:
        return self._sqn if self._space.uses_norms else None

    def _probe(self, query: np.ndarray) -> np.ndarray:
        """The vector whose dot product with a stored vector gives the search score."""
        return query * np.float32(-2.0 if self._space.uses_norms else -1.0)

    def _score(self, probe: np.ndarray, slot: int) -> float:
        score = float(self._vectors.dots(np.array([slot]), probe)[0])
        return score + float(self._sqn[slot]) if self._space.uses_norms else score

    def _store_type(self) -> type[VectorStore]:
        """``codes`` (int16 by default: < 1e-5 of similarity lost; int8: a quarter of the
        memory) for cosine, whose unit vectors have bounded components; exact float32 for ip
        and l2, whose vectors are unbounded."""
        return CODE_STORES[self.codes] if self._space.normalize else Float32Store

    def _link(self, slot: int) -> None:
        """Connect a stored node to the graph, HNSW's INSERT for one element."""
        self._apply(slot, self._plan(slot, self._entry))

    def _plan(self, slot: int, entry: int) -> tuple[np.ndarray, ...]:
        """The neighbours ``slot`` gets at each of its levels up to ``entry``'s, top down,
        searched for from ``entry`` (none: no graph yet). It only reads the graph, taking each
        array once, so it may run without the lock while others write (see :meth:`link_next`)."""
        if entry < 0:
            return ()
        store, sqn, layers, space = self._vectors, self._sqn, list(self._layers), self._space
        norms = sqn if space.uses_norms else None
        level, top = int(self._level[slot]), int(self._level[entry])
        query = store.rows(np.array([slot]))[0]
        probe = self._probe(query)
        entry_score = float(store.dots(np.array([entry]), probe)[0])
        if norms is not None:
            entry_score += float(norms[entry])
        for lev in range(top, level, -1):
            entry, entry_score = greedy_descend(probe, entry, entry_score, layers[lev], store,
                                                norms, skip=slot)
        entries = [(entry_score, entry)]
        offset = space.offset(query)
        chosen = []
        for lev in range(min(level, top), -1, -1):
            seen = [(np.array([s for _, s in entries]), np.array([sc for sc, _ in entries]))]
            found, _ = search_layer(probe, entries, self._ef_link, layers[lev], store, norms,
                                    {slot}, seen=seen)
            entries = sorted((-neg, s) for neg, s in found)
            cand, scores = self._best_seen(seen, slot)
            dist = space.to_distance(scores, offset)
            picked = select_neighbours(space, store, sqn, cand[None], dist[None], self.M)[0]
            chosen.append(picked[picked >= 0])
        return tuple(chosen)

    def _apply(self, slot: int, chosen: tuple[np.ndarray, ...]) -> None:
        """Write ``slot``'s links from :meth:`_plan` and the reverse links; make it the entry
        point when it is the first node or tops the graph."""
        for i, picked in enumerate(chosen):
            lev = len(chosen) - 1 - i
            self._layers[lev].set_neighbours(slot, picked)
            self._connect(lev, picked, np.full(len(picked), slot, dtype=np.int32))
        if self._entry < 0 or int(self._level[slot]) > self._top:
            self._entry = slot

    def _best_seen(self, seen: list[tuple[np.ndarray, np.ndarray]],
                   slot: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``ef_construction`` best nodes (other than ``slot``) a linking search scored."""
        slots, first = np.unique(np.concatenate([s for s, _ in seen]), return_index=True)
        scores = np.concatenate([sc for _, sc in seen])[first].astype(np.float32)
        others = slots != slot
        slots, scores = slots[others].astype(np.int32), scores[others]
        if len(slots) > self.ef_construction:
            part = np.argpartition(scores, self.ef_construction - 1)[: self.ef_construction]
            slots, scores = slots[part], scores[part]
        order = np.argsort(scores, kind="stable")
        return slots[order], scores[order]

    def _relink(self, slot: int) -> None:
        """Re-insert a slot whose vector changed: mend its old neighbours, then link it anew."""
        level = int(self._level[slot])
        for lev in range(level + 1):
            layer = self._layers[lev]
            old = layer.neighbours(slot).copy()
            layer.set_neighbours(slot, old[:0])
            old = old[old != slot]
            if len(old):
                rows = old if layer.rows is None else layer.rows[old]
                pools = np.concatenate([self._lists(layer, rows),
                                        np.broadcast_to(old, (len(old), len(old)))], axis=1)
                self._reselect(lev, old, np.where(pools == slot, -1, pools))
        if self._entry == slot:
            others = self._level[: self._n].astype(np.int64)
            others[slot] = -1
            if others.max() < 0:
                return
            self._entry = int(others.argmax())
        self._link(slot)

    def _bulk_link(self, start: int, end: int) -> None:
        """Link the fresh slots ``[start, end)`` in chunks (exact candidates while small)."""
        lo = start
        while lo < end:
            if lo > EXACT_BUILD_MAX:
                for slot in range(lo, end):
                    self._link(slot)
                return
            hi = min(end, lo + int(np.clip((1 << 24) // max(lo, 1), 32, 1024)))
            self._link_chunk(lo, hi)
            lo = hi

    def _link_chunk(self, lo: int, hi: int) -> None:
        """Link slots ``[lo, hi)`` to everything before ``hi`` from exact top-ef_c lists."""
        new = np.arange(lo, hi)
        levels = self._level[lo:hi]
        for lev in range(int(levels.max()), -1, -1):
            layer = self._layers[lev]
            members = new[levels >= lev]
            pool = layer.present_slots(hi)
            pool = pool[pool < hi]
            cand, dist = self._exact_candidates(members, pool, dense=layer.rows is None)
            if not cand.shape[1]:
                continue
            chosen = select_neighbours(self._space, self._vectors, self._sqn, cand, dist, self.M)
            rows = members if layer.rows is None else layer.rows[members]
            layer.links[rows, : self.M] = chosen
            layer.counts[rows] = (chosen >= 0).sum(axis=1)
            valid = chosen >= 0
            self._connect(lev, chosen[valid], np.broadcast_to(members[:, None], chosen.shape)[valid])
        if self._entry < 0 or int(levels.max()) > self._top:
            self._entry = lo + int(levels.argmax())

    def _exact_candidates(self, members: np.ndarray, pool: np.ndarray,
                          dense: bool) -> tuple[np.ndarray, np.ndarray]:
        """Each member's ``ef_construction`` nearest pool slots (itself excluded), sorted."""
        queries = self._vectors.rows(members)
        scores = np.empty((len(members), len(pool)), dtype=np.float32)
        for lo in range(0, len(pool), _POOL_BLOCK):
            block = pool[lo:lo + _POOL_BLOCK]
            scores[:, lo:lo + len(block)] = queries @ self._vectors.rows(block).T
        if self._space.uses_norms:
            scores = (self._sqn[members][:, None] + self._sqn[pool][None, :]) - 2.0 * scores
        else:
            scores = 1.0 - scores
        if dense:
            scores[np.arange(len(members)), members] = np.inf
        else:
            scores[members[:, None] == pool[None, :]] = np.inf
        count = min(self.ef_construction, len(pool) - 1)
        if count <= 0:
            return np.zeros((len(members), 0), np.int32), np.zeros((len(members), 0), np.float32)
        if count < scores.shape[1]:
            idx = np.argpartition(scores, count - 1, axis=1)[:, :count]
        else:
            idx = np.broadcast_to(np.arange(scores.shape[1]), scores.shape)
        part = np.take_along_axis(scores, idx, axis=1)
        order = np.argsort(part, axis=1, kind="stable")
        dist = np.take_along_axis(part, order, axis=1).astype(np.float32)
        cand = pool[np.take_along_axis(idx, order, axis=1)].astype(np.int32)
        if self._space.uses_norms:
            np.maximum(dist, 0.0, out=dist)
        cand[~np.isfinite(dist)] = -1
        return cand, dist

    # ------------------------------------------------------------------ link maintenance

    @staticmethod
    def _lists(layer: Layer, rows: np.ndarray) -> np.ndarray:
        """Neighbour lists of ``rows`` as a -1 padded matrix."""
        links = layer.links[rows]
        return np.where(np.arange(layer.width) < layer.counts[rows][:, None], links, -1)

    def _connect(self, lev: int, targets: np.ndarray, sources: np.ndarray) -> None:
        """Add the links target -> source, re-running the heuristic where a list overflows."""
        if not len(targets):
            return
        layer = self._layers[lev]
        order = np.lexsort((sources, targets))
        targets, sources = targets[order], sources[order]
        uniq, starts, counts = np.unique(targets, return_index=True, return_counts=True)
        incoming = np.full((len(uniq), int(counts.max())), -1, dtype=np.int32)
        incoming[np.repeat(np.arange(len(uniq)), counts),
                 np.arange(len(targets)) - np.repeat(starts, counts)] = sources
        rows = uniq if layer.rows is None else layer.rows[uniq]
        pools = np.concatenate([self._lists(layer, rows), incoming], axis=1)
        merged = np.sort(np.where(pools < 0, _BIG, pools), axis=1)
        merged[:, 1:][merged[:, 1:] == merged[:, :-1]] = _BIG
        merged = np.sort(merged, axis=1)
        distinct = (merged < _BIG).sum(axis=1)
        fits = distinct <= layer.width
        layer.links[rows[fits]] = merged[fits, : layer.width]
        layer.counts[rows[fits]] = distinct[fits]
        if not fits.all():
            self._reselect(lev, uniq[~fits], pools[~fits])

    def _reselect(self, lev: int, nodes: np.ndarray, pools: np.ndarray) -> None:
        """Set each node's list to the heuristic's pick from its candidate pool row."""
        layer = self._layers[lev]
        pools = np.where(pools == nodes[:, None], -1, pools).astype(np.int32)
        dist = self._space.distances_from(self._vectors, self._sqn, nodes, pools)
        order = np.lexsort((pools, dist), axis=-1)
        pools = np.take_along_axis(pools, order, axis=1)
        dist = np.take_along_axis(dist, order, axis=1)
        dup = np.zeros(pools.shape, dtype=bool)
        dup[:, 1:] = (pools[:, 1:] == pools[:, :-1]) & (pools[:, 1:] >= 0)
        pools[dup], dist[dup] = -1, np.inf
        order = np.argsort(dist, axis=1, kind="stable")
        pools = np.take_along_axis(pools, order, axis=1)
        dist = np.take_along_axis(dist, order, axis=1)
        chosen = select_neighbours(self._space, self._vectors, self._sqn, pools, dist, layer.width)
        rows = nodes if layer.rows is None else layer.rows[nodes]
        layer.links[rows] = chosen
        layer.counts[rows] = (chosen >= 0).sum(axis=1)

    # ------------------------------------------------------------------ search

    def _search(self, query: np.ndarray, k: int,
                admission: Admission) -> tuple[np.ndarray, np.ndarray]:
        if admission.slots is not None and len(admission.slots) <= max(EXACT_FILTER_MAX, k):
            return self._exact(query, k, admission)
        if self._entry < 0 or not self._slot_of or self._rarely_admits(admission):
            return self._exact(query, k, admission)
        buffered = np.fromiter(self._buffered, dtype=np.int64, count=len(self._buffered))
        mask = self._admit_mask(admission) if len(buffered) else None
        if mask is not None:
            buffered = buffered[mask[buffered]]
        if self._rarely_linked(admission, len(buffered)):
            return self._exact(query, k, admission)
        slots, scores = self._graph_search(query, k, admission)
        if not len(buffered):
            return slots, scores
        extra, extra_scores = self._exact(query, k, Admission(slots=buffered, call=admission.call))
        slots = np.concatenate([slots, extra])
        scores = np.concatenate([scores, extra_scores])
        slots, first = np.unique(slots, return_index=True)  # a reused slot may be in both
        scores = scores[first]
        order = np.lexsort((slots, scores))[:k]
        return slots[order], scores[order]

    def _graph_search(self, query: np.ndarray, k: int,
                      admission: Admission) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest admitted items the graph reaches (buffered ones aside), or the
        exact answer when the search ran out of budget or found too few."""
        ef = max(self.ef, k)
        norms = self._norms
        probe = self._probe(query)
        entry = self._entry
        entry_score = self._score(probe, entry)
        for lev in range(self._top, 0, -1):
            entry, entry_score = greedy_descend(probe, entry, entry_score, self._layers[lev],
                                                self._vectors, norms)
        mask = self._admit_mask(admission)
        budget = 8 * ef + 64 if admission.restricted else 0
        found, done = search_layer(probe, [(entry_score, entry)], ef, self._layers[0],
                                   self._vectors, norms, set(), mask, admission.call, budget)
        if not done or len(found) < min(k, len(self._slot_of) - len(self._buffered)):
            return self._exact(query, k, admission)
        best = sorted((-neg, s) for neg, s in found)[:k]
        return (np.array([s for _, s in best], dtype=np.int64),
                np.array([sc for sc, _ in best], dtype=np.float32))

    def _rarely_linked(self, admission: Admission, admitted_buffered: int) -> bool:
        """Whether so few of the allowed slots are in the graph (fewer than 1 in
        ``SELECTIVE_SHARE`` of its linked items, as for a young partition whose rows are still
        buffered) that the graph search would wander and fall back to the exact scan anyway;
        only for allowed sets that scan quickly (``SELECTIVE_EXACT_MAX``)."""
        if admission.slots is None or len(admission.slots) > SELECTIVE_EXACT_MAX:
            return False
        linked = len(admission.slots) - admitted_buffered
        return linked * SELECTIVE_SHARE < len(self._slot_of) - len(self._buffered)

    def _rarely_admits(self, admission: Admission) -> bool:
        """Whether a predicate passes so few of ``SELECTIVE_SAMPLE`` sampled live items that the
        graph search would mostly wander (the exact scan then asks it in distance order)."""
        if admission.call is None:
            return False
        picks = self._sampler.integers(0, self._n, SELECTIVE_SAMPLE)
        live = picks[~self._deleted[picks]].tolist()
        passed = sum(admission.call(slot) for slot in live)
        return passed * SELECTIVE_SHARE < len(live)

    def _admit_mask(self, admission: Admission) -> np.ndarray | None:
        if admission.mask is not None and len(admission.mask) == self.capacity:
            return admission.mask
        if admission.slots is not None:
            mask = np.zeros(self.capacity, dtype=bool)
            mask[admission.slots] = True
            return mask
        return ~self._deleted if self._n_deleted else None

    # ------------------------------------------------------------------ persistence

    def _params(self) -> dict[str, Any]:
        return {"M": self.M, "ef_construction": self.ef_construction, "seed": self.seed,
                "entry": self._entry, "levels": len(self._layers), "codes": self.codes}

    def _extra_arrays(self) -> tuple[np.ndarray, ...]:
        extra: list[np.ndarray] = [self._level]
        for layer in self._layers:
            extra += [layer.links, layer.counts]
            if layer.rows is not None and layer.slots is not None:
                extra += [layer.rows, layer.slots]
        return tuple(extra)

    def _state_arrays(self) -> dict[str, np.ndarray]:
        arrays = {"level": self._level[: self._n]}
        if self._buffered:
            arrays["buffered"] = np.fromiter(self._buffered, dtype=np.int64,
                                             count=len(self._buffered))
        for lev, layer in enumerate(self._layers):
            slots, links, counts = layer.to_arrays(self._n)
            arrays.update({f"L{lev}_slots": slots, f"L{lev}_links": links,
                           f"L{lev}_counts": counts})
        return arrays

    @classmethod
    def _construct(cls, dim: int, space: str, params: dict[str, Any],
                   capacity: int) -> HNSWIndex:
        return cls(dim, space, M=int(params["M"]),
                   ef_construction=int(params["ef_construction"]), seed=int(params["seed"]),
                   max_elements=capacity, codes=str(params.get("codes", "int16")))

    def _restore(self, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        n = self._n
        level = arrays["level"]
        if level.shape != (n,) or (n and (level.min() < 0 or level.max() >= params["levels"])):
            raise IndexFileError("index file has invalid node levels")
        self._level[:n] = level
        self._layers = []
        for lev in range(int(params["levels"])):
            slots, links = arrays[f"L{lev}_slots"], arrays[f"L{lev}_links"]
            counts = arrays[f"L{lev}_counts"]
            width = 2 * self.M if lev == 0 else self.M
            expected = np.arange(n) if lev == 0 else np.flatnonzero(level >= lev)
            if (links.shape != (len(slots), width) or counts.shape != slots.shape
                    or not np.array_equal(np.sort(slots), expected)
                    or (len(counts) and (counts.min() < 0 or counts.max() > width))):
                raise IndexFileError(f"index file has an inconsistent level {lev}")
            used = links[np.arange(width) < counts[:, None]]
            if used.size and (used.min() < 0 or used.max() >= n):
                raise IndexFileError(f"index file has dangling links at level {lev}")
            self._layers.append(Layer.from_arrays(width, self.capacity, slots, links, counts,
                                                  dense=lev == 0))
        self._entry = int(params["entry"])
        buffered = arrays.get("buffered", np.zeros(0, dtype=np.int64))
        if buffered.ndim != 1 or (len(buffered) and (buffered.min() < 0 or buffered.max() >= n
                                                     or self._deleted[buffered].any())):
            raise IndexFileError("index file has an invalid link buffer")
        self._buffered = {slot: next(self._stamps) for slot in buffered.tolist()}
        if len(self._buffered) != len(buffered):
            raise IndexFileError("index file lists a buffered item twice")
        linked_live = n - self._n_deleted - len(buffered)
        if not (-1 <= self._entry < n) or (self._entry < 0 and linked_live > 0) \
                or (self._entry >= 0 and n == 0):
            raise IndexFileError("index file has an invalid entry point")
        self._rng = np.random.default_rng([self.seed, n])
