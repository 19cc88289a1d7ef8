"""``CachedAzureOpenAI``: Azure's URLs, ``api-version`` and credentials against the fake
upstream's Azure paths; deployments and API versions never share an answer; the rest of the
API is a real ``openai.AzureOpenAI``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from cacheback import SemanticCache
from cacheback._errors import ConfigurationError
from cacheback.openai import AsyncCachedAzureOpenAI, CachedAzureOpenAI
from cacheback.testing import FakeUpstream

VERSION = "2024-10-21"
ASK = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "What is Azure?"}]}


@pytest.fixture
def cache() -> Iterator[SemanticCache]:
    with SemanticCache(":memory:", embedder=None) as cache:
        yield cache


def azure(upstream: FakeUpstream, cache: SemanticCache, **overrides: Any) -> CachedAzureOpenAI:
    args: dict[str, Any] = {"azure_endpoint": upstream.url, "azure_deployment": "chat-prod",
                            "api_version": VERSION, "api_key": "azure-key", "cache": cache}
    return CachedAzureOpenAI(**{**args, **overrides})


def test_chat_goes_to_the_deployment_and_is_cached(upstream: FakeUpstream,
                                                   cache: SemanticCache) -> None:
    with azure(upstream, cache) as client:
        first = client.chat.completions.create(**ASK)
        again = client.chat.completions.create(**ASK)
        streamed = list(client.chat.completions.create(**ASK, stream=True))
    assert not first.cacheback_hit and again.cacheback_hit and streamed
    assert again.choices[0].message.content == first.choices[0].message.content
    (request,) = upstream.requests
    assert request.path == "/openai/deployments/chat-prod/chat/completions"
    assert request.query == f"api-version={VERSION}"
    assert request.headers["api-key"] == "<redacted>" and "authorization" not in request.headers
    sdk = openai.AzureOpenAI(azure_endpoint=upstream.url, azure_deployment="chat-prod",
                             api_version=VERSION, api_key="azure-key")
    direct = sdk.chat.completions.create(**ASK)
    assert direct.choices[0].message.content == first.choices[0].message.content
    assert upstream.requests[-1].path == request.path


def test_deployments_and_api_versions_never_share(upstream: FakeUpstream,
                                                  cache: SemanticCache) -> None:
    clients = [azure(upstream, cache), azure(upstream, cache, azure_deployment="chat-canary"),
               azure(upstream, cache, api_version="2025-01-01-preview"),
               azure(upstream, cache, azure_endpoint=upstream.url.replace("127.0.0.1", "localhost"))]
    for client in clients:
        assert not client.chat.completions.create(**ASK).cacheback_hit
        assert not client.embeddings.create(model="ada", input="v").cacheback_hit
    for client in clients:
        assert client.chat.completions.create(**ASK).cacheback_hit
        assert client.embeddings.create(model="ada", input="v").cacheback_hit
        client.close()
    assert upstream.request_count() == 8
    assert {r.path for r in upstream.requests} >= {
        "/openai/deployments/chat-canary/chat/completions",
        "/openai/deployments/chat-prod/embeddings"}


def test_model_is_the_deployment_without_azure_deployment(upstream: FakeUpstream,
                                                          cache: SemanticCache) -> None:
    with azure(upstream, cache, azure_deployment=None) as client:
        client.chat.completions.create(**ASK)
        client.chat.completions.create(**{**ASK, "model": "gpt-4o"})
        vectors = client.embeddings.create(model="emb-small", input=["a", "b"])
        assert client.embeddings.create(model="emb-small", input="b").cacheback_hit
    assert [r.path for r in upstream.requests] == [
        "/openai/deployments/gpt-4o-mini/chat/completions",
        "/openai/deployments/gpt-4o/chat/completions", "/openai/deployments/emb-small/embeddings"]
    sdk = openai.AzureOpenAI(azure_endpoint=upstream.url, api_version=VERSION, api_key="k")
    assert sdk.embeddings.create(model="emb-small", input=["a", "b"]).data[1].embedding == \
        vectors.data[1].embedding


def test_entra_id_tokens(upstream: FakeUpstream, cache: SemanticCache) -> None:
    calls: list[int] = []

    def provider() -> str:
        calls.append(1)
        return "token-1"

    with azure(upstream, cache, api_key=None, azure_ad_token_provider=provider) as client:
        client.chat.completions.create(**ASK)
        client.chat.completions.create(**ASK)  # a hit: no request, no token
        client.embeddings.create(model="ada", input="w")
    assert len(calls) == 2 and upstream.request_count() == 2
    assert all(r.headers["authorization"] == "<redacted>" and "api-key" not in r.headers
               for r in upstream.requests)
    with pytest.raises(ConfigurationError):
        azure(upstream, cache, azure_ad_token="t")  # and api_key: mutually exclusive


def test_configuration_errors(upstream: FakeUpstream, cache: SemanticCache,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_VERSION", raising=False)
    monkeypatch.delenv("AZURE_OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("AZURE_OPENAI_AD_TOKEN", raising=False)
    with pytest.raises(ConfigurationError, match="api_version"):
        azure(upstream, cache, api_version=None)
    with pytest.raises(ConfigurationError, match="credentials"):
        azure(upstream, cache, api_key=None)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "from-env")
    monkeypatch.setenv("OPENAI_API_VERSION", VERSION)
    with azure(upstream, cache, api_key=None, api_version=None) as client:
        assert client.chat.completions.create(**ASK).choices


def test_everything_else_is_a_real_azure_client(upstream: FakeUpstream,
                                                cache: SemanticCache) -> None:
    with azure(upstream, cache) as client:
        sdk = client._sdk.get()
        assert type(sdk) is openai.AzureOpenAI and sdk._api_version == VERSION
        assert isinstance(client.models, openai.resources.Models)
        assert isinstance(client.audio, openai.resources.Audio)  # not cached on Azure
        raw = client.chat.completions.with_raw_response.create(**ASK)
        assert raw.http_request.url.path == "/openai/deployments/chat-prod/chat/completions"
        copy = client.with_options(api_version="2025-01-01-preview")
        assert isinstance(copy, CachedAzureOpenAI) and copy.cache is cache
        copy.chat.completions.create(**ASK)
        assert upstream.requests[-1].query == "api-version=2025-01-01-preview"


@pytest.mark.anyio
async def test_async_twin_with_an_async_token_provider(upstream: FakeUpstream,
                                                       cache: SemanticCache) -> None:
    async def provider() -> str:
        return "async-token"

    async with AsyncCachedAzureOpenAI(azure_endpoint=upstream.url, azure_deployment="chat-prod",
                                      api_version=VERSION, azure_ad_token_provider=provider,
                                      cache=cache) as client:
        first = await client.chat.completions.create(**ASK)
        again = await client.chat.completions.create(**ASK)
        emb = await client.embeddings.create(model="ada", input=["x", "y"])
        hit = await client.embeddings.create(model="ada", input=["y", "x"])
    assert not first.cacheback_hit and again.cacheback_hit
    assert hit.cacheback_hit and hit.data[0].embedding == emb.data[1].embedding
    assert upstream.request_count() == 2
    assert upstream.requests[0].path == "/openai/deployments/chat-prod/chat/completions"
