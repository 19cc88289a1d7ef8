"""``POST /v1/embeddings`` through the proxy: exact per input, partial batches forwarded once,
float and base64, tenants apart, the official SDK as the caller."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import numpy as np
import openai
import pytest
from proxy_support import RunningProxy

from cacheback.testing import FakeUpstream, Fault

MODEL = "text-embedding-3-small"


def sdk(proxy: RunningProxy, key: str = "sk-test-one") -> openai.OpenAI:
    return openai.OpenAI(api_key=key, base_url=proxy.url + "/v1", max_retries=0)


def data(response: Any) -> list[Any]:
    body = response.json()
    assert [d["index"] for d in body["data"]] == list(range(len(body["data"])))
    return [d["embedding"] for d in body["data"]]


def test_repeat_is_a_hit_with_identical_vectors(proxy: RunningProxy,
                                                upstream: FakeUpstream) -> None:
    body = {"model": MODEL, "input": ["alpha", "beta gamma"]}
    first = proxy.post("/v1/embeddings", body)
    again = proxy.post("/v1/embeddings", body)
    assert first.headers["x-cacheback"] == "miss" and again.headers["x-cacheback"] == "hit"
    assert again.headers["x-cacheback-cached-inputs"] == "2/2"
    assert data(again) == data(first)  # floats parse to the same float64 values
    assert again.json()["usage"] == {"prompt_tokens": 0, "total_tokens": 0}
    assert upstream.embedded("alpha") == 1
    counters = {(name, labels.get("api"), labels.get("route"), labels.get("outcome")): value
                for name, labels, value in proxy.state.metrics.snapshot()["counters"]}
    api = "openai.embeddings"
    assert counters[("cacheback_proxy_hits_total", api, None, None)] == 1
    assert counters[("cacheback_proxy_misses_total", api, None, None)] == 1
    assert counters[("cacheback_proxy_stored_total", api, None, None)] == 1
    assert counters[("cacheback_proxy_requests_total", None, "embeddings", "hit")] == 1


def test_float_and_base64_share_one_entry(proxy: RunningProxy, upstream: FakeUpstream) -> None:
    floats = data(proxy.post("/v1/embeddings", {"model": MODEL, "input": "x"}))[0]
    b64 = proxy.post("/v1/embeddings", {"model": MODEL, "input": "x", "encoding_format": "base64"})
    assert b64.headers["x-cacheback"] == "hit"
    decoded = np.frombuffer(base64.b64decode(data(b64)[0]), dtype="<f4").astype(float).tolist()
    assert decoded == floats and upstream.embedded("x") == 1
    client = sdk(proxy)
    assert client.embeddings.create(model=MODEL, input="x").data[0].embedding == floats


def test_partial_batch_is_forwarded_once_in_order(proxy: RunningProxy,
                                                  upstream: FakeUpstream) -> None:
    proxy.post("/v1/embeddings", {"model": MODEL, "input": ["b"], "encoding_format": "base64"})
    upstream.reset()
    body = {"model": MODEL, "input": ["a", "b", "c", "a"], "encoding_format": "base64"}
    got = proxy.post("/v1/embeddings", body)
    assert got.headers["x-cacheback"] == "partial"
    assert got.headers["x-cacheback-cached-inputs"] == "1/4"
    assert upstream.request_count() == 1 and upstream.requests[0].body["input"] == ["a", "c"]
    assert got.json()["usage"]["prompt_tokens"] == 2
    direct = openai.OpenAI(api_key="k", base_url=upstream.openai_base_url)
    want = [d.embedding for d in direct.embeddings.create(**body).data]
    assert data(got) == want


def test_model_dimensions_and_tenants_are_apart(proxy: RunningProxy,
                                                upstream: FakeUpstream) -> None:
    proxy.post("/v1/embeddings", {"model": MODEL, "input": "t"})
    assert proxy.post("/v1/embeddings", {"model": MODEL, "input": "t", "dimensions": 4}
                      ).headers["x-cacheback"] == "miss"
    assert proxy.post("/v1/embeddings", {"model": "text-embedding-3-large", "input": "t"}
                      ).headers["x-cacheback"] == "miss"
    assert proxy.post("/v1/embeddings", {"model": MODEL, "input": "t"}, key="sk-test-two"
                      ).headers["x-cacheback"] == "miss"
    assert proxy.post("/v1/embeddings", {"model": MODEL, "input": "t"},
                      **{"x-cacheback-namespace": "team-a"}).headers["x-cacheback"] == "miss"
    assert proxy.post("/v1/embeddings", {"model": MODEL, "input": "t", "user": "u1"}
                      ).headers["x-cacheback"] == "hit"
    assert upstream.embedded("t") == 5


def test_controls_and_unreadable_requests(proxy: RunningProxy, upstream: FakeUpstream) -> None:
    body = {"model": MODEL, "input": "c"}
    assert proxy.post("/v1/embeddings", body, **{"cache-control": "no-store"}
                      ).headers["x-cacheback"] == "miss"
    assert proxy.post("/v1/embeddings", body).headers["x-cacheback"] == "miss"
    assert proxy.post("/v1/embeddings", body, **{"cache-control": "no-cache"}
                      ).headers["x-cacheback"] == "miss"
    odd = proxy.post("/v1/embeddings", {"model": MODEL, "input": [None]})
    assert odd.status_code == 400 and odd.headers["x-cacheback"] == "bypass"
    bad = proxy.post("/v1/embeddings", body, **{"x-cacheback-ttl": "-1"})
    assert bad.status_code == 400
    assert upstream.embedded("c") == 3


def test_upstream_errors_are_relayed(proxy: RunningProxy, upstream: FakeUpstream) -> None:
    upstream.inject(Fault.http_status(429, retry_after=0))
    limited = proxy.post("/v1/embeddings", {"model": MODEL, "input": "e"})
    assert limited.status_code == 429 and limited.headers["x-cacheback"] == "error"
    assert proxy.post("/v1/embeddings", {"model": MODEL, "input": "e"}).status_code == 200
    with pytest.raises(openai.RateLimitError):
        upstream.inject(Fault.http_status(429, retry_after=0))
        sdk(proxy).embeddings.create(model=MODEL, input=["e", "f"])


def test_broken_cache_fails_open(start_proxy: Callable[..., RunningProxy],
                                 upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = start_proxy()
    proxy.post("/v1/embeddings", {"model": MODEL, "input": "m"})

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(proxy.state.cache, "get", broken)
    monkeypatch.setattr(proxy.state.cache, "put", broken)
    got = proxy.post("/v1/embeddings", {"model": MODEL, "input": "m"})
    assert got.status_code == 200 and got.headers["x-cacheback"] == "miss"
    assert len(data(got)[0]) == 1536 and upstream.embedded("m") == 2


def test_personal_data_is_answered_not_stored(proxy: RunningProxy,
                                              upstream: FakeUpstream) -> None:
    body = {"model": MODEL, "input": ["call +1 415 555 0100 now", "plain"]}
    proxy.post("/v1/embeddings", body)
    again = proxy.post("/v1/embeddings", body)
    assert again.headers["x-cacheback"] == "partial"
    assert again.headers["x-cacheback-cached-inputs"] == "1/2"
    proxy.post("/v1/embeddings", body, **{"x-cacheback-pii": "off"})
    assert proxy.post("/v1/embeddings", body).headers["x-cacheback"] == "hit"
