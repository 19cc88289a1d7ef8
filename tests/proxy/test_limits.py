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


_RELAYED = [
    ("/v1/chat/completions", {}),
    ("/v1/chat/completions", {"stream": True}),
    ("/v1/messages", {"max_tokens": 50}),
    ("/v1/messages", {"max_tokens": 50, "stream": True}),
    ("/v1/responses", {"input": "What is SSE?"}),
    ("/v1/responses", {"input": "What is SSE?", "stream": True}),
    ("/v1/embeddings", {"input": "What is SSE?", "model": "text-embedding-3-small"}),
    ("/v1/chat/completions", {"messages": "not a list"}),
]


@pytest.mark.parametrize(("path", "extra"), _RELAYED)
def test_relayed_responses_have_one_date_and_one_server(proxy: RunningProxy, path: str,
                                                        extra: dict[str, object]) -> None:
    for _ in range(2):  # the upstream's answer, then (when cached) the proxy's own
        reply = proxy.post(path, {**OPENAI_BODY, **extra})
        raw = reply.headers.raw
        assert sum(1 for k, _ in raw if k.lower() == b"date") == 1
        assert sum(1 for k, _ in raw if k.lower() == b"server") <= 1


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_pass_through_and_upstream_errors_have_one_date_and_one_server(
        proxy: RunningProxy, upstream: FakeUpstream, method: str) -> None:
    from cacheback.testing import Fault
    upstream.inject(Fault.http_status(503))
    replies = [httpx.request(method, proxy.url + "/v1/models", timeout=10,
                             headers={"authorization": "Bearer sk-1"}),
               proxy.post("/v1/chat/completions", OPENAI_BODY)]
    assert replies[1].status_code == 503
    for reply in replies:
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


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages", "/v1/responses",
                                  "/v1/embeddings", "/v1/audio/transcriptions", "/v1/files"])
def test_a_caller_leaving_mid_body_is_not_an_application_error(proxy: RunningProxy,
                                                                path: str) -> None:
    """Every route: a client that disconnects before its declared body is complete ends the
    request without an "Exception in ASGI application" traceback (one per dropped connection
    would let any client flood the error log)."""
    import logging
    import socket
    import time

    class Records(logging.Handler):
        def __init__(self) -> None:
            super().__init__()
            self.errors: list[logging.LogRecord] = []

        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.ERROR:
                self.errors.append(record)

    records = Records()
    logger = logging.getLogger("uvicorn.error")
    logger.addHandler(records)
    try:
        host, port = proxy.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-1\r\n"
                         "Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n".encode()
                         + b"{" * 100)
            time.sleep(0.2)
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline and not records.errors:
            time.sleep(0.05)
    finally:
        logger.removeHandler(records)
    assert not records.errors, records.errors[0].getMessage()
    assert httpx.get(proxy.url + "/healthz", timeout=5).status_code == 200
