"""The admin token: admin routes off without it, refused with a wrong one; per-tenant stats,
a key mapped to its namespace, one tenant's entries deleted; upstream URLs only for the admin."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from proxy_support import OPENAI_BODY, RunningProxy

from cacheback._errors import ConfigurationError
from cacheback.proxy import ProxyConfig
from cacheback.proxy.__main__ import build_parser

TOKEN = "admin-token-0123456789"
ADMIN = {"authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def admin_proxy(start_proxy: Callable[..., RunningProxy]) -> RunningProxy:
    return start_proxy(admin_token=TOKEN)


def test_admin_routes_are_off_without_a_token(proxy: RunningProxy) -> None:
    assert httpx.get(proxy.url + "/admin/tenants", headers=ADMIN).status_code == 404
    stats = httpx.get(proxy.url + "/stats").json()
    assert "upstream_openai" not in stats["config"] and "path" not in stats["cache"]


@pytest.mark.parametrize("headers", [{}, {"authorization": "Bearer wrong-token-0123456789"},
                                     {"x-cacheback-admin-token": TOKEN + "x"}, {"authorization": TOKEN}])
def test_a_missing_or_wrong_token_is_refused(admin_proxy: RunningProxy, headers: dict[str, str]) -> None:
    for method, path in [("GET", "/admin/tenants"), ("POST", "/admin/namespace"),
                         ("DELETE", "/admin/namespaces/key:abc")]:
        answer = httpx.request(method, admin_proxy.url + path, headers=headers, json={"api_key": "k"})
        assert answer.status_code == 401, (method, path)
    stats = httpx.get(admin_proxy.url + "/stats", headers=headers).json()
    assert "upstream_openai" not in stats["config"] and "upstream_anthropic" not in stats["config"]
    assert "127.0.0.1" not in httpx.get(admin_proxy.url + "/metrics", headers=headers).text


def test_the_admin_sees_upstreams_and_per_tenant_stats(admin_proxy: RunningProxy) -> None:
    for key in ("sk-tenant-a", "sk-tenant-a", "sk-tenant-b"):
        admin_proxy.post("/v1/chat/completions", OPENAI_BODY, key=key)
        admin_proxy.wait_stored(1)
    stats = httpx.get(admin_proxy.url + "/stats",
                      headers={"x-cacheback-admin-token": TOKEN}).json()
    assert stats["config"]["upstream_openai"] == admin_proxy.config.upstream_openai
    ns_a = httpx.post(admin_proxy.url + "/admin/namespace", headers=ADMIN,
                      json={"api_key": "sk-tenant-a"}).json()["namespace"]
    ns_b = httpx.post(admin_proxy.url + "/admin/namespace", headers=ADMIN,
                      json={"api_key": "sk-tenant-b"}).json()["namespace"]
    assert ns_a == admin_proxy.state.tenants.namespace("sk-tenant-a", None) and ns_a != ns_b
    answer = httpx.get(admin_proxy.url + "/admin/tenants", headers=ADMIN)
    assert "sk-tenant" not in answer.text
    rows = {row["namespace"]: row for row in answer.json()["tenants"]}
    assert rows[ns_a]["requests"] == 2 and rows[ns_a]["hits"] == 1 and rows[ns_a]["hit_rate"] == 0.5
    assert rows[ns_b]["requests"] == 1 and rows[ns_b]["hits"] == 0


def test_deleting_a_tenant_removes_only_its_entries(admin_proxy: RunningProxy) -> None:
    admin_proxy.post("/v1/chat/completions", OPENAI_BODY, key="sk-tenant-a")
    admin_proxy.post("/v1/chat/completions", OPENAI_BODY, key="sk-tenant-b")
    admin_proxy.wait_stored(2)
    ns_a = httpx.post(admin_proxy.url + "/admin/namespace", headers=ADMIN,
                      json={"api_key": "sk-tenant-a"}).json()["namespace"]
    answer = httpx.delete(f"{admin_proxy.url}/admin/namespaces/{ns_a}", headers=ADMIN)
    assert answer.status_code == 200 and answer.json()["removed"] == 1
    again_a = admin_proxy.post("/v1/chat/completions", OPENAI_BODY, key="sk-tenant-a")
    again_b = admin_proxy.post("/v1/chat/completions", OPENAI_BODY, key="sk-tenant-b")
    assert again_a.headers["x-cacheback"] == "miss" and again_b.headers["x-cacheback"] == "hit"


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"api_key": ""}', b'{"api_key": 5}',
                                  b'{"api_key": "k", "namespace": "bad name!"}'])
def test_bad_namespace_requests_are_400(admin_proxy: RunningProxy, body: bytes) -> None:
    answer = httpx.post(admin_proxy.url + "/admin/namespace", headers=ADMIN, content=body)
    assert answer.status_code == 400 and answer.json()["error"]["type"] == "admin_error"


def test_the_token_comes_from_flag_or_environment() -> None:
    assert ProxyConfig.from_env({"CACHEBACK_ADMIN_TOKEN": TOKEN}).admin_token == TOKEN
    assert ProxyConfig.from_env({"CACHEBACK_PROXY_ADMIN_TOKEN": TOKEN}).admin_token == TOKEN
    args = build_parser().parse_args(["--admin-token", TOKEN])
    assert ProxyConfig.from_env({}, **vars(args)).admin_token == TOKEN
    assert TOKEN not in repr(ProxyConfig(admin_token=TOKEN))
    with pytest.raises(ConfigurationError, match="16 characters"):
        ProxyConfig(admin_token="short")
