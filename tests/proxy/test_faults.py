"""Cache faults never become proxy errors: the proxy answers through the upstream."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from proxy_support import ANTHROPIC_BODY, OPENAI_BODY, RunningProxy

from cacheback import SemanticCache, StorageError
from cacheback.storage import SQLiteStorage
from cacheback.testing import FakeUpstream, Fault


def _complete(answer: httpx.Response) -> bool:
    """A whole JSON answer, or a stream that reached the provider's end marker."""
    if answer.headers["content-type"].startswith("text/event-stream"):
        return answer.text.rstrip().endswith(("data: [DONE]", 'data: {"type":"message_stop"}',
                                              'data: {"type": "message_stop"}'))
    return "fake upstream's answer" in answer.text


class BrokenDisk(SQLiteStorage):
    """SQLite storage whose reads and writes fail while ``broken`` is set."""

    broken = False

    def _fail(self) -> None:
        if self.broken:
            raise StorageError("disk I/O error")

    def get_exact(self, *args: Any, **kwargs: Any) -> Any:
        self._fail()
        return super().get_exact(*args, **kwargs)

    def put(self, *args: Any, **kwargs: Any) -> int:
        self._fail()
        return super().put(*args, **kwargs)


@pytest.mark.parametrize("path, body", [("/v1/chat/completions", OPENAI_BODY),
                                        ("/v1/messages", ANTHROPIC_BODY)])
def test_failing_storage_is_a_miss_not_an_error(start_proxy: Callable[..., RunningProxy],
                                                upstream: FakeUpstream, tmp_path: Path,
                                                path: str, body: dict) -> None:
    storage = BrokenDisk(str(tmp_path / "broken.db"))
    storage.broken = True
    proxy = start_proxy(SemanticCache(storage=storage, embedder=None))
    for stream in (False, True):
        answer = proxy.post(path, {**body, "stream": stream})
        assert answer.status_code == 200
        assert answer.headers["x-cacheback"] == "miss"
        assert _complete(answer)
    assert upstream.request_count() == 2
    health = httpx.get(proxy.url + "/healthz").json()
    assert (health["status"], health["cache"]) == ("ok", "degraded")
    assert httpx.get(proxy.url + "/stats").json()["errors"]["cache_storage"] >= 1
    assert 'cacheback_proxy_errors_total{kind="cache_storage"}' in httpx.get(proxy.url + "/metrics").text


def test_storage_recovers_after_the_fault(start_proxy: Callable[..., RunningProxy],
                                          tmp_path: Path) -> None:
    storage = BrokenDisk(str(tmp_path / "flaky.db"))
    cache = SemanticCache(storage=storage, embedder=None)
    cache._breaker.base_delay = 0.01
    proxy = start_proxy(cache)
    storage.broken = True
    no_store = {"Cache-Control": "no-store"}
    assert proxy.post("/v1/chat/completions", OPENAI_BODY, **no_store).status_code == 200
    storage.broken = False
    time.sleep(0.2)
    assert proxy.post("/v1/chat/completions", OPENAI_BODY).headers["x-cacheback"] == "miss"
    proxy.wait_stored(1)
    assert proxy.post("/v1/chat/completions", OPENAI_BODY).headers["x-cacheback"] == "hit"


def test_unexpected_cache_exceptions_are_contained(proxy: RunningProxy, upstream: FakeUpstream,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("bug inside the cache")

    monkeypatch.setattr(proxy.state.cache, "get", explode)
    monkeypatch.setattr(proxy.state.cache, "put", explode)
    for stream in (False, True):
        answer = proxy.post("/v1/chat/completions", {**OPENAI_BODY, "stream": stream})
        assert answer.status_code == 200 and _complete(answer)
    assert upstream.request_count() == 2
    assert httpx.get(proxy.url + "/stats").json()["cache"]["entries"] == 0


def test_upstream_timeout_is_a_504(start_proxy: Callable[..., RunningProxy],
                                   upstream: FakeUpstream) -> None:
    proxy = start_proxy(upstream_timeout=0.3)
    upstream.inject(Fault.slow(1.0, api="anthropic"))
    answer = proxy.post("/v1/messages", ANTHROPIC_BODY)
    assert answer.status_code == 504
    assert answer.json()["error"]["type"] == "timeout_error"
    assert proxy.post("/v1/messages", ANTHROPIC_BODY).status_code == 200
