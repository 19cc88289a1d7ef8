"""Fixtures shared by every scenario: the harness, a real tmpfs, and the real embedder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cacheback.embed import OnnxMiniLMEmbedder, default_embedder
from cacheback.testing import LocalPostgres
from cacheback.testing._postgres import session_server

from .harness import FaultHarness
from .mounts import Tmpfs


@pytest.fixture
def harness(caplog: pytest.LogCaptureFixture) -> Iterator[FaultHarness]:
    h = FaultHarness(caplog)
    try:
        yield h
    finally:
        h.close()


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Tmpfs]:
    """A 1 MiB tmpfs, unmounted at teardown; skips where mounting is not allowed."""
    fs = Tmpfs(tmp_path / "mnt")
    if not fs.mount():
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield fs
    finally:
        fs.unmount()


@pytest.fixture(scope="session")
def embedder() -> OnnxMiniLMEmbedder:
    return default_embedder()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[LocalPostgres]:
    """A real PostgreSQL + pgvector server that tests here may kill and restart."""
    yield from session_server()
