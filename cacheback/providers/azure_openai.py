"""Azure OpenAI over httpx: the OpenAI Chat Completions and Embeddings wire formats at Azure's
URLs, with Azure's authentication.

As in ``openai.AzureOpenAI``: the base URL is ``{azure_endpoint}/openai/deployments/{deployment}``
(or ``{azure_endpoint}/openai``, the deployment then being each request's ``model``); every
request carries ``?api-version=...``; credentials are an ``api-key`` header, or an Entra ID
(Azure AD) token as ``Authorization: Bearer``, static or fetched from a provider callable on
every request (an async client also awaits one that returns an awaitable).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from .._errors import ConfigurationError
from ._api import DEFAULT_TIMEOUT, USE_DEFAULT, ClientSettings
from ._client import AsyncClient, SyncClient
from ._retry import RetryPolicy
from ._streams import AsyncEventStream, EventStream
from .openai_chat import OpenAIChatSpec
from .openai_embeddings import OpenAIEmbeddingsSpec

__all__ = ["AsyncAzureOpenAIChat", "AzureAuth", "AzureChatSpec", "AzureEmbeddingsSpec",
           "AzureOpenAIChat", "AzureTarget", "TokenProvider", "azure_target"]

TokenProvider = Callable[[], "str | Awaitable[str]"]


@dataclass(frozen=True)
class AzureTarget:
    """Where requests go: the base URL, and the endpoint and deployment for the cache key."""

    base_url: str
    endpoint: str
    deployment: str | None
    api_version: str


def azure_target(*, azure_endpoint: str | None, azure_deployment: str | None,
                 api_version: str | None, base_url: str | httpx.URL | None) -> AzureTarget:
    """The target as ``openai.AzureOpenAI`` resolves it (``AZURE_OPENAI_ENDPOINT`` and
    ``OPENAI_API_VERSION`` fill in what is not given)."""
    api_version = api_version or os.environ.get("OPENAI_API_VERSION")
    if not api_version:
        raise ConfigurationError("pass api_version= or set OPENAI_API_VERSION")
    if base_url is not None:
        if azure_endpoint is not None:
            raise ConfigurationError("base_url and azure_endpoint are mutually exclusive")
        url = str(base_url).rstrip("/")
        return AzureTarget(url, url, azure_deployment, api_version)
    endpoint = azure_endpoint or os.environ.get("AZURE_OPENAI_ENDPOINT")
    if not endpoint:
        raise ConfigurationError(
            "pass azure_endpoint= (or base_url=) or set AZURE_OPENAI_ENDPOINT")
    endpoint = endpoint.rstrip("/")
    base = f"{endpoint}/openai"
    if azure_deployment is not None:
        base += f"/deployments/{azure_deployment}"
    return AzureTarget(base, endpoint, azure_deployment, api_version)


class AzureAuth:
    """One of: an API key (``api-key``), a static Entra ID token, or a token provider."""

    def __init__(self, api_key: str | None = None, azure_ad_token: str | None = None,
                 azure_ad_token_provider: TokenProvider | None = None) -> None:
        given = sum(x is not None for x in (api_key, azure_ad_token, azure_ad_token_provider))
        if given > 1:
            raise ConfigurationError(
                "api_key, azure_ad_token and azure_ad_token_provider are mutually exclusive")
        if given == 0:
            azure_ad_token = os.environ.get("AZURE_OPENAI_AD_TOKEN")
            if azure_ad_token is None:
                api_key = os.environ.get("AZURE_OPENAI_API_KEY")
        if api_key is None and azure_ad_token is None and azure_ad_token_provider is None:
            raise ConfigurationError(
                "no credentials: pass api_key=, azure_ad_token= or azure_ad_token_provider=, or "
                "set AZURE_OPENAI_API_KEY or AZURE_OPENAI_AD_TOKEN")
        self.api_key = api_key
        self.azure_ad_token = azure_ad_token
        self.azure_ad_token_provider = azure_ad_token_provider

    def __repr__(self) -> str:
        return "AzureAuth(<credentials hidden>)"

    @staticmethod
    def _bearer(token: Any) -> dict[str, str]:
        if not isinstance(token, str) or not token:
            raise ConfigurationError("azure_ad_token_provider must return a non-empty str")
        return {"Authorization": f"Bearer {token}"}

    def headers(self) -> dict[str, str]:
        """The authentication header for one request (calls the token provider)."""
        if self.azure_ad_token is not None:
            return self._bearer(self.azure_ad_token)
        if self.azure_ad_token_provider is not None:
            return self._bearer(self.azure_ad_token_provider())
        return {"api-key": str(self.api_key)}

    async def aheaders(self) -> dict[str, str]:
        """:meth:`headers` for asyncio: a provider returning an awaitable is awaited."""
        if self.azure_ad_token is None and self.azure_ad_token_provider is not None:
            token = self.azure_ad_token_provider()
            return self._bearer(await token if inspect.isawaitable(token) else token)
        return self.headers()


class _AzureRouting:
    """URL and key parts of an Azure deployment endpoint (mixed into an OpenAI spec)."""

    path: ClassVar[str]
    target: AzureTarget

    def url(self, settings: ClientSettings, body: Mapping[str, Any]) -> str:
        """With no deployment in the base URL, the request's ``model`` is the deployment."""
        if self.target.deployment is None and isinstance(body.get("model"), str):
            return f"{settings.base_url}/deployments/{quote(body['model'], safe='')}{self.path}"
        return settings.base_url + self.path

    @property
    def route(self) -> dict[str, Any]:
        """What the URL says about who answers: keyed beside the body (the cache key)."""
        return {"azure_endpoint": self.target.endpoint, "deployment": self.target.deployment}


class AzureChatSpec(_AzureRouting, OpenAIChatSpec):
    """Chat Completions at an Azure deployment; authentication is added per request by the
    client (``AzureAuth``), so ``headers`` holds only the OpenAI organization / project."""

    def __init__(self, target: AzureTarget, organization: str | None = None,
                 project: str | None = None) -> None:
        super().__init__(organization, project)
        self.target = target

    def headers(self, api_key: str) -> dict[str, str]:
        """Organization and project headers (no credentials: see ``AzureAuth``)."""
        return {k: v for k, v in super().headers(api_key).items() if k != "Authorization"}


class AzureEmbeddingsSpec(AzureChatSpec):
    """Embeddings at an Azure deployment."""

    path = OpenAIEmbeddingsSpec.path


def _settings(target: AzureTarget, timeout: float | httpx.Timeout | None, max_retries: int,
              default_headers: Mapping[str, str] | None,
              default_query: Mapping[str, Any] | None) -> ClientSettings:
    if max_retries < 0:
        raise ConfigurationError("max_retries must be >= 0")
    return ClientSettings(api_key="", base_url=target.base_url, timeout=httpx.Timeout(timeout),
                          retry=RetryPolicy(max_retries=max_retries),
                          default_headers=dict(default_headers or {}),
                          default_query={**dict(default_query or {}),
                                         "api-version": target.api_version})


class _AzureClient:
    """The constructor both Azure chat clients share."""

    def __init__(self, target: AzureTarget, auth: AzureAuth, *, organization: str | None = None,
                 project: str | None = None,
                 timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT, max_retries: int = 2,
                 default_headers: Mapping[str, str] | None = None,
                 default_query: Mapping[str, Any] | None = None,
                 http_client: Any = None, transport: Any = None) -> None:
        super().__init__(AzureChatSpec(target, organization, project),  # type: ignore[call-arg]
                         _settings(target, timeout, max_retries, default_headers, default_query),
                         http_client=http_client, transport=transport)
        self.auth = auth


class AzureOpenAIChat(_AzureClient, SyncClient):
    """Blocking Chat Completions client for Azure OpenAI (see the module docstring)."""

    spec: AzureChatSpec

    def create(self, body: Mapping[str, Any], *, extra_headers: Mapping[str, str] | None = None,
               extra_query: Mapping[str, Any] | None = None, timeout: Any = USE_DEFAULT
               ) -> dict[str, Any]:
        """POST ``body`` with this request's credentials (``extra_headers`` may replace them)."""
        return super().create(body, extra_headers={**self.auth.headers(), **(extra_headers or {})},
                              extra_query=extra_query, timeout=timeout)

    def stream(self, body: Mapping[str, Any], *, extra_headers: Mapping[str, str] | None = None,
               extra_query: Mapping[str, Any] | None = None, timeout: Any = USE_DEFAULT
               ) -> EventStream:
        """POST ``body`` as a stream with this request's credentials."""
        return super().stream(body, extra_headers={**self.auth.headers(), **(extra_headers or {})},
                              extra_query=extra_query, timeout=timeout)


class AsyncAzureOpenAIChat(_AzureClient, AsyncClient):
    """Asyncio Chat Completions client for Azure OpenAI; the token provider may be async."""

    spec: AzureChatSpec

    async def create(self, body: Mapping[str, Any], *,
                     extra_headers: Mapping[str, str] | None = None,
                     extra_query: Mapping[str, Any] | None = None, timeout: Any = USE_DEFAULT
                     ) -> dict[str, Any]:
        """POST ``body`` with this request's credentials."""
        auth = await self.auth.aheaders()
        return await super().create(body, extra_headers={**auth, **(extra_headers or {})},
                                    extra_query=extra_query, timeout=timeout)

    async def stream(self, body: Mapping[str, Any], *,
                     extra_headers: Mapping[str, str] | None = None,
                     extra_query: Mapping[str, Any] | None = None, timeout: Any = USE_DEFAULT
                     ) -> AsyncEventStream:
        """POST ``body`` as a stream with this request's credentials."""
        auth = await self.auth.aheaders()
        return await super().stream(body, extra_headers={**auth, **(extra_headers or {})},
                                    extra_query=extra_query, timeout=timeout)
