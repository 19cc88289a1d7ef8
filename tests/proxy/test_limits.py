"""Request limits: a body over --max-body is a 413 (declared or streamed), relayed responses
carry one Date and one Server header, and the limits reach uvicorn."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from proxy_support import OPENAI_BODY, RunningProxy

from cacheback.proxy import ProxyConfig
from cacheback.proxy._serve import _limits
from cacheback.testing import FakeUpstream


def test_a_declared_body_over_the_limit_is_413(start_proxy: Callable[..., RunningProxy],
                                                upstream: FakeUpstream) -> None:
    proxy = start_proxy(max_body=1000)
    reply = httpx.post(proxy.url + "/v1/chat/completions", content=b"x" * 5000,
                       headers={"authorization": "Bearer sk-1"})
    assert reply.status_code == 413 and "--max-body" in reply.json()["error"]["message"]
    assert upstream.request_count() == 0


def test_a_streamed_body_over_the_limit_is_413(start_proxy: Callable[..., RunningProxy],
                                                upstream: FakeUpstream) -> None:
    proxy = start_proxy(max_body=1000)

    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"y" * 500

    reply = httpx.post(proxy.url + "/v1/files", content=chunks(),
                       headers={"authorization": "Bearer sk-1"})
    assert reply.status_code == 413
    assert upstream.request_count() == 0


def test_bodies_under_the_limit_work(start_proxy: Callable[..., RunningProxy]) -> None:
    proxy = start_proxy(max_body=100_000)
    assert proxy.post("/v1/chat/completions", OPENAI_BODY).status_code == 200


def test_relayed_responses_have_one_date_and_one_server(proxy: RunningProxy) -> None:
    reply = proxy.post("/v1/chat/completions", OPENAI_BODY)
    raw = reply.headers.raw
    assert sum(1 for k, _ in raw if k.lower() == b"date") == 1
    assert sum(1 for k, _ in raw if k.lower() == b"server") <= 1


@pytest.mark.parametrize("bad", [{"max_body": 0}, {"max_connections": 0}, {"keep_alive": 0.0}])
def test_limits_are_validated_and_passed_to_uvicorn(bad: dict[str, float]) -> None:
    from cacheback import ConfigurationError
    with pytest.raises(ConfigurationError):
        ProxyConfig(**bad)  # type: ignore[arg-type]
    assert _limits(ProxyConfig(max_connections=7, keep_alive=2.5)) == {
        "limit_concurrency": 7, "timeout_keep_alive": 2.5}
