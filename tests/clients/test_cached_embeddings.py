"""``client.embeddings.create`` on the cached OpenAI clients, through the official SDK's types
against the fake upstream: exact per input, float and base64, partial batches, fail-open."""

from __future__ import annotations

import base64
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import openai
import pytest

from cacheback import SemanticCache
from cacheback.openai import AsyncCachedOpenAI, CachedOpenAI
from cacheback.testing import FakeUpstream, Fault

MODEL = "text-embedding-3-small"


@pytest.fixture
def cache() -> Iterator[SemanticCache]:
    with SemanticCache(":memory:", embedder=None) as cache:
        yield cache


@pytest.fixture
def client(upstream: FakeUpstream, cache: SemanticCache) -> Iterator[CachedOpenAI]:
    with CachedOpenAI(api_key="k", base_url=upstream.openai_base_url, cache=cache) as client:
        yield client


@pytest.fixture
def sdk(upstream: FakeUpstream) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(api_key="k", base_url=upstream.openai_base_url) as sdk:
        yield sdk


def vectors(response: Any) -> list[Any]:
    assert [d.index for d in response.data] == list(range(len(response.data)))
    return [d.embedding for d in response.data]


def bits(floats: list[float]) -> bytes:
    return np.asarray(floats, dtype=np.float64).tobytes()


def test_repeat_is_served_from_the_cache_with_identical_vectors(
        client: CachedOpenAI, sdk: openai.OpenAI, upstream: FakeUpstream) -> None:
    direct = sdk.embeddings.create(model=MODEL, input=["alpha beta", "gamma"])
    first = client.embeddings.create(model=MODEL, input=["alpha beta", "gamma"])
    again = client.embeddings.create(model=MODEL, input=["alpha beta", "gamma"])
    assert type(again) is type(direct) is openai.types.CreateEmbeddingResponse
    assert not first.cacheback_hit and again.cacheback_hit
    assert (again.cacheback.cached_inputs, again.cacheback.upstream_inputs) == (2, 0)
    assert [bits(v) for v in vectors(again)] == [bits(v) for v in vectors(direct)]
    assert vectors(first) == vectors(direct)
    assert again.usage.prompt_tokens == again.usage.total_tokens == 0
    assert first.usage.prompt_tokens == direct.usage.prompt_tokens == 3
    assert again.model == MODEL and again.object == "list"
    assert upstream.embedded("alpha beta") == upstream.embedded("gamma") == 2  # sdk + first


@pytest.mark.parametrize("style", ["exact", "short"])
def test_formats_are_bit_identical_to_the_upstreams_across_formats(
        client: CachedOpenAI, sdk: openai.OpenAI, upstream: FakeUpstream, style: str) -> None:
    upstream.embedding_style = style
    texts = ["one", "two"]
    want = {fmt: vectors(sdk.embeddings.create(model=MODEL, input=texts, encoding_format=fmt))
            for fmt in ("float", "base64")}
    want["default"] = vectors(sdk.embeddings.create(model=MODEL, input=texts))
    fmts = ("float", "base64", "default")
    for stored_by in fmts:  # whichever format stored it, every format reads back exactly
        client.cache.clear()
        upstream.reset()
        client.embeddings.create(model=MODEL, input=texts,
                                 **({} if stored_by == "default" else {"encoding_format": stored_by}))
        for fmt in fmts:
            got = client.embeddings.create(
                model=MODEL, input=texts, **({} if fmt == "default" else {"encoding_format": fmt}))
            assert got.cacheback_hit
            if fmt == "base64":
                assert got.data[0].embedding == want["base64"][0]
                assert got.data[1].embedding == want["base64"][1]
            elif fmt == "float" and stored_by != "float" and style == "short":
                # only a float answer shows how the upstream writes floats: from base64 the
                # floats are the float32 values (what the SDK's own base64 decoding gives)
                assert [bits(v) for v in vectors(got)] == [bits(v) for v in want["default"]]
            else:
                assert [bits(v) for v in vectors(got)] == [bits(v) for v in want[fmt]]
        assert upstream.embedded("one") == 1


def test_partial_batch_sends_only_missing_inputs_once(
        client: CachedOpenAI, sdk: openai.OpenAI, upstream: FakeUpstream) -> None:
    client.embeddings.create(model=MODEL, input=["b", "d"])
    upstream.reset()
    batch = ["a", "b", "c", "b", "d", "a"]
    got = client.embeddings.create(model=MODEL, input=batch, encoding_format="base64")
    assert upstream.request_count() == 1
    assert upstream.requests[0].body["input"] == ["a", "c"]
    assert not got.cacheback_hit and got.cacheback.partial
    assert (got.cacheback.cached_inputs, got.cacheback.upstream_inputs) == (3, 3)
    assert got.usage.prompt_tokens == 2  # only what was sent upstream
    direct = sdk.embeddings.create(model=MODEL, input=batch, encoding_format="base64")
    assert vectors(got) == vectors(direct)
    assert client.embeddings.create(model=MODEL, input=batch).cacheback_hit


def test_token_arrays_and_single_inputs(client: CachedOpenAI, cache: SemanticCache,
                                        sdk: openai.OpenAI, upstream: FakeUpstream) -> None:
    tokens = [[1, 2, 3], [4, 5]]
    got = client.embeddings.create(model=MODEL, input=tokens, cacheback={"pii": "off"})
    again = client.embeddings.create(model=MODEL, input=[4, 5], cacheback={"pii": "off"})
    assert again.cacheback_hit and vectors(again)[0] == vectors(got)[1]
    assert vectors(got) == vectors(sdk.embeddings.create(model=MODEL, input=tokens))
    one = client.embeddings.create(model=MODEL, input="solo")
    assert client.embeddings.create(model=MODEL, input=["solo"]).cacheback_hit
    assert upstream.requests[-1].body["input"] == "solo" and len(one.data) == 1
    # token arrays cannot be screened for personal data: not stored unless PII mode is off
    client.embeddings.create(model=MODEL, input=[[7, 8]])
    assert not client.embeddings.create(model=MODEL, input=[[7, 8]]).cacheback_hit


def test_model_dimensions_and_parameters_are_keyed_user_is_not(
        client: CachedOpenAI, upstream: FakeUpstream) -> None:
    client.embeddings.create(model=MODEL, input="x")
    small = client.embeddings.create(model=MODEL, input="x", dimensions=8)
    assert not small.cacheback_hit and len(small.data[0].embedding) == 8
    assert client.embeddings.create(model=MODEL, input="x", dimensions=8).cacheback_hit
    assert not client.embeddings.create(model="text-embedding-3-large", input="x").cacheback_hit
    assert not client.embeddings.create(model=MODEL, input="x",
                                        extra_body={"input_type": "query"}).cacheback_hit
    assert not client.embeddings.create(model=MODEL, input="x",
                                        extra_query={"v": "2"}).cacheback_hit
    assert client.embeddings.create(model=MODEL, input="x", user="someone").cacheback_hit
    assert upstream.embedded("x") == 5


def test_personal_data_is_answered_not_stored(client: CachedOpenAI,
                                              upstream: FakeUpstream) -> None:
    text = "write to jane.doe@example.com"
    client.embeddings.create(model=MODEL, input=[text, "plain"])
    again = client.embeddings.create(model=MODEL, input=[text, "plain"])
    assert again.cacheback.partial and upstream.embedded(text) == 2
    client.embeddings.create(model=MODEL, input=text, cacheback={"pii": "off"})
    assert client.embeddings.create(model=MODEL, input=text).cacheback_hit


def test_options_bypass_refresh_and_namespaces(client: CachedOpenAI, cache: SemanticCache,
                                               upstream: FakeUpstream) -> None:
    client.embeddings.create(model=MODEL, input="q")
    skipped = client.embeddings.create(model=MODEL, input="q", cacheback={"bypass": True})
    assert skipped.cacheback.tier == "bypass" and isinstance(skipped.data[0].embedding[0], float)
    assert client.embeddings.create(model=MODEL, input="q",
                                    cacheback={"refresh": True}).cacheback.tier == "miss"
    other = CachedOpenAI(api_key="k", base_url=upstream.openai_base_url, cache=cache,
                         namespace="tenant-b")
    assert not other.embeddings.create(model=MODEL, input="q").cacheback_hit
    assert upstream.embedded("q") == 4
    with pytest.raises(openai.BadRequestError):  # not cached: sent as it is, the API decides
        client.embeddings.create(model=MODEL, input="q", encoding_format="int8")
    assert upstream.requests[-1].body["encoding_format"] == "int8"


def test_entries_never_mix_with_chat(client: CachedOpenAI, cache: SemanticCache) -> None:
    client.embeddings.create(model=MODEL, input="What is SSE?")
    answer = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "What is SSE?"}])
    assert not answer.cacheback_hit
    entry = cache.get(client.embeddings._plan({"model": MODEL, "input": "What is SSE?"})[1].keys[0],
                      namespace="default", semantic=False)
    assert entry is None  # keyed by digest in its own scope, never the plain text


def test_broken_cache_fails_open(client: CachedOpenAI, cache: SemanticCache,
                                 upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch) -> None:
    client.embeddings.create(model=MODEL, input=["m", "n"])

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(cache, "get", broken)
    monkeypatch.setattr(cache, "put", broken)
    got = client.embeddings.create(model=MODEL, input=["m", "n"])
    assert not got.cacheback_hit and len(got.data) == 2 and upstream.embedded("m") == 2


def test_corrupt_entry_is_a_miss(client: CachedOpenAI, cache: SemanticCache,
                                 upstream: FakeUpstream) -> None:
    plan = client.embeddings._plan({"model": MODEL, "input": "z"})[1]
    cache.put(plan.keys[0], base64.b64encode(b"abc").decode(), scope=plan.scope, semantic=False,
              metadata={"api": "openai.embeddings"})
    got = client.embeddings.create(model=MODEL, input="z")
    assert not got.cacheback_hit and len(got.data[0].embedding) == 1536


def test_upstream_errors_are_the_sdks(client: CachedOpenAI, upstream: FakeUpstream) -> None:
    upstream.inject(Fault.http_status(400))
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model=MODEL, input="boom")
    assert not client.embeddings.create(model=MODEL, input="boom").cacheback_hit


def test_unmergeable_answer_is_asked_again_whole(client: CachedOpenAI,
                                                 upstream: FakeUpstream) -> None:
    client.embeddings.create(model=MODEL, input="kept")
    upstream.inject(Fault.http_status(200, body={"object": "list", "data": [], "model": MODEL,
                                                 "usage": {"prompt_tokens": 0,
                                                           "total_tokens": 0}}))
    got = client.embeddings.create(model=MODEL, input=["kept", "new"])
    assert got.cacheback.tier == "bypass" and len(got.data) == 2
    assert upstream.requests[-1].body["input"] == ["kept", "new"]


def test_other_attributes_are_the_sdks(client: CachedOpenAI) -> None:
    raw = client.embeddings.with_raw_response.create(model=MODEL, input="r")
    assert raw.http_request.url.path.endswith("/embeddings")
    assert raw.parse().data[0].index == 0


@pytest.mark.anyio
async def test_async_twin(upstream: FakeUpstream, cache: SemanticCache) -> None:
    async with AsyncCachedOpenAI(api_key="k", base_url=upstream.openai_base_url,
                                 cache=cache) as client:
        first = await client.embeddings.create(model=MODEL, input=["p", "q"])
        part = await client.embeddings.create(model=MODEL, input=["r", "q"],
                                              encoding_format="base64")
        again = await client.embeddings.create(model=MODEL, input=["q", "p", "r"])
    assert not first.cacheback_hit and part.cacheback.partial and again.cacheback_hit
    assert vectors(again)[1] == vectors(first)[0]
    decoded = np.frombuffer(base64.b64decode(part.data[1].embedding), dtype="<f4").tolist()
    assert decoded == vectors(first)[1]
    assert upstream.embedded("q") == 1


def test_without_the_sdk_light_objects(upstream: FakeUpstream, cache: SemanticCache,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(sys.modules):
        if name.split(".")[0] == "openai":
            monkeypatch.setitem(sys.modules, name, None)
    with CachedOpenAI(api_key="k", base_url=upstream.openai_base_url, cache=cache) as client:
        first = client.embeddings.create(model=MODEL, input=["s", "t"])
        again = client.embeddings.create(model=MODEL, input=["t", "s"])
        assert type(again).__module__ == "cacheback._clients._light" and again.cacheback_hit
        assert again.data[1].embedding == first.data[0].embedding
        assert len(first.model_dump()["data"][0]["embedding"]) == 1536
        with pytest.raises(AttributeError, match="pip install openai"):
            client.embeddings.with_raw_response  # noqa: B018
