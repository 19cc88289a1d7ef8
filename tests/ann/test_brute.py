"""BruteForceIndex: exact answers in every space, and the same bookkeeping as HNSW."""

from __future__ import annotations

import numpy as np
import pytest

from cacheback.ann import BruteForceIndex

from .conftest import Clustered


def _reference(vectors: np.ndarray, queries: np.ndarray, space: str) -> np.ndarray:
    """Distances by the hnswlib definitions, computed the slow obvious way."""
    if space == "cosine":
        a = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        b = queries / np.linalg.norm(queries, axis=1, keepdims=True)
        return 1.0 - b @ a.T
    if space == "ip":
        return 1.0 - queries @ vectors.T
    return ((queries[:, None, :] - vectors[None, :, :]) ** 2).sum(axis=2)


@pytest.mark.parametrize("space", ["cosine", "ip", "l2"])
def test_exact_in_every_space(clustered: Clustered, space: str) -> None:
    vectors, ids = clustered.vectors[:1000], clustered.ids[:1000]
    queries = clustered.queries[:50]
    index = BruteForceIndex(64, space)
    index.add_items(vectors, ids)
    labels, dist = index.knn_query(queries, 7)
    ref = _reference(vectors.astype(np.float64), queries.astype(np.float64), space)
    order = np.argsort(ref, axis=1, kind="stable")[:, :7]
    expected = np.take_along_axis(ref, order, axis=1)
    assert np.allclose(dist, expected, rtol=1e-4, atol=1e-3)
    assert (labels == ids[order]).mean() > 0.99  # float32 near-ties may swap neighbours
    single = np.stack([index.knn_query(q, 7)[0][0] for q in queries])
    assert np.array_equal(single, labels)


def test_replace_delete_and_slot_reuse() -> None:
    index = BruteForceIndex(2, "l2")
    index.add_items(np.array([[0, 0], [1, 0], [2, 0]], dtype=np.float32), [1, 2, 3])
    index.add_items(np.array([[9, 9]], dtype=np.float32), [2])
    assert index.knn_query(np.array([9.0, 9.0]), 1)[0][0, 0] == 2
    index.mark_deleted(1)
    assert index.knn_query(np.zeros(2), 3)[0][0].tolist() == [3, 2, -1]
    index.add_items(np.array([[0, 0.5]], dtype=np.float32), [4])
    assert index._n == 3 and index.deleted_count == 0
    labels, dist = index.knn_query(np.zeros(2), 3)
    assert labels[0].tolist() == [4, 3, 2]
    assert dist[0].tolist() == pytest.approx([0.25, 4.0, 162.0])
