"""Per-request controls: Cache-Control no-cache / no-store, X-Cacheback-TTL."""

from __future__ import annotations

import time

import pytest
from proxy_support import OPENAI_BODY, RunningProxy

from cacheback.proxy._controls import ControlError, Controls, parse_controls
from cacheback.testing import FakeUpstream, Reply

CHAT = "/v1/chat/completions"


def test_parse_controls_defaults_and_directives() -> None:
    assert parse_controls({}) == Controls()
    both = parse_controls({"cache-control": "No-Cache, max-age=0, no-store",
                           "x-cacheback-ttl": "2.5", "x-cacheback-namespace": "team"})
    assert both == Controls(lookup=False, store=False, ttl=2.5, namespace="team")


@pytest.mark.parametrize("ttl", ["0", "-3", "soon", "nan", "inf"])
def test_unusable_ttl_is_rejected(ttl: str) -> None:
    with pytest.raises(ControlError, match="X-Cacheback-TTL"):
        parse_controls({"x-cacheback-ttl": ttl})


def test_no_cache_skips_the_lookup_and_refreshes_the_entry(proxy: RunningProxy,
                                                           upstream: FakeUpstream) -> None:
    answers = iter(["first answer", "fresh answer"])
    upstream.responder = lambda request: Reply(next(answers))
    proxy.post(CHAT, OPENAI_BODY)
    proxy.wait_stored(1)
    refreshed = proxy.post(CHAT, OPENAI_BODY, **{"Cache-Control": "no-cache"})
    assert refreshed.headers["x-cacheback"] == "miss"
    assert refreshed.json()["choices"][0]["message"]["content"] == "fresh answer"
    proxy.wait_stored(2)
    hit = proxy.post(CHAT, OPENAI_BODY)
    assert hit.headers["x-cacheback"] == "hit"
    assert hit.json()["choices"][0]["message"]["content"] == "fresh answer"
    assert upstream.request_count() == 2


def test_no_store_keeps_the_answer_out(proxy: RunningProxy, upstream: FakeUpstream) -> None:
    assert proxy.post(CHAT, OPENAI_BODY, **{"Cache-Control": "no-store"}
                      ).headers["x-cacheback"] == "miss"
    assert proxy.post(CHAT, OPENAI_BODY).headers["x-cacheback"] == "miss"
    proxy.wait_stored(1)
    assert proxy.post(CHAT, OPENAI_BODY, **{"Cache-Control": "no-store"}
                      ).headers["x-cacheback"] == "hit"
    assert upstream.request_count() == 2


def test_ttl_header_expires_the_entry(proxy: RunningProxy, upstream: FakeUpstream) -> None:
    proxy.post(CHAT, OPENAI_BODY, **{"X-Cacheback-TTL": "0.3"})
    proxy.wait_stored(1)
    assert proxy.post(CHAT, OPENAI_BODY).headers["x-cacheback"] == "hit"
    time.sleep(0.4)
    assert proxy.post(CHAT, OPENAI_BODY).headers["x-cacheback"] == "miss"
    assert upstream.request_count() == 2


def test_bad_ttl_header_is_a_400_in_the_provider_shape(proxy: RunningProxy,
                                                       upstream: FakeUpstream) -> None:
    answer = proxy.post("/v1/messages", {"model": "claude-3-5-haiku-latest", "max_tokens": 5,
                                         "messages": [{"role": "user", "content": "hi"}]},
                        **{"X-Cacheback-TTL": "forever"})
    assert answer.status_code == 400
    assert answer.json()["type"] == "error"
    assert answer.json()["error"]["type"] == "invalid_request_error"
    assert upstream.request_count() == 0


def test_control_headers_are_not_sent_upstream(proxy: RunningProxy, upstream: FakeUpstream) -> None:
    proxy.post(CHAT, OPENAI_BODY, **{"X-Cacheback-TTL": "60", "X-Cacheback-Namespace": "n1"})
    seen = upstream.requests[0].headers
    assert not any(name.startswith("x-cacheback") for name in seen)
    assert seen["authorization"] == "<redacted>"
