"""Start-up loads what the first requests would otherwise wait for."""

from __future__ import annotations

from pathlib import Path

import pytest

import cacheback.pii._names as names
from cacheback import SemanticCache
from cacheback.embed import Embedder
from cacheback.proxy import ProxyConfig
from cacheback.proxy._state import ProxyState


def test_stored_vectors_are_indexed_before_the_first_request(tmp_path: Path,
                                                             embedder: Embedder) -> None:
    db = str(tmp_path / "c.db")
    with SemanticCache(db, embedder=embedder) as cache:
        ids = [cache.put(f"How do I reset the password of account {i}?", "Settings.",
                         namespace=f"key:{i}") for i in range(3)]
    state = ProxyState.open(ProxyConfig(db=db, pii="off"))
    try:
        assert sorted(state.cache._vectors._index.ids().tolist()) == sorted(ids)
    finally:
        state.cache.close()


def test_the_name_model_loads_at_start_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[object] = []
    load = names._load

    def spy() -> object:
        loads.append(load())
        return loads[-1]

    monkeypatch.setattr(names, "_load", spy)
    state = ProxyState.open(ProxyConfig(db=str(tmp_path / "c.db"), semantic=False))
    try:
        assert loads, "the name model was not loaded at start-up"
    finally:
        state.cache.close()
    monkeypatch.setattr(names, "_load", spy)
    loads.clear()
    state = ProxyState.open(ProxyConfig(db=str(tmp_path / "c.db"), semantic=False, pii="off"))
    state.cache.close()
    assert not loads


def test_load_index_leaves_nothing_for_the_first_lookup(tmp_path: Path, embedder: Embedder,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    db = str(tmp_path / "c.db")
    with SemanticCache(db, embedder=embedder) as cache:
        entry = cache.put("How do I reset my password?", "Settings.")
    with SemanticCache(db, embedder=embedder) as cache:
        prepared: list[bool] = []
        prepare = cache._vectors.prepare
        monkeypatch.setattr(cache._vectors, "prepare", lambda: prepared.append(True) or prepare())
        cache.load_index()
        assert prepared == [True] and entry in cache._vectors
        read: list[int] = []
        vectors_after = cache.storage.vectors_after

        def spy(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
            for batch in vectors_after(*args, **kwargs):
                read.extend(batch.ids.tolist())
                yield batch

        monkeypatch.setattr(cache.storage, "vectors_after", spy)
        assert cache.get("How can I reset my password?").entry_id == entry
        assert read == []
