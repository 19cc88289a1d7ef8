"""Faults behind the proxy: the HTTP caller gets the upstream's answer, and ``/metrics`` shows
the fault (``cacheback_proxy_errors_total``: the cache's own counters, mirrored)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import starlette.testclient as testclient

import cacheback.proxy as proxy
import cacheback.testing as testing

from .harness import FaultHarness, upstream_answer
from .mounts import Tmpfs


@pytest.fixture
def upstream() -> Iterator[Any]:
    with testing.FakeUpstream(lambda request: upstream_answer(request.last_user_text)) as server:
        yield server


def _metric(client: Any, family: str, **labels: str) -> float:
    """One sample of ``family`` from ``/metrics`` (Prometheus text), 0 when absent."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in client.get("/metrics").text.splitlines():
        match = re.match(rf"{family}\{{(.*)\}} (\S+)$", line)
        if match and ",".join(sorted(match.group(1).split(","))) == wanted:
            return float(match.group(2))
    return 0.0


def _ask(client: Any, question: str) -> None:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": question}]}
    answer = client.post("/v1/chat/completions", json=body, headers={"authorization": "Bearer sk-t"})
    assert answer.status_code == 200
    assert answer.json()["choices"][0]["message"]["content"] == upstream_answer(question)


def test_disk_full_behind_the_proxy(harness: FaultHarness, tmpfs: Tmpfs, upstream: Any) -> None:
    cache = harness.open(tmpfs.path / "cache.db")
    config = proxy.ProxyConfig(upstream_openai=upstream.openai_base_url, semantic=False)
    with testclient.TestClient(proxy.create_app(config, cache=cache)) as client:
        warm = harness.questions(2)
        for question in warm * 2:
            _ask(client, question)
        assert upstream.request_count() == len(warm)
        tmpfs.fill()
        for question in harness.questions(6, "proxy"):
            _ask(client, question)
        assert _metric(client, "cacheback_proxy_errors_total", kind="cache_storage") >= 1
        for question in warm:
            _ask(client, question)
        tmpfs.free()
        harness.let_breaker_retry()
        fresh = harness.questions(1, "after")[0]
        before = upstream.request_count()
        for _ in range(3):
            _ask(client, fresh)
        assert upstream.request_count() == before + 1, "caching did not resume"


def test_model_missing_when_the_proxy_starts(tmp_path: Any, upstream: Any,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The proxy builds its own model session (one thread per run); when the model cannot load
    it starts anyway, on the exact tier, as the library's default embedder would."""
    import cacheback.embed as embed_package

    monkeypatch.setattr(embed_package, "_default", None)
    monkeypatch.setenv(embed_package.MODEL_ENV_VAR, str(tmp_path / "gone" / "model.onnx"))
    config = proxy.ProxyConfig(db=str(tmp_path / "cache.db"),
                               upstream_openai=upstream.openai_base_url)
    with testclient.TestClient(proxy.create_app(config)) as client:
        for _ in range(2):
            _ask(client, "What is the capital of Portugal?")
        assert upstream.request_count() == 1
        assert client.get("/stats").json()["cache"]["degraded"]["semantic"].startswith("off")
