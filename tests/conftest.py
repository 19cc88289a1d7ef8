"""Shared fixtures: one real embedder for the whole run, the dev data location, and a fake
upstream serving both APIs on 127.0.0.1 (tests with scripted answers override it)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cacheback.embed import OnnxMiniLMEmbedder, default_embedder
from cacheback.testing import FakeUpstream

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
