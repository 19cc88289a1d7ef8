"""Shared fixtures: one real embedder for the whole run, the dev data location, and a fake
upstream serving both APIs on 127.0.0.1 (tests with scripted answers override it)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cacheback.embed import OnnxMiniLMEmbedder, default_embedder
from cacheback.testing import FakeUpstream, LocalPostgres
from cacheback.testing._postgres import session_server

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CACHEBACK_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def embedder() -> OnnxMiniLMEmbedder:
    return default_embedder()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("the shared dev data is not present")
    return SHARED_DATA


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


@pytest.fixture(scope="session")
def pg_server() -> Iterator[LocalPostgres]:
    """One real PostgreSQL + pgvector server for the session; each test takes a fresh schema."""
    yield from session_server()


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest) -> str:
    """A fresh, empty database location on each backend: ':memory:' or a new PostgreSQL schema."""
    if request.param == "sqlite":
        return ":memory:"
    return request.getfixturevalue("pg_server").url()


@pytest.fixture(params=["sqlite", "postgres"])
def db_file(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database that several caches can open: a file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        return str(tmp_path / "cache.db")
    return request.getfixturevalue("pg_server").url()
