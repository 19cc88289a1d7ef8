"""Best-first search over one HNSW layer, with numpy doing each expansion's distances.

Searches rank by a *score*: ``vector[x] @ probe`` (+ ``|x|^2`` in l2 space), where the probe is
``-q`` (cosine, ip) or ``-2q`` (l2). It is monotone in the distance, so one gather and one
matrix-vector product per expanded node give every neighbour's score. Visited nodes live in a
Python set: testing membership in the per-neighbour loop is cheaper than filtering with numpy.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable

import numpy as np

from ._graph import Layer
from ._store import VectorStore

__all__ = ["BATCH", "greedy_descend", "search_layer"]

BATCH = 4
"""Expand up to this many of the best open candidates per step: one gather, one matrix-vector
product and one pass for all their neighbours (slightly wider than strict best-first)."""


def greedy_descend(probe: np.ndarray, entry: int, entry_score: float, layer: Layer,
                   store: VectorStore, sq_norms: np.ndarray | None,
                   skip: int = -1) -> tuple[int, float]:
    """Walk to the locally closest node of ``layer`` (ef = 1), as in HNSW's upper levels,
    never stepping onto slot ``skip`` (the node being relinked)."""
    links, counts, rows = layer.links, layer.counts, layer.rows
    assert rows is not None
    while True:
        r = rows[entry]
        nb = links[r, : counts[r]]
        if skip >= 0:
            nb = nb[nb != skip]
        if not nb.size:
            return entry, entry_score
        sc = store.dots(nb, probe)
        if sq_norms is not None:
            sc += sq_norms.take(nb)
        j = int(sc.argmin())
        if sc[j] >= entry_score:
            return entry, entry_score
        entry, entry_score = int(nb[j]), float(sc[j])


def search_layer(probe: np.ndarray, entries: list[tuple[float, int]], ef: int, layer: Layer,
                 store: VectorStore, sq_norms: np.ndarray | None, visited: set[int],
                 admit_mask: np.ndarray | None = None,
                 admit_call: Callable[[int], bool] | None = None,
                 budget: int = 0,
                 seen: list[tuple[np.ndarray, np.ndarray]] | None = None,
                 ) -> tuple[list[tuple[float, int]], bool]:
    """HNSW's SEARCH-LAYER from scored ``entries``; returns (results as (-score, slot), done).

    Every reached node is traversed, but only admitted ones (``admit_mask[slot]`` and
    ``admit_call(slot)``) enter the ``ef`` results, so tombstones and filtered-out nodes still
    route the search. ``budget`` > 0 caps the expansions; ``done`` is False when it ran out.
    Slots already in ``visited`` are never entered (e.g. the node being linked); ``seen``, when
    given, collects (slots, scores) arrays of every expansion (a slot may recur).
    """
    cand: list[tuple[float, int]] = []
    res: list[tuple[float, int]] = []
    for score, slot in entries:
        visited.add(slot)
        cand.append((score, slot))
        if (admit_mask is None or admit_mask[slot]) and (admit_call is None or admit_call(slot)):
            res.append((-score, slot))
    heapq.heapify(cand)
    heapq.heapify(res)
    while len(res) > ef:
        heapq.heappop(res)
    bound = -res[0][0] if len(res) >= ef else math.inf
    heappush, heappop, heapreplace = heapq.heappush, heapq.heappop, heapq.heapreplace
    record = seen.append if seen is not None else None
    expansions = 0
    while cand:
        score, node = heappop(cand)
        if score > bound:
            break
        batch = [node]
        while cand and len(batch) < BATCH and cand[0][0] <= bound:
            batch.append(heappop(cand)[1])
        expansions += len(batch)
        if budget and expansions >= budget:
            return res, False
        nb = _neighbours(layer, batch)
        sc = store.dots(nb, probe)
        if sq_norms is not None:
            sc += sq_norms.take(nb)
        if record is not None:
            record((nb, sc))
        oks = admit_mask.take(nb).tolist() if admit_mask is not None else None
        for i, (s, n) in enumerate(zip(sc.tolist(), nb.tolist())):
            if n in visited:
                continue
            visited.add(n)
            if s < bound:
                heappush(cand, (s, n))
                if (oks is None or oks[i]) and (admit_call is None or admit_call(n)):
                    if len(res) < ef:
                        heappush(res, (-s, n))
                        if len(res) == ef:
                            bound = -res[0][0]
                    else:
                        heapreplace(res, (-s, n))
                        bound = -res[0][0]
    return res, True


def _neighbours(layer: Layer, nodes: list[int]) -> np.ndarray:
    """The concatenated neighbour lists of ``nodes`` (repeats possible)."""
    links, counts = layer.links, layer.counts
    rows = nodes if layer.rows is None else layer.rows.take(nodes).tolist()
    if len(rows) == 1:
        return links[rows[0], : counts[rows[0]]]
    return np.concatenate([links[r, : counts[r]] for r in rows])
