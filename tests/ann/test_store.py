"""Vector stores: int16 codes stay within their error bound, and blocked products match
plain float32 ones."""

from __future__ import annotations

import numpy as np
import pytest

from cacheback import IndexFileError
from cacheback.ann._store import BLOCK_ELEMENTS, Float32Store, Int8Store, Int16Store, VectorStore

from .conftest import code_tolerance


def unit_rows(n: int, dim: int, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def filled(cls: type[VectorStore], vectors: np.ndarray) -> VectorStore:
    store = cls(vectors.shape[1], len(vectors))
    store.write(np.arange(len(vectors)), vectors)
    return store


def test_int16_codes_stay_within_half_a_step() -> None:
    vectors = unit_rows(500, 48)
    vectors[0] = 0.0
    vectors[1] = np.eye(48, dtype=np.float32)[3]
    store = filled(Int16Store, vectors)
    decoded = store.rows(np.arange(500))
    assert decoded.dtype == np.float32
    assert np.abs(decoded - vectors).max() <= 0.5 / 32767 + 1e-7  # + float32 rounding
    assert not decoded[0].any() and decoded[1, 3] == 1.0


def test_int16_similarities_are_within_1e_3_of_float32() -> None:
    vectors, queries = unit_rows(2000, 384), unit_rows(50, 384, seed=1)
    store = filled(Int16Store, vectors)
    exact = vectors @ queries.T
    for j, query in enumerate(queries):
        error = np.abs(store.scan(query, 2000) - exact[:, j]).max()
        assert error <= code_tolerance(384) < 1e-3


@pytest.mark.parametrize("cls", [Float32Store, Int16Store, Int8Store])
def test_blocked_products_match_one_product(cls: type[VectorStore]) -> None:
    dim = 64
    n = 3 * (BLOCK_ELEMENTS // dim) + 5
    vectors, query = unit_rows(n, dim), unit_rows(1, dim, seed=2)[0]
    store = filled(cls, vectors)
    whole = store.rows(np.arange(n)) @ query
    assert np.allclose(store.scan(query, n), whole, atol=1e-6)
    slots = np.random.default_rng(3).permutation(n)
    assert np.allclose(store.dots(slots, query), whole[slots], atol=1e-6)
    assert np.allclose(store.scan(query, 7), whole[:7], atol=1e-6)
    assert np.array_equal(store.range_rows(10, 20), store.rows(np.arange(10, 20)))


def test_float32_store_is_exact() -> None:
    vectors = unit_rows(100, 16) * 1000.0
    store = filled(Float32Store, vectors)
    assert np.array_equal(store.rows(np.arange(100)), vectors)


@pytest.mark.parametrize("cls", [Float32Store, Int16Store, Int8Store])
def test_resize_keeps_rows_and_arrays_round_trip(cls: type[VectorStore]) -> None:
    vectors = unit_rows(40, 8)
    store = filled(cls, vectors)
    before = store.rows(np.arange(40))
    store.resize(100, 40)
    assert store.capacity == 100 and np.array_equal(store.rows(np.arange(40)), before)
    loaded = cls.from_arrays(8, store.arrays(40), 40, 64)
    assert loaded.capacity == 64 and np.array_equal(loaded.rows(np.arange(40)), before)


def test_int16_store_takes_half_the_memory() -> None:
    assert Int16Store(384, 1000).nbytes * 2 == Float32Store(384, 1000).nbytes


def test_int8_store_takes_a_quarter_of_the_memory_plus_a_scale_per_row() -> None:
    assert Int8Store(384, 1000).nbytes == 384 * 1000 + 4 * 1000


def test_int8_codes_stay_within_half_a_step_of_each_row() -> None:
    vectors = unit_rows(500, 48)
    vectors[0] = 0.0
    vectors[1] = np.eye(48, dtype=np.float32)[3]
    decoded = filled(Int8Store, vectors).rows(np.arange(500))
    step = np.abs(vectors).max(axis=1, keepdims=True) / 127
    assert decoded.dtype == np.float32
    assert (np.abs(decoded - vectors) <= 0.5 * step + 1e-7).all()
    assert not decoded[0].any() and decoded[1, 3] == 1.0


def test_int8_similarities_are_within_their_bound_and_keep_the_top_ten() -> None:
    vectors, queries = unit_rows(2000, 384), unit_rows(50, 384, seed=1)
    store = filled(Int8Store, vectors)
    exact = vectors @ queries.T
    step = np.abs(vectors).max(axis=1) * 0.5 / 127
    bound = step[:, None] * np.abs(queries).sum(axis=1)[None, :]
    approx = np.stack([store.scan(q, 2000) for q in queries], axis=1)
    assert (np.abs(approx - exact) <= bound + 1e-6).all()
    kept = [len(set(np.argsort(-approx[:, j])[:10]) & set(np.argsort(-exact[:, j])[:10]))
            for j in range(50)]
    assert np.mean(kept) >= 9.5


def test_int8_scales_missing_from_a_file_are_refused() -> None:
    arrays = filled(Int8Store, unit_rows(5, 8)).arrays(5)
    del arrays["codes8_scales"]
    with pytest.raises(IndexFileError, match="scales"):
        Int8Store.from_arrays(8, arrays, 5, 5)


@pytest.mark.parametrize(("arrays", "n"), [
    ({}, 5),
    ({"codes": np.zeros((5, 8), dtype=np.int32)}, 5),
    ({"codes": np.zeros((4, 8), dtype=np.int16)}, 5),
    ({"codes": np.zeros((5, 9), dtype=np.int16)}, 5),
], ids=["missing", "dtype", "rows", "width"])
def test_malformed_arrays_are_refused(arrays: dict[str, np.ndarray], n: int) -> None:
    with pytest.raises(IndexFileError, match="codes"):
        Int16Store.from_arrays(8, arrays, n, n)
