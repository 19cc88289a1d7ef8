"""The neighbour heuristic, row by row and batched, against a literal transcription of the
paper's algorithm 4."""

from __future__ import annotations

import numpy as np
import pytest

from cacheback.ann import _heuristic as heuristic
from cacheback.ann._heuristic import select_neighbours
from cacheback.ann._space import Space
from cacheback.ann._store import Float32Store


def _paper(space: Space, data: np.ndarray, base: int, cand: list[int], m: int) -> list[int]:
    def dist(a: int, b: int) -> float:
        if space.uses_norms:
            return float(((data[a] - data[b]) ** 2).sum())
        return 1.0 - float(data[a] @ data[b])

    work = sorted(cand, key=lambda c: dist(base, c))
    if len(work) <= m:
        return work
    kept: list[int] = []
    for e in work:
        if len(kept) == m:
            break
        if all(dist(e, r) >= dist(e, base) for r in kept):
            kept.append(e)
    return kept


@pytest.mark.parametrize("batch_max", [0, 64], ids=["row-by-row", "batched"])
@pytest.mark.parametrize("space_name", ["cosine", "l2"])
@pytest.mark.parametrize("m", [3, 8, 40])
def test_matches_the_paper(space_name: str, m: int, batch_max: int,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heuristic, "BATCH_MAX_CANDIDATES", batch_max)
    monkeypatch.setattr(heuristic, "_BATCH_ELEMENTS", 12 * 60 * 3)  # several blocks of rows
    rng = np.random.default_rng(m)
    space = Space(space_name)
    data = space.prepare(rng.standard_normal((300, 12)))
    sq = space.sq_norms(data)
    store = Float32Store(12, 300)
    store.write(np.arange(300), data)
    bases = rng.choice(300, 20, replace=False)
    rows, dists, expected = [], [], []
    for base in bases.tolist():
        others = rng.choice(np.delete(np.arange(300), base), rng.integers(1, 60), replace=False)
        d = space.distances_from(store, sq, np.array([base]), others[None].astype(np.int32))[0]
        order = np.argsort(d, kind="stable")
        rows.append(others[order])
        dists.append(d[order])
        expected.append(_paper(space, data, base, others.tolist(), m))
    width = max(len(r) for r in rows)
    cand = np.full((len(rows), width), -1, dtype=np.int32)
    cand_dist = np.full((len(rows), width), np.inf, dtype=np.float32)
    for i, (r, d) in enumerate(zip(rows, dists)):
        cand[i, : len(r)], cand_dist[i, : len(r)] = r, d
    got = select_neighbours(space, store, sq, cand, cand_dist, m)
    for row, want in zip(got, expected):
        assert row[row >= 0].tolist() == want
        assert (row[len(want):] == -1).all()
