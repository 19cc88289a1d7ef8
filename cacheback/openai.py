"""``CachedOpenAI`` / ``AsyncCachedOpenAI``: ``openai.OpenAI`` with a local semantic cache.

    client = CachedOpenAI()              # was: client = OpenAI()
    resp = client.chat.completions.create(model="gpt-4o-mini", messages=[...])
    resp.choices[0].message.content; resp.cacheback_hit; resp.cacheback.tier
    client.responses.create(model="gpt-4o-mini", input="...").output_text   # cached too

Every ``create`` parameter is sent upstream unchanged; ``cacheback={...}`` (see ``CallOptions``)
is the one addition. Responses are ``openai`` types when the SDK is installed. The openai
package is not needed: requests go over httpx (``cacheback.providers``).

``client.embeddings.create`` is cached exactly per input (``_clients._embeddings``).
``CachedAzureOpenAI`` / ``AsyncCachedAzureOpenAI`` are ``openai.AzureOpenAI`` with the cache in
front; the Azure endpoint, deployment and ``api-version`` are part of every key.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, TypeVar

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
from ._clients._embedding_calls import AsyncCachedEmbeddings, CachedEmbeddings
from ._clients._embeddings import EmbeddingCache, EmbeddingsRecord
from ._clients._passthrough import SDKTwin, attach_sdk, delegate
from ._clients._responses_resource import AsyncCachedResponses, CachedResponses, responses_access
from .providers import DEFAULT_TIMEOUT, ApiSpec, AsyncOpenAIChat, OpenAIChat
from .providers.azure_openai import (
    AsyncAzureOpenAIChat,
    AzureAuth,
    AzureEmbeddingsSpec,
    AzureOpenAIChat,
    TokenProvider,
    azure_target,
)
from .providers.openai_embeddings import OpenAIEmbeddingsSpec

__all__ = [
    "AsyncCachedAzureOpenAI",
    "AsyncCachedOpenAI",
    "AsyncCachedStream",
    "CachePolicy",
    "CacheRecord",
    "CachedAzureOpenAI",
    "CachedOpenAI",
    "CachedStream",
    "CallOptions",
    "EmbeddingsRecord",
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


_Resource = TypeVar("_Resource", CachedEmbeddings, AsyncCachedEmbeddings)


def _embeddings(client: Any, spec: ApiSpec, resource: type[_Resource]) -> _Resource:
    """``client.embeddings``: ``create`` cached per input (docs/clients.md), over the chat
    provider's settings and connections; the rest the SDK's."""
    store = EmbeddingCache(client.cache, client.namespace, client._access.ttl)
    return resource(client._provider.sibling(spec), store, client._access.policy.pii,
                    client._sdk)


def _openai_embeddings_spec(client: Any) -> OpenAIEmbeddingsSpec:
    chat = client._provider.spec
    return OpenAIEmbeddingsSpec(chat.organization, chat.project)


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
    def embeddings(self) -> CachedEmbeddings:
        """``client.embeddings``: ``create`` cached exactly per input, the rest the SDK's."""
        return _embeddings(self, _openai_embeddings_spec(self), CachedEmbeddings)

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
    def embeddings(self) -> AsyncCachedEmbeddings:
        """``client.embeddings``: ``create`` cached exactly per input, the rest the SDK's."""
        return _embeddings(self, _openai_embeddings_spec(self), AsyncCachedEmbeddings)


    @functools.cached_property
    def responses(self) -> AsyncCachedResponses:
        """``client.responses``: ``create`` and ``stream`` cached, the rest the SDK's."""
        return AsyncCachedResponses(*responses_access(self._access, self._provider), self._sdk)


_AZURE_ARGS = ("azure_endpoint", "azure_deployment", "api_version", "api_key", "azure_ad_token",
               "azure_ad_token_provider", "organization", "project", "base_url", "timeout",
               "max_retries", "default_headers", "default_query", "http_client")


class _CachedAzure:
    """The constructor both Azure clients share; the subclass names its provider, SDK class
    and call types."""

    _sdk_class: str
    _asynchronous: bool
    _sdk: SDKTwin | None
    _init: dict[str, Any]

    def __init__(self, *, azure_endpoint: str | None = None, azure_deployment: str | None = None,
                 api_version: str | None = None, api_key: str | None = None,
                 azure_ad_token: str | None = None,
                 azure_ad_token_provider: TokenProvider | None = None,
                 organization: str | None = None, project: str | None = None,
                 base_url: str | httpx.URL | None = None,
                 timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT, max_retries: int = 2,
                 default_headers: Mapping[str, str] | None = None,
                 default_query: Mapping[str, Any] | None = None,
                 http_client: httpx.Client | httpx.AsyncClient | None = None,
                 cache: CacheArg = None, namespace: str = "default", ttl: float | None = None,
                 max_wrong_hit_rate: float | None = None,
                 policy: CachePolicy | None = None) -> None:
        arguments = locals()
        target = azure_target(azure_endpoint=azure_endpoint, azure_deployment=azure_deployment,
                              api_version=api_version, base_url=base_url)
        auth = AzureAuth(api_key, azure_ad_token, azure_ad_token_provider)
        provider_cls = AsyncAzureOpenAIChat if self._asynchronous else AzureOpenAIChat
        provider: Any = provider_cls(target, auth, organization=organization, project=project,
                                     timeout=timeout, max_retries=max_retries,
                                     default_headers=default_headers,
                                     default_query=default_query, http_client=http_client)
        access, owned = open_access(OpenAIDialect(provider.spec), cache=cache,
                                    namespace=namespace, ttl=ttl,
                                    max_wrong_hit_rate=max_wrong_hit_rate, policy=policy)
        super().__init__(provider, access, owned)  # type: ignore[call-arg]  # the lifecycle's
        given = {name: arguments[name] for name in _AZURE_ARGS}
        sdk_args = {**given, "api_version": target.api_version, "api_key": auth.api_key,
                    "azure_ad_token": auth.azure_ad_token,
                    "azure_ad_token_provider": auth.azure_ad_token_provider}
        if base_url is None:
            sdk_args["azure_endpoint"] = target.endpoint
        self._sdk = SDKTwin("openai", self._sdk_class, sdk_args)
        self._init = {**given, "ttl": ttl, "policy": policy}
        self._embeddings_spec = AzureEmbeddingsSpec(target, organization, project)
        if self._asynchronous:
            completions: Any = AsyncCreateResource(
                AsyncCachedCall(provider, access, openai_objects()), self._sdk,
                ("chat", "completions"))
        else:
            completions = CreateResource(SyncCachedCall(provider, access, openai_objects()),
                                         self._sdk, ("chat", "completions"))
        self.chat = Chat(completions, self._sdk)


class CachedAzureOpenAI(_CachedAzure, ClientLifecycle):
    """``openai.AzureOpenAI`` with the cache in front: chat completions and embeddings cached,
    everything else the SDK's (audio included, uncached).

    Arguments and environment variables (``AZURE_OPENAI_ENDPOINT``, ``AZURE_OPENAI_API_KEY``,
    ``AZURE_OPENAI_AD_TOKEN``, ``OPENAI_API_VERSION``) work as in ``openai.AzureOpenAI``. The
    endpoint, the deployment and the ``api-version`` are part of every cache key: two
    deployments or two API versions never share an answer. Cache arguments as ``CachedOpenAI``.
    """

    _sdk_class = "AzureOpenAI"
    _asynchronous = False

    @functools.cached_property
    def embeddings(self) -> CachedEmbeddings:
        """``client.embeddings``: ``create`` cached exactly per input, the rest the SDK's."""
        return _embeddings(self, self._embeddings_spec, CachedEmbeddings)


class AsyncCachedAzureOpenAI(_CachedAzure, AsyncClientLifecycle):
    """The asyncio twin of ``CachedAzureOpenAI`` (``openai.AsyncAzureOpenAI``); a token
    provider may be a coroutine function."""

    _sdk_class = "AsyncAzureOpenAI"
    _asynchronous = True

    @functools.cached_property
    def embeddings(self) -> AsyncCachedEmbeddings:
        """``client.embeddings``: ``create`` cached exactly per input, the rest the SDK's."""
        return _embeddings(self, self._embeddings_spec, AsyncCachedEmbeddings)
