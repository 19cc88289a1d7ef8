"""Tenants: two API keys never see each other's entries, and no key reaches the disk."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from proxy_support import ANTHROPIC_BODY, OPENAI_BODY, RunningProxy

from cacheback.testing import FakeUpstream

KEY_A = "sk-proj-AAAAaaaa1111secretkeyA"
KEY_B = "sk-proj-BBBBbbbb2222secretkeyB"


@pytest.mark.parametrize("path, body", [("/v1/chat/completions", OPENAI_BODY),
                                        ("/v1/messages", ANTHROPIC_BODY)])
def test_two_keys_never_share_entries(proxy: RunningProxy, upstream: FakeUpstream,
                                      path: str, body: dict) -> None:
    assert proxy.post(path, body, key=KEY_A).headers["x-cacheback"] == "miss"
    proxy.wait_stored(1)
    assert proxy.post(path, body, key=KEY_B).headers["x-cacheback"] == "miss"
    proxy.wait_stored(2)
    assert proxy.post(path, body, key=KEY_A).headers["x-cacheback"] == "hit"
    assert proxy.post(path, body, key=KEY_B).headers["x-cacheback"] == "hit"
    assert upstream.request_count() == 2


def test_namespace_header_stays_inside_the_key_by_default(proxy: RunningProxy) -> None:
    team = {"X-Cacheback-Namespace": "team-1"}
    proxy.post("/v1/chat/completions", OPENAI_BODY, key=KEY_A, **team)
    proxy.wait_stored(1)
    assert proxy.post("/v1/chat/completions", OPENAI_BODY, key=KEY_B, **team
                      ).headers["x-cacheback"] == "miss"
    assert proxy.post("/v1/chat/completions", OPENAI_BODY, key=KEY_A
                      ).headers["x-cacheback"] == "miss"
    assert proxy.post("/v1/chat/completions", OPENAI_BODY, key=KEY_A, **team
                      ).headers["x-cacheback"] == "hit"


def test_header_mode_lets_the_operator_share_a_namespace(
        start_proxy: Callable[..., RunningProxy]) -> None:
    proxy = start_proxy(namespace_by="header")
    shared = {"X-Cacheback-Namespace": "support-bot"}
    proxy.post("/v1/chat/completions", OPENAI_BODY, key=KEY_A, **shared)
    proxy.wait_stored(1)
    assert proxy.post("/v1/chat/completions", OPENAI_BODY, key=KEY_B, **shared
                      ).headers["x-cacheback"] == "hit"
    assert proxy.post("/v1/chat/completions", OPENAI_BODY, key=KEY_B
                      ).headers["x-cacheback"] == "miss"


def test_bad_namespace_header_is_a_400(proxy: RunningProxy, upstream: FakeUpstream) -> None:
    answer = proxy.post("/v1/chat/completions", OPENAI_BODY, **{"X-Cacheback-Namespace": "a b"})
    assert answer.status_code == 400
    assert "X-Cacheback-Namespace" in answer.json()["error"]["message"]
    assert upstream.request_count() == 0


def test_no_api_key_in_the_database_or_the_logs(proxy: RunningProxy, tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for key in (KEY_A, KEY_B):
        proxy.post("/v1/chat/completions", OPENAI_BODY, key=key)
        proxy.post("/v1/messages", ANTHROPIC_BODY, key=key)
        proxy.post("/v1/chat/completions", {**OPENAI_BODY, "stream": True}, key=key + "s")
    proxy.wait_stored(6)
    proxy.state.cache.flush()
    files = [p for p in tmp_path.iterdir() if p.name.startswith("proxy.db")]
    assert {p.name for p in files} >= {"proxy.db", "proxy.db.salt"}
    for path in files:
        data = path.read_bytes()
        for key in (KEY_A, KEY_B):
            assert key.encode() not in data and key[-12:].encode() not in data, path.name
    assert all(KEY_A not in r.getMessage() and KEY_B not in r.getMessage() for r in caplog.records)


def test_salt_file_is_private_and_reused(proxy: RunningProxy, tmp_path: Path,
                                         start_proxy: Callable[..., RunningProxy]) -> None:
    salt = tmp_path / "proxy.db.salt"
    assert salt.stat().st_mode & 0o777 == 0o600
    proxy.post("/v1/chat/completions", OPENAI_BODY, key=KEY_A)
    proxy.wait_stored(1)
    proxy.stop()
    again = start_proxy()
    assert again.post("/v1/chat/completions", OPENAI_BODY, key=KEY_A
                      ).headers["x-cacheback"] == "hit"
