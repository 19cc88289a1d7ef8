"""LiteLLM's response cache backed by cacheback.

LiteLLM computes one key per call from the model, the messages and every parameter, and hands
its cache ``set_cache(key, value)`` / ``get_cache(key)`` (and async twins). Plug this one in as
LiteLLM documents for custom caches::

    import litellm
    from litellm.caching.caching import Cache
    from cacheback.integrations.litellm import CachebackLiteLLMCache

    litellm.cache = Cache()
    litellm.cache.cache = CachebackLiteLLMCache()

This serves exact repeats (LiteLLM's key decides what a repeat is) from the local SQLite cache,
durable across processes; the answer is stored as the JSON LiteLLM gives. Any failure inside the
cache is a miss. For paraphrase (semantic) hits use the cached clients or the proxy, which know
which parts of a request shape the answer.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from litellm.caching.base_cache import BaseCache

from ..cache import SemanticCache

__all__ = ["CachebackLiteLLMCache"]

_log = logging.getLogger(__name__)


class CachebackLiteLLMCache(BaseCache):  # type: ignore[misc]
    """A LiteLLM cache over a :class:`~cacheback.SemanticCache` (exact tier on LiteLLM's key)."""

    def __init__(self, cache: SemanticCache | None = None, *, path: str | None = None,
                 namespace: str = "litellm", default_ttl: int | None = None) -> None:
        super().__init__(default_ttl=default_ttl or 60)
        self.cache = cache if cache is not None else SemanticCache(path, embedder=None)
        self.namespace = namespace
        self._ttl = default_ttl

    def set_cache(self, key: str, value: Any, **kwargs: Any) -> None:
        try:
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            ttl = kwargs.get("ttl") or self._ttl
            # The key is LiteLLM's digest, so the PII policy reads the answer instead: one that
            # holds personal data is not stored (unless the cache's PII mode is "off").
            if self.cache.pii != "off" and self.cache.screen(text).action != "clean":
                return
            self.cache.put(str(key), text, namespace=self.namespace, pii="off",
                           ttl=float(ttl) if ttl else None)
        except Exception as exc:  # noqa: BLE001 - a cache failure only loses this entry
            _log.warning("cacheback set_cache failed, answer not cached: %s", exc)

    def get_cache(self, key: str, **kwargs: Any) -> Any:
        try:
            hit = self.cache.get(str(key), namespace=self.namespace, semantic=False, pii="off")
            if hit is None:
                return None
            try:
                return json.loads(hit.response)
            except ValueError:
                return hit.response
        except Exception as exc:  # noqa: BLE001 - a cache failure is a miss
            _log.warning("cacheback get_cache failed, treated as a miss: %s", exc)
            return None

    async def async_set_cache(self, key: str, value: Any, **kwargs: Any) -> None:
        await asyncio.to_thread(self.set_cache, key, value, **kwargs)

    async def async_get_cache(self, key: str, **kwargs: Any) -> Any:
        return await asyncio.to_thread(self.get_cache, key, **kwargs)

    async def async_set_cache_pipeline(self, cache_list: list[tuple[str, Any]], **kwargs: Any) -> None:
        for key, value in cache_list:
            await self.async_set_cache(key, value, **kwargs)

    async def batch_cache_write(self, key: str, value: Any, **kwargs: Any) -> None:
        await self.async_set_cache(key, value, **kwargs)

    async def disconnect(self) -> None:
        await asyncio.to_thread(self.cache.flush)
