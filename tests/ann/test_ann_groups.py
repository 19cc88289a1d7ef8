"""Item groups: ``knn_query(group=)`` never leaves the group, and groups survive every edit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cacheback import InvalidInputError
from cacheback.ann import BruteForceIndex, HNSWIndex, ProjectedIndex, _factory, load_index, promote
from cacheback.ann._base import ANNIndex

from .conftest import Clustered

N = 3000


def grouped(cls: type[ANNIndex], clustered: Clustered) -> tuple[ANNIndex, np.ndarray]:
    """The first N clustered items in groups 0 (2400: HNSW searches it through the graph),
    1 (400) and 7 (200; both small enough for an exact scan of their slots)."""
    groups = np.repeat(np.array([0, 1, 7], dtype=np.int32), [2400, 400, 200])
    groups = np.random.default_rng(5).permutation(groups)
    index: ANNIndex
    if cls is HNSWIndex:
        index = HNSWIndex(64, "cosine", M=8, ef_construction=60)
    elif cls is ProjectedIndex:
        index = ProjectedIndex(64, "cosine", components=16)  # fewer axes than dims: it projects
    else:
        index = cls(64)
    index.add_items(clustered.vectors[:N], clustered.ids[:N], groups)
    return index, groups


@pytest.mark.parametrize("cls", [BruteForceIndex, ProjectedIndex, HNSWIndex])
def test_search_stays_in_its_group_and_finds_the_exact_best(cls: type[ANNIndex],
                                                            clustered: Clustered) -> None:
    index, groups = grouped(cls, clustered)
    exact = BruteForceIndex(64, "cosine")
    exact.add_items(clustered.vectors[:N], clustered.ids[:N])
    for group in (0, 1, 7):
        members = set(clustered.ids[:N][groups == group].tolist())
        labels, _ = index.knn_query(clustered.queries[:30], 10, group=group)
        assert set(labels.ravel().tolist()) <= members
        truth = exact.knn_query(clustered.queries[:30], 1, filter=sorted(members))[0]
        assert np.mean(labels[:, 0] == truth[:, 0]) >= 0.95
    assert set(index.ids(group=7).tolist()) == set(clustered.ids[:N][groups == 7].tolist())


@pytest.mark.parametrize("cls", [BruteForceIndex, ProjectedIndex, HNSWIndex])
def test_group_combines_with_a_filter(cls: type[ANNIndex], clustered: Clustered) -> None:
    index, groups = grouped(cls, clustered)
    in_one = clustered.ids[:N][groups == 1]
    allowed = set(in_one[::3].tolist()) | set(clustered.ids[:N][groups == 0][:50].tolist())
    for flt in (sorted(allowed), allowed.__contains__):
        labels, _ = index.knn_query(clustered.queries[0], 500, filter=flt, group=1)
        assert set(labels[0][labels[0] >= 0].tolist()) == set(in_one[::3].tolist())


def test_an_empty_group_pads_and_groups_of_reports_membership(clustered: Clustered) -> None:
    index, groups = grouped(BruteForceIndex, clustered)
    labels, dist = index.knn_query(clustered.queries[0], 3, group=4)
    assert (labels == -1).all() and np.isinf(dist).all()
    some = clustered.ids[:5]
    assert index.groups_of([*some.tolist(), -99]).tolist() == [*groups[:5].tolist(), -1]


def test_groups_follow_replacement_deletion_and_compaction(clustered: Clustered) -> None:
    index, groups = grouped(HNSWIndex, clustered)
    moved = int(clustered.ids[0])
    index.add_items(clustered.vectors[0], [moved], [3])
    assert index.groups_of([moved]).tolist() == [3]
    assert index.ids(group=3).tolist() == [moved]
    doomed = clustered.ids[1:500]
    for label in doomed.tolist():
        index.mark_deleted(label)
    assert isinstance(index, HNSWIndex)
    index.compact()
    assert index.deleted_count == 0
    assert index.groups_of(clustered.ids[500:N]).tolist() == groups[500:].tolist()
    assert not np.isin(index.ids(group=int(groups[1])), doomed).any()


def test_groups_survive_save_load_and_promotion(clustered: Clustered, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    small, groups = grouped(BruteForceIndex, clustered)
    monkeypatch.setattr(_factory, "HNSW_MIN_ITEMS", N)
    graph = promote(small)
    assert isinstance(graph, HNSWIndex)
    graph.save(tmp_path / "g.index")
    loaded = load_index(tmp_path / "g.index")
    assert loaded.groups_of(clustered.ids[:N]).tolist() == groups.tolist()


def test_bad_groups_are_refused(clustered: Clustered) -> None:
    index = BruteForceIndex(64)
    with pytest.raises(InvalidInputError):
        index.add_items(clustered.vectors[:2], clustered.ids[:2], [0, -1])
    with pytest.raises(InvalidInputError):
        index.add_items(clustered.vectors[:2], clustered.ids[:2], [0])
    with pytest.raises(InvalidInputError):
        index.knn_query(clustered.queries[0], 1, group=1.5)  # type: ignore[arg-type]


@pytest.mark.parametrize("cls", [BruteForceIndex, ProjectedIndex, HNSWIndex])
def test_a_remembered_group_follows_every_edit(cls: type[ANNIndex], clustered: Clustered) -> None:
    """Group membership is remembered between queries; each kind of edit must show at once."""
    index, groups = grouped(cls, clustered)
    ids = clustered.ids[:N]

    def members(group: int) -> set[int]:
        labels, _ = index.knn_query(clustered.queries[0], N, group=group)
        return set(labels[0][labels[0] >= 0].tolist())

    expected = {g: set(ids[groups == g].tolist()) for g in (0, 1, 7)}
    assert {g: members(g) for g in expected} == expected  # remembered from here on
    moved, dropped = int(ids[groups == 1][0]), int(ids[groups == 7][0])
    index.add_items(clustered.vectors[[list(ids).index(moved)]], [moved], [7])  # same id, new group
    expected[1], expected[7] = expected[1] - {moved}, expected[7] | {moved}
    assert {g: members(g) for g in expected} == expected
    index.mark_deleted(dropped)
    expected[7] = expected[7] - {dropped}
    assert {g: members(g) for g in expected} == expected
    index.add_items(clustered.vectors[N:N + 5], clustered.ids[N:N + 5], [1] * 5)
    expected[1] = expected[1] | set(clustered.ids[N:N + 5].tolist())
    assert {g: members(g) for g in expected} == expected
    index.resize(2 * index.capacity)
    assert members(7) == expected[7]
    if isinstance(index, HNSWIndex):
        index.compact()
        assert {g: members(g) for g in expected} == expected
