"""The saved ANN index file: corrupt, truncated, missing, stale or foreign, and a process killed
while saving it. Loading either returns exactly an index that was saved or raises
IndexFileError (the cache then rebuilds from SQLite); never a partial index, never another error.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import cacheback.ann as ann
from cacheback import IndexFileError

from . import damage

DIM = 384


def _index(n: int, seed: int, version: int, kind: str = "HNSWIndex") -> object:
    """An index of ``n`` random unit vectors; HNSW (graph arrays in the file too) when small,
    brute force (same file format, built instantly) for the large ones."""
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = getattr(ann, kind)(DIM, space="cosine")
    index.add_items(vectors, np.arange(1, n + 1, dtype=np.int64))
    index.meta = {"data_version": version}
    return index


def _same(a: object, b: object) -> bool:
    probe = np.random.default_rng(9).standard_normal((5, DIM)).astype(np.float32)
    labels_a, dist_a = a.knn_query(probe, k=5)  # type: ignore[attr-defined]
    labels_b, dist_b = b.knn_query(probe, k=5)  # type: ignore[attr-defined]
    same_items = a.meta == b.meta and len(a) == len(b)  # type: ignore[attr-defined]
    return same_items and np.array_equal(labels_a, labels_b) and np.allclose(dist_a, dist_b)


def _flip_middle(path: Path) -> None:
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.seek(size // 2)
        byte = fh.read(1)
        fh.seek(size // 2)
        fh.write(bytes([byte[0] ^ 0x40]))


@pytest.mark.parametrize(
    ("harm", "reason"),
    [
        (_flip_middle, "checksum"),
        (lambda p: damage.truncate(p, 0.7), "truncated"),
        (Path.unlink, "cannot read"),
        (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100)), "not a cacheback index"),
    ],
    ids=["corrupt", "truncated", "missing", "foreign"],
)
def test_damaged_index_file_is_refused_then_rebuilt(
    tmp_path: Path, harm: Callable[[Path], None], reason: str
) -> None:
    path = tmp_path / "cache.index"
    original = _index(40, seed=1, version=3)
    original.save(path)  # type: ignore[attr-defined]
    harm(path)
    with pytest.raises(IndexFileError, match=reason):
        ann.HNSWIndex.load(path, dim=DIM)
    rebuilt = _index(40, seed=1, version=3)  # what the cache does: rebuild from SQLite, save
    rebuilt.save(path)  # type: ignore[attr-defined]
    assert _same(ann.HNSWIndex.load(path, dim=DIM), original)


def test_stale_index_file_says_what_it_was_built_from(tmp_path: Path) -> None:
    """A stale file loads (it is intact), and its meta lets the cache see it is behind SQLite; one
    built for another model (dimension) is refused."""
    path = tmp_path / "cache.index"
    _index(40, seed=2, version=7).save(path)  # type: ignore[attr-defined]
    loaded = ann.HNSWIndex.load(path, dim=DIM)
    assert loaded.meta == {"data_version": 7}
    with pytest.raises(IndexFileError, match="dim"):
        ann.HNSWIndex.load(path, dim=DIM // 2)


@pytest.mark.slow
def test_sigkill_during_index_save(tmp_path: Path) -> None:
    """A child saves two versions in turn and is killed at random moments, 20 times: the file is
    always one complete version."""
    path = tmp_path / "cache.index"
    versions = [_index(5_000, seed=s, version=s, kind="BruteForceIndex") for s in (1, 2)]
    versions[0].save(path)  # type: ignore[attr-defined]
    rng = random.Random(11)
    for _ in range(20):
        pid = os.fork()
        if pid == 0:
            try:
                while True:
                    for version in versions:
                        version.save(path)  # type: ignore[attr-defined]
            finally:
                os._exit(0)
        time.sleep(rng.uniform(0.0, 0.05))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        loaded = ann.BruteForceIndex.load(path, dim=DIM)
        assert any(_same(loaded, v) for v in versions), "a partial index was loaded"
