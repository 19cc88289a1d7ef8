"""The clients' cache rules apply unchanged behind the proxy."""

from __future__ import annotations

import httpx
from proxy_support import ANTHROPIC_BODY, OPENAI_BODY, RunningProxy

from cacheback.testing import FakeUpstream, Reply


def test_uncacheable_requests_bypass_with_a_reason(proxy: RunningProxy, upstream: FakeUpstream) -> None:
    for _ in range(2):
        answer = proxy.post("/v1/chat/completions", {**OPENAI_BODY, "n": 2})
        assert answer.status_code == 200 and len(answer.json()["choices"]) == 2
        assert answer.headers["x-cacheback"] == "bypass"
        assert answer.headers["x-cacheback-reason"] == "n > 1 asks for several different answers"
    assert upstream.request_count() == 2 and proxy.stored() == 0


def test_truncated_answers_are_not_stored(proxy: RunningProxy, upstream: FakeUpstream) -> None:
    upstream.responder = lambda request: Reply("a long answer " * 20)
    body = {**ANTHROPIC_BODY, "max_tokens": 5}
    for stream in (False, True, False):
        assert proxy.post("/v1/messages", {**body, "stream": stream}
                          ).headers["x-cacheback"] == "miss"
    assert upstream.request_count() == 3 and proxy.stored() == 0


def test_a_body_that_is_not_json_goes_upstream_untouched(proxy: RunningProxy,
                                                         upstream: FakeUpstream) -> None:
    answer = httpx.post(proxy.url + "/v1/chat/completions", content=b"{not json",
                        headers={"authorization": "Bearer sk-x", "content-type": "application/json"})
    assert answer.status_code == 400
    assert answer.headers["x-cacheback"] == "bypass"
    assert "invalid JSON body" in answer.json()["error"]["message"]
