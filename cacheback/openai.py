"""``CachedOpenAI`` / ``AsyncCachedOpenAI``: ``openai.OpenAI`` with a local semantic cache.

    client = CachedOpenAI()              # was: client = OpenAI()
    resp = client.chat.completions.create(model="gpt-4o-mini", messages=[...])
    resp.choices[0].message.content; resp.cacheback_hit; resp.cacheback.tier
    client.responses.create(model="gpt-4o-mini", input="...").output_text   # cached too

Every ``create`` parameter is sent upstream unchanged; ``cacheback={...}`` (see ``CallOptions``)
is the one addition. Responses are ``openai`` types when the SDK is installed. The openai
package is not needed: requests go over httpx (``cacheback.providers``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import httpx

from ._clients import (
    AsyncCachedCall,
    AsyncCachedStream,
    AsyncClientLifecycle,
    AsyncCreateResource,
    CacheArg,
    CachedStream,
    CachePolicy,
    CacheRecord,
    CallOptions,
    ClientLifecycle,
    CreateResource,
    OpenAIDialect,
    SyncCachedCall,
    open_access,
    openai_objects,
)
from ._clients._audio import AudioCache, CachedAudio
from ._clients._passthrough import SDKTwin, attach_sdk, delegate
from ._clients._responses_resource import AsyncCachedResponses, CachedResponses, responses_access
from .providers import DEFAULT_TIMEOUT, AsyncOpenAIChat, OpenAIChat

__all__ = [
    "AsyncCachedOpenAI",
    "AsyncCachedStream",
    "CachePolicy",
    "CacheRecord",
    "CachedOpenAI",
    "CachedStream",
    "CallOptions",
]


class Chat:
    """``client.chat``: ``completions`` cached, the rest the SDK's ``chat``."""

    def __init__(self, completions: CreateResource | AsyncCreateResource,
                 sdk: SDKTwin | None = None) -> None:
        self.completions = completions
        self._sdk = sdk

    def __getattr__(self, name: str) -> Any:
        return delegate(self._sdk, ("chat",), name, type(self).__name__)


def _sdk_audio(client: Any, asynchronous: bool) -> CachedAudio:
    """``client.audio`` through the official SDK client the cached client delegates to (built
    from the same arguments, closed with it), with transcriptions and translations cached
    exactly (docs/media.md). ``AttributeError`` without the ``openai`` package."""
    audio = AudioCache(client.cache, client.namespace, client._access.ttl)
    return CachedAudio(client._sdk.get().audio, audio, asynchronous=asynchronous)


class CachedOpenAI(ClientLifecycle):
    """A blocking OpenAI client whose chat completions and responses go through a
    ``SemanticCache``.

    SDK arguments and environment variables (``OPENAI_API_KEY``, ``OPENAI_BASE_URL``,
    ``OPENAI_ORG_ID``, ``OPENAI_PROJECT_ID``) work as in ``openai.OpenAI``. ``cache`` is a path, a
    ``SemanticCache`` (shared, not closed by this client) or None for the per-user default;
    ``ttl`` is seconds per stored answer; ``max_wrong_hit_rate`` is the match budget of a cache
    the client opens; ``policy`` sets what is cached (``CachePolicy``).
    """

    def __init__(self, *, api_key: str | None = None, organization: str | None = None,
                 project: str | None = None, base_url: str | httpx.URL | None = None,
                 timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT, max_retries: int = 2,
                 default_headers: Mapping[str, str] | None = None,
                 default_query: Mapping[str, Any] | None = None,
                 http_client: httpx.Client | None = None, cache: CacheArg = None,
                 namespace: str = "default", ttl: float | None = None,
                 max_wrong_hit_rate: float | None = None,
                 policy: CachePolicy | None = None) -> None:
        provider = OpenAIChat(api_key, organization=organization, project=project,
                              base_url=base_url, timeout=timeout, max_retries=max_retries,
                              default_headers=default_headers, default_query=default_query,
                              http_client=http_client)
        access, owned = open_access(OpenAIDialect(provider.spec), cache=cache,
                                    namespace=namespace, ttl=ttl,
                                    max_wrong_hit_rate=max_wrong_hit_rate, policy=policy)
        super().__init__(provider, access, owned)
        attach_sdk(self, "openai", "OpenAI", locals())
        self.chat = Chat(CreateResource(SyncCachedCall(provider, access, openai_objects()),
                                        self._sdk, ("chat", "completions")), self._sdk)

    @functools.cached_property
    def audio(self) -> CachedAudio:
        """``client.audio``: transcriptions and translations cached, the rest the SDK's."""
        return _sdk_audio(self, asynchronous=False)

    @functools.cached_property
    def responses(self) -> CachedResponses:
        """``client.responses``: ``create`` and ``stream`` cached, the rest the SDK's."""
        return CachedResponses(*responses_access(self._access, self._provider), self._sdk)


class AsyncCachedOpenAI(AsyncClientLifecycle):
    """The asyncio twin of ``CachedOpenAI`` (``openai.AsyncOpenAI`` with the cache in front)."""

    def __init__(self, *, api_key: str | None = None, organization: str | None = None,
                 project: str | None = None, base_url: str | httpx.URL | None = None,
                 timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT, max_retries: int = 2,
                 default_headers: Mapping[str, str] | None = None,
                 default_query: Mapping[str, Any] | None = None,
                 http_client: httpx.AsyncClient | None = None, cache: CacheArg = None,
                 namespace: str = "default", ttl: float | None = None,
                 max_wrong_hit_rate: float | None = None,
                 policy: CachePolicy | None = None) -> None:
        provider = AsyncOpenAIChat(api_key, organization=organization, project=project,
                                   base_url=base_url, timeout=timeout, max_retries=max_retries,
                                   default_headers=default_headers, default_query=default_query,
                                   http_client=http_client)
        access, owned = open_access(OpenAIDialect(provider.spec), cache=cache,
                                    namespace=namespace, ttl=ttl,
                                    max_wrong_hit_rate=max_wrong_hit_rate, policy=policy)
        super().__init__(provider, access, owned)
        attach_sdk(self, "openai", "AsyncOpenAI", locals())
        self.chat = Chat(AsyncCreateResource(AsyncCachedCall(provider, access, openai_objects()),
                                             self._sdk, ("chat", "completions")), self._sdk)

    @functools.cached_property
    def audio(self) -> CachedAudio:
        """``client.audio``: transcriptions and translations cached, the rest the SDK's."""
        return _sdk_audio(self, asynchronous=True)

    @functools.cached_property
    def responses(self) -> AsyncCachedResponses:
        """``client.responses``: ``create`` and ``stream`` cached, the rest the SDK's."""
        return AsyncCachedResponses(*responses_access(self._access, self._provider), self._sdk)
