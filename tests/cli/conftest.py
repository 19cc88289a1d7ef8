"""A small on-disk cache with priced responses, hits and two namespaces, for the CLI tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from cacheback import SemanticCache
from cacheback.embed import Embedder

USAGE = {"prompt_tokens": 1000, "completion_tokens": 100}


@pytest.fixture
def usage() -> dict[str, int]:
    """The token usage recorded in every priced payload of ``filled_db``."""
    return dict(USAGE)


@pytest.fixture
def filled_db(tmp_path: Path, embedder: Embedder) -> Path:
    """3 entries in ``default`` (one hit twice), 1 in ``billing`` with a scope."""
    path = tmp_path / "cache.db"
    with SemanticCache(path, embedder=embedder) as cache:
        for i, topic in enumerate(("my card", "my PIN", "my account")):
            cache.put(f"How do I unlock {topic}?", f"Answer {i}",
                      payload={"model": "gpt-4o", "usage": USAGE})
        cache.put("Why was I charged twice?", "Duplicate charges drop off.",
                  namespace="billing", scope={"model": "gpt-4o"}, metadata={"source": "test"})
        assert cache.get("How do I unlock my card?") is not None
        assert cache.get("how do i unlock my card") is not None
    return path
