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
    # more of the class: mixed case, doubled slashes, and what some servers read as dots
    "/v1/%2E%2E/admin",
    "/v1/.%2e/admin",
    "/v1/x/%2F%2F/admin",
    "/v1//..//admin",
    "/v1/x/%2e./admin",
    "/v1/models/..?x=1",
    "/v1/x/..;/admin",
    "/v1/x/.;jsessionid=1/admin",
    "/v1/%u002e%u002e/admin",
    "/v1/%C0%AE%C0%AE/admin",
    "/v1/x/%EF%BC%8E%EF%BC%8E/admin",
    "/v1/x/%E2%80%A5/admin",
    "/v1/x%EF%BC%8Fadmin",
]


_AUTH = {"openai": "Authorization: Bearer sk-1", "anthropic": "x-api-key: sk-1"}


def _raw_get(url: str, path: str, method: str = "GET", api: str = "openai") -> int:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\n{_AUTH[api]}\r\n"
                     "Content-Length: 0\r\nConnection: close\r\n\r\n".encode())
        status = sock.recv(4096).split(b"\r\n", 1)[0]
    return int(status.split()[1])


@pytest.mark.parametrize("path", HOSTILE)
def test_hostile_paths_are_refused_and_never_forwarded(
        start_proxy: Callable[..., RunningProxy], upstream: FakeUpstream, path: str) -> None:
    proxy = start_proxy(upstream_openai=upstream.url + "/api/openai/v1")
    assert _raw_get(proxy.url, path) == 400
    assert upstream.request_count() == 0


@pytest.mark.parametrize(("method", "api"), [("POST", "openai"), ("DELETE", "anthropic"),
                                             ("POST", "anthropic")])
def test_hostile_paths_are_refused_for_every_method_and_api(
        start_proxy: Callable[..., RunningProxy], upstream: FakeUpstream, method: str,
        api: str) -> None:
    proxy = start_proxy(upstream_openai=upstream.url + "/api/openai/v1",
                        upstream_anthropic=upstream.url + "/api/anthropic")
    for path in HOSTILE:
        assert _raw_get(proxy.url, path.replace("/v1/", "/v1/files/", 1), method, api) == 400, path
    assert upstream.request_count() == 0


def test_ordinary_paths_still_pass(start_proxy: Callable[..., RunningProxy],
                                   upstream: FakeUpstream) -> None:
    proxy = start_proxy()
    assert _raw_get(proxy.url, "/v1/models?limit=2") == 501  # forwarded: the fake has no do_GET
