"""``CachedAnthropic`` / ``AsyncCachedAnthropic``: ``anthropic.Anthropic`` with a local cache.

    client = CachedAnthropic()           # was: client = Anthropic()
    msg = client.messages.create(model="claude-sonnet-4-5", max_tokens=512, messages=[...])
    msg.content[0].text; msg.cacheback_hit; msg.cacheback.tier

Every ``create`` parameter is sent upstream unchanged; ``cacheback={...}`` (see ``CallOptions``)
is the one addition. Responses are ``anthropic`` types when the SDK is installed. The anthropic
package is not needed: requests go over httpx (``cacheback.providers``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from ._clients import (
    AnthropicDialect,
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
    SyncCachedCall,
    anthropic_objects,
    open_access,
)
from ._clients._passthrough import attach_sdk
from .providers import DEFAULT_TIMEOUT, AnthropicMessages, AsyncAnthropicMessages

__all__ = [
    "AsyncCachedAnthropic",
    "AsyncCachedStream",
    "CachePolicy",
    "CacheRecord",
    "CachedAnthropic",
    "CachedStream",
    "CallOptions",
]


class CachedAnthropic(ClientLifecycle):
    """A blocking Anthropic client whose messages go through a ``SemanticCache``.

    SDK arguments and environment variables (``ANTHROPIC_API_KEY``, ``ANTHROPIC_BASE_URL``) work
    as in ``anthropic.Anthropic``. Cache options are those of ``cacheback.openai.CachedOpenAI``.
    """

    def __init__(self, *, api_key: str | None = None, base_url: str | httpx.URL | None = None,
                 timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT, max_retries: int = 2,
                 default_headers: Mapping[str, str] | None = None,
                 default_query: Mapping[str, Any] | None = None,
                 http_client: httpx.Client | None = None, cache: CacheArg = None,
                 namespace: str = "default", ttl: float | None = None,
                 max_wrong_hit_rate: float | None = None,
                 policy: CachePolicy | None = None) -> None:
        provider = AnthropicMessages(api_key, base_url=base_url, timeout=timeout,
                                     max_retries=max_retries, default_headers=default_headers,
                                     default_query=default_query, http_client=http_client)
        access, owned = open_access(AnthropicDialect(provider.spec), cache=cache,
                                    namespace=namespace, ttl=ttl,
                                    max_wrong_hit_rate=max_wrong_hit_rate, policy=policy)
        super().__init__(provider, access, owned)
        attach_sdk(self, "anthropic", "Anthropic", locals())
        self.messages = CreateResource(SyncCachedCall(provider, access, anthropic_objects()),
                                       self._sdk, ("messages",))


class AsyncCachedAnthropic(AsyncClientLifecycle):
    """The asyncio twin of ``CachedAnthropic`` (``anthropic.AsyncAnthropic`` with the cache)."""

    def __init__(self, *, api_key: str | None = None, base_url: str | httpx.URL | None = None,
                 timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT, max_retries: int = 2,
                 default_headers: Mapping[str, str] | None = None,
                 default_query: Mapping[str, Any] | None = None,
                 http_client: httpx.AsyncClient | None = None, cache: CacheArg = None,
                 namespace: str = "default", ttl: float | None = None,
                 max_wrong_hit_rate: float | None = None,
                 policy: CachePolicy | None = None) -> None:
        provider = AsyncAnthropicMessages(api_key, base_url=base_url, timeout=timeout,
                                          max_retries=max_retries,
                                          default_headers=default_headers,
                                          default_query=default_query, http_client=http_client)
        access, owned = open_access(AnthropicDialect(provider.spec), cache=cache,
                                    namespace=namespace, ttl=ttl,
                                    max_wrong_hit_rate=max_wrong_hit_rate, policy=policy)
        super().__init__(provider, access, owned)
        attach_sdk(self, "anthropic", "AsyncAnthropic", locals())
        self.messages = AsyncCreateResource(AsyncCachedCall(provider, access, anthropic_objects()),
                                            self._sdk, ("messages",))
