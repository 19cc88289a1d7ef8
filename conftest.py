"""Every test run gets a private home: ``HOME``, ``XDG_CACHE_HOME`` and ``CACHEBACK_HOME`` point
into a temporary directory, so a cache built without a path (and anything else that writes
under the home directory) never touches the real one. The session fails if the real
``~/.cache/cacheback`` changed anyway."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

_REAL_CACHE = Path.home() / ".cache" / "cacheback"


def _snapshot(folder: Path) -> dict[str, float]:
    if not folder.is_dir():
        return {}
    return {str(p): p.stat().st_mtime for p in folder.rglob("*") if p.exists()}


@pytest.fixture(scope="session", autouse=True)
def private_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    before = _snapshot(_REAL_CACHE)
    home = tmp_path_factory.mktemp("home")
    saved = {k: os.environ.get(k) for k in ("HOME", "XDG_CACHE_HOME", "CACHEBACK_HOME")}
    os.environ.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"),
                      CACHEBACK_HOME=str(home / "cacheback"))
    try:
        yield home
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        assert _snapshot(_REAL_CACHE) == before, f"the tests wrote under {_REAL_CACHE}"
