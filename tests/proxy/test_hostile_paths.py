"""Pass-through paths that could leave the upstream's base path are refused (400) before
anything is forwarded: dot segments, encoded separators and dots, double encoding."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from proxy_support import RunningProxy

from cacheback.testing import FakeUpstream

HOSTILE = [
    "/v1/x/../../../../admin",
    "/v1/./models/../../admin",
    "/v1/..%2F..%2Fadmin",
    "/v1/..%2f..%2fadmin",
    "/v1/%2e%2e/%2e%2e/admin",
    "/v1/models%5C..%5C..%5Cadmin",
    "/v1/%252e%252e/admin",
    "/v1/models/..",
    "/v1/a%00b",
]


def _raw_get(url: str, path: str) -> int:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-1\r\n"
                     "Connection: close\r\n\r\n".encode())
        status = sock.recv(4096).split(b"\r\n", 1)[0]
    return int(status.split()[1])


@pytest.mark.parametrize("path", HOSTILE)
def test_hostile_paths_are_refused_and_never_forwarded(
        start_proxy: Callable[..., RunningProxy], upstream: FakeUpstream, path: str) -> None:
    proxy = start_proxy(upstream_openai=upstream.url + "/api/openai/v1")
    assert _raw_get(proxy.url, path) == 400
    assert upstream.request_count() == 0


def test_ordinary_paths_still_pass(start_proxy: Callable[..., RunningProxy],
                                   upstream: FakeUpstream) -> None:
    proxy = start_proxy()
    assert _raw_get(proxy.url, "/v1/models?limit=2") == 501  # forwarded: the fake has no do_GET
