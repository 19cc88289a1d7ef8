"""Embeddings through ``CachedOpenAI`` when the disk fills up or the database file is garbage:
every call still gets the upstream's vectors, in order; stored ones keep being served."""

from __future__ import annotations

import time
from pathlib import Path

from cacheback import SemanticCache
from cacheback._breaker import CircuitBreaker
from cacheback.openai import CachedOpenAI
from cacheback.testing import FakeUpstream

from .mounts import Tmpfs

MODEL = "text-embedding-3-small"


def test_disk_full_while_storing_a_batch(tmpfs: Tmpfs) -> None:
    breaker = CircuitBreaker(base_delay=0.01, max_delay=0.05)
    with FakeUpstream() as upstream, SemanticCache(tmpfs.path / "cache.db", embedder=None,
                                                   breaker=breaker) as cache:
        client = CachedOpenAI(api_key="k", base_url=upstream.openai_base_url, cache=cache)
        warm = client.embeddings.create(model=MODEL, input=["w1", "w2"])
        tmpfs.fill()
        fresh = [f"new text {i}" for i in range(40)]  # 40 x 8 kB: more than any slack left
        got = client.embeddings.create(model=MODEL, input=["w1", *fresh, "w2"])
        assert len(got.data) == 42 and [d.index for d in got.data] == list(range(42))
        assert got.data[0].embedding == warm.data[0].embedding  # from the cache or upstream
        assert got.data[41].embedding == warm.data[1].embedding
        again = client.embeddings.create(model=MODEL, input=fresh)
        assert again.cacheback.upstream_inputs > 0  # the full disk kept (some) out
        tmpfs.free()
        time.sleep(0.1)  # the storage breaker's backoff
        client.embeddings.create(model=MODEL, input=fresh)
        assert client.embeddings.create(model=MODEL, input=fresh).cacheback_hit
        client.close()


def test_garbage_database_file(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    path.write_bytes(b"this is not a database" * 512)
    with FakeUpstream() as upstream:
        client = CachedOpenAI(api_key="k", base_url=upstream.openai_base_url, cache=str(path))
        first = client.embeddings.create(model=MODEL, input=["a", "b"])
        second = client.embeddings.create(model=MODEL, input=["b", "a"])
        assert second.data[0].embedding == first.data[1].embedding
        client.close()
