"""The PII scanner failing (a bug, a broken NER model): the request fails closed, meaning it
bypasses the cache and nothing is stored, while the app still gets its answer."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from cacheback import SemanticCache
from cacheback.openai import CachedOpenAI
from cacheback.pii import Finding, Scanner
from cacheback.testing import FakeUpstream


class _BrokenScanner(Scanner):
    def scan(self, text: str, names: bool = True) -> list[Finding]:
        raise MemoryError("model exploded")


def test_a_failing_scanner_bypasses_and_stores_nothing(tmp_path: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    with FakeUpstream() as upstream, SemanticCache(tmp_path / "c.db", embedder=None,
                                                   pii_scanner=_BrokenScanner()) as cache:
        client = CachedOpenAI(api_key="k", base_url=upstream.openai_base_url, cache=cache)
        with caplog.at_level(logging.WARNING, logger="cacheback"):
            for _ in range(2):
                result = client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": "What is 2+2?"}])
                assert result.choices[0].message.content
                assert result.cacheback.tier == "bypass"
        client.close()
        assert upstream.request_count() == 2
        stats = cache.stats()
        assert stats["entries"] == 0 and stats["counters"]["errors.pii"] == 2
        assert cache.put("What is 2+2?", "4") is None and cache.get("What is 2+2?") is None
    assert any("PII scan failed" in r.getMessage() for r in caplog.records)
