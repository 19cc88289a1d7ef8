"""Shared fixtures: one real embedder for the whole run, and the dev data location."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cacheback.embed import OnnxMiniLMEmbedder, default_embedder

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
