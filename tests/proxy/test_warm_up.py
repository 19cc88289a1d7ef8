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
