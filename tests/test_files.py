"""Files and directories the cache creates are private to their owner."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from cacheback import ConfigurationError, SemanticCache
from cacheback.proxy._tenant import load_salt


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(autouse=True)
def open_umask() -> object:
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_database_wal_index_and_salt_are_0600_in_0700_dirs(tmp_path: Path, embedder: object) -> None:
    path = tmp_path / "a" / "b" / "cache.db"
    with SemanticCache(path, embedder=embedder) as cache:
        for i in range(3):
            cache.put(f"question number {i}?", f"answer {i}")
        assert cache.save_index() or True
        load_salt(str(path))
        created = [p for p in path.parent.iterdir()]
        assert {p.name for p in created} >= {"cache.db", "cache.db-wal", "cache.db.salt"}
        for p in created:
            assert _mode(p) == 0o600, (p.name, oct(_mode(p)))
    assert _mode(tmp_path / "a") == 0o700 and _mode(tmp_path / "a" / "b") == 0o700


def test_the_owner_can_widen_the_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with SemanticCache(tmp_path / "g" / "cache.db", embedder=None, file_mode=0o640) as cache:
        cache.put("q", "a")
    assert _mode(tmp_path / "g" / "cache.db") == 0o640
    assert _mode(tmp_path / "g") == 0o750
    monkeypatch.setenv("CACHEBACK_FILE_MODE", "644")
    with SemanticCache(tmp_path / "e.db", embedder=None) as cache:
        cache.put("q", "a")
    assert _mode(tmp_path / "e.db") == 0o644


def test_a_stricter_umask_still_applies(tmp_path: Path) -> None:
    os.umask(0o077)
    with SemanticCache(tmp_path / "u.db", embedder=None, file_mode=0o644) as cache:
        cache.put("q", "a")
    assert _mode(tmp_path / "u.db") == 0o600


def test_an_existing_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "mine.db"
    with SemanticCache(path, embedder=None) as cache:
        cache.put("q", "a")
    os.chmod(path, 0o640)
    with SemanticCache(path, embedder=None) as cache:
        assert cache.get("q") is not None
    assert _mode(path) == 0o640


def test_a_bad_mode_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        SemanticCache(tmp_path / "x.db", embedder=None, file_mode=0o1777)
