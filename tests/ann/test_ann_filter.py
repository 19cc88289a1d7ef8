"""Filtered search: never fewer than k valid results while k valid items exist."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cacheback import InvalidInputError
from cacheback.ann import BruteForceIndex, HNSWIndex

from .conftest import Clustered, code_tolerance


def _check(labels: np.ndarray, dist: np.ndarray, allowed: set[int], k: int,
           exact: BruteForceIndex, query: np.ndarray) -> None:
    valid = [label for label in labels[0].tolist() if label >= 0]
    assert set(valid) <= allowed
    assert len(valid) == min(k, len(allowed))
    assert labels[0, len(valid):].tolist() == [-1] * (k - len(valid))
    best = exact.knn_query(query, 1, filter=sorted(allowed))[1][0, 0]
    if valid:
        assert dist[0, 0] == pytest.approx(best, abs=code_tolerance(len(query)))


@pytest.mark.parametrize("share", [0.5, 0.05, 0.002, 0.0])
@pytest.mark.parametrize("form", ["callable", "ids"])
def test_filtered_search_returns_k_valid(cosine_graph: HNSWIndex,
                                         cosine_truth: BruteForceIndex,
                                         clustered: Clustered, share: float,
                                         form: str) -> None:
    rng = np.random.default_rng(int(share * 1000))
    allowed = set(rng.choice(clustered.ids, int(share * 5000), replace=False).tolist())
    flt = allowed.__contains__ if form == "callable" else np.array(sorted(allowed))
    for query in clustered.queries[:20]:
        labels, dist = cosine_graph.knn_query(query, 10, filter=flt)
        _check(labels, dist, allowed, 10, cosine_truth, query)
        labels, dist = cosine_truth.knn_query(query, 10, filter=flt)
        _check(labels, dist, allowed, 10, cosine_truth, query)


def test_large_id_filter_uses_the_graph(cosine_graph: HNSWIndex, cosine_truth: BruteForceIndex,
                                        clustered: Clustered) -> None:
    allowed = set(clustered.ids[::2].tolist())
    calls: list[int] = []

    def spy(label: int) -> bool:
        calls.append(label)
        return label in allowed

    labels, _ = cosine_graph.knn_query(clustered.queries[0], 10, filter=spy)
    assert set(labels[0].tolist()) <= allowed
    assert len(calls) < 1000  # consulted along the search, not over all 5000 items
    by_ids = cosine_graph.knn_query(clustered.queries[0], 10, filter=list(allowed))[0]
    assert set(by_ids[0].tolist()) <= allowed


def test_filter_skips_tombstones(clustered: Clustered) -> None:
    index = HNSWIndex(64, "cosine", M=8, ef_construction=40)
    index.add_items(clustered.vectors[:300], clustered.ids[:300])
    for label in clustered.ids[:100].tolist():
        index.mark_deleted(label)
    everything = clustered.ids[:300].tolist()
    for flt in (None, everything, lambda label: True):
        labels = index.knn_query(clustered.queries[:10], 20, filter=flt)[0]
        assert not np.isin(labels, clustered.ids[:100]).any() and (labels >= 0).all()


def test_bad_filter_is_refused(cosine_graph: HNSWIndex) -> None:
    with pytest.raises(InvalidInputError):
        cosine_graph.knn_query(np.ones(64), 1, filter="abc")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        cosine_graph.knn_query(np.ones(64), 1, filter=[1.5])  # type: ignore[list-item]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.sets(st.integers(0, 399), max_size=60), k=st.integers(1, 12),
       q=st.integers(0, 199))
def test_property_filtered_results_are_valid_and_complete(
        small_graph: tuple[HNSWIndex, BruteForceIndex], clustered: Clustered,
        picks: set[int], k: int, q: int) -> None:
    """As many results as the exact filtered search, all allowed, none better than exact."""
    graph, exact = small_graph
    allowed = {int(clustered.ids[i]) for i in picks}
    query = clustered.queries[q]
    labels, dist = graph.knn_query(query, k, filter=allowed.__contains__)
    want_labels, want_dist = exact.knn_query(query, k, filter=allowed.__contains__)
    assert np.array_equal(labels >= 0, want_labels >= 0)
    assert set(labels[labels >= 0].tolist()) <= allowed
    found = dist[labels >= 0]
    assert np.all(np.diff(found) >= 0)
    assert np.all(found >= want_dist[want_labels >= 0] - code_tolerance(len(query)))


@pytest.fixture(scope="module")
def small_graph(clustered: Clustered) -> tuple[HNSWIndex, BruteForceIndex]:
    graph = HNSWIndex(64, "cosine", M=8, ef_construction=60, seed=4)
    exact = BruteForceIndex(64, "cosine")
    for index in (graph, exact):
        index.add_items(clustered.vectors[:400], clustered.ids[:400])
    return graph, exact
