"""Constructor plumbing shared by the four cached clients: the cache, its policy, the access."""

from __future__ import annotations

import os
from typing import Any

from .._errors import ConfigurationError
from ..cache import SemanticCache
from ._access import CacheAccess
from ._dialects import Dialect
from ._passthrough import SDKTwin, delegate
from ._policy import CachePolicy

__all__ = ["AsyncClientLifecycle", "CacheArg", "ClientLifecycle", "open_access"]

CacheArg = SemanticCache | str | os.PathLike[str] | None


def _open_cache(cache: CacheArg, max_wrong_hit_rate: float | None) -> tuple[SemanticCache, bool]:
    """The cache to use and whether the client owns (and so closes) it."""
    if isinstance(cache, SemanticCache):
        if max_wrong_hit_rate is not None:
            raise ConfigurationError(
                "max_wrong_hit_rate configures a cache the client opens; set it on the "
                "SemanticCache you pass instead")
        return cache, False
    return SemanticCache(cache, max_wrong_hit_rate=max_wrong_hit_rate), True


def open_access(dialect: Dialect, *, cache: CacheArg, namespace: str, ttl: float | None,
                max_wrong_hit_rate: float | None, policy: CachePolicy | None
                ) -> tuple[CacheAccess, bool]:
    """The ``CacheAccess`` for a new client, and whether the client owns the cache."""
    if not isinstance(namespace, str) or not namespace:
        raise ConfigurationError("namespace must be a non-empty str")
    semantic_cache, owned = _open_cache(cache, max_wrong_hit_rate)
    return CacheAccess(semantic_cache, dialect, policy or CachePolicy(), namespace, ttl), owned


class _Lifecycle:
    """What both client flavours expose besides their resources.

    Any other public attribute comes from the SDK twin (``_passthrough``); ``copy`` /
    ``with_options`` give a cached client with the changed arguments, sharing this one's cache.
    """

    _sdk: SDKTwin | None = None
    _init: dict[str, Any] = {}

    def __init__(self, provider: Any, access: CacheAccess, owns_cache: bool) -> None:
        self._provider = provider
        self._owns_cache = owns_cache
        self._access = access
        self.cache: SemanticCache = access.cache
        self.namespace = access.namespace
        self.base_url: str = provider.settings.base_url

    def __getattr__(self, name: str) -> Any:
        return delegate(self._sdk, (), name, type(self).__name__)

    def copy(self, **overrides: Any) -> Any:
        """A cached client with the same arguments except ``overrides``, on the same cache."""
        return type(self)(**{**self._init, "cache": self.cache, "namespace": self.namespace,
                             **overrides})

    with_options = copy

    def stats(self) -> dict[str, Any]:
        """The cache's ``stats()``, plus the synthesis tier's counters and cost books if enabled."""
        out = self.cache.stats()
        if self._access.policy.synthesis is not None:
            out["synthesis"] = self._access.policy.synthesis.stats()
        return out


class ClientLifecycle(_Lifecycle):
    """``close()`` / ``with`` for a blocking cached client (closes the cache only if owned)."""

    def close(self) -> None:
        """Release the HTTP connections and, if this client opened it, the cache."""
        self._provider.close()
        if self._sdk is not None and self._sdk.built is not None:
            self._sdk.built.close()
        if self._owns_cache:
            self.cache.close()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncClientLifecycle(_Lifecycle):
    """``await close()`` / ``async with`` for an asyncio cached client."""

    async def close(self) -> None:
        """Release the HTTP connections and, if this client opened it, the cache."""
        await self._provider.close()
        if self._sdk is not None and self._sdk.built is not None:
            await self._sdk.built.close()
        if self._owns_cache:
            self.cache.close()

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
