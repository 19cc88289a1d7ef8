"""Clustered synthetic vectors and a brute-force ground truth, shared by the ANN tests."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

from cacheback.ann import BruteForceIndex, HNSWIndex


@dataclass(frozen=True)
class Clustered:
    """Vectors drawn around random centres, with queries from the same mixture."""

    vectors: np.ndarray
    ids: np.ndarray
    queries: np.ndarray


def make_clustered(n: int, dim: int, n_queries: int = 200, clusters: int = 40,
                   spread: float = 0.35, seed: int = 0) -> Clustered:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)

    def draw(count: int) -> np.ndarray:
        picks = rng.integers(0, clusters, count)
        noise = spread * rng.standard_normal((count, dim))
        return (centres[picks] + noise).astype(np.float32)

    ids = rng.permutation(10 * n)[:n].astype(np.int64) + 1
    return Clustered(draw(n), ids, draw(n_queries))


def code_tolerance(dim: int) -> float:
    """How far a cosine HNSW distance may stray from the exact float32 one: its int16 codes put
    each component of a unit vector within 0.5/32767, so a dot with a unit query within sqrt(dim)
    times that."""
    return math.sqrt(dim) * 0.5 / 32767


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean share of each true top-k row that ``found`` recovered."""
    k = truth.shape[1]
    return float(np.mean([len(set(f) & set(t)) / k for f, t in zip(found, truth)]))


@pytest.fixture(scope="session")
def clustered() -> Clustered:
    return make_clustered(5000, 64)


@pytest.fixture(scope="session")
def cosine_graph(clustered: Clustered) -> HNSWIndex:
    """One bulk-built cosine index; tests that change it work on a saved-and-loaded copy."""
    index = HNSWIndex(64, "cosine", M=16, ef_construction=100, seed=1)
    index.add_items(clustered.vectors, clustered.ids)
    return index


@pytest.fixture(scope="session")
def cosine_truth(clustered: Clustered) -> BruteForceIndex:
    index = BruteForceIndex(64, "cosine")
    index.add_items(clustered.vectors, clustered.ids)
    return index
