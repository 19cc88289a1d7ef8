"""LangChain's LLM cache backed by cacheback: ``set_llm_cache(CachebackCache())``.

LangChain calls ``lookup(prompt, llm_string)`` before a model call and ``update`` after it.
``llm_string`` (the model and every parameter) is the scope, so a different model or
temperature never shares answers. For a chat model the prompt is the serialised message list:
the query is the last message's text and the earlier messages go into the scope, so a paraphrase
hits semantically only inside the same conversation (the rule the cached clients follow). The
generations are stored whole (``langchain_core.load.dumps``) and come back as LangChain's own
types. Any failure inside the cache is a miss, never an error in the chain.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import warnings
from collections.abc import Sequence
from typing import Any

from langchain_core.caches import BaseCache
from langchain_core.load import dumps, loads
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, Generation, GenerationChunk

from ..cache import SemanticCache

__all__ = ["CachebackCache"]

_log = logging.getLogger(__name__)
_ALLOWED: list[type[Any]] = [Generation, GenerationChunk, ChatGeneration, ChatGenerationChunk,
                             AIMessage, AIMessageChunk]


def _revive(payload: str) -> Any:
    """The stored generations as LangChain objects, only of the classes a cache may hold."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return loads(payload, allowed_objects=_ALLOWED)
        except TypeError:
            return loads(payload)


class CachebackCache(BaseCache):
    """A LangChain cache over a :class:`~cacheback.SemanticCache` (exact and semantic tiers).

    ``cache`` is an open ``SemanticCache`` (or ``None`` for one at ``path`` / the per-user
    default); ``namespace`` keeps these entries apart from others in the same database;
    ``semantic=False`` serves exact repeats only.
    """

    def __init__(self, cache: SemanticCache | None = None, *, path: str | None = None,
                 namespace: str = "langchain", semantic: bool = True) -> None:
        self.cache = cache if cache is not None else SemanticCache(path)
        self.namespace = namespace
        self.semantic = semantic
        self.last_hit: Any = None

    @staticmethod
    def _key(prompt: str, llm_string: str) -> tuple[str, dict[str, str]]:
        """(query, scope): the last message of a chat prompt, its history hashed into the scope."""
        try:
            messages = json.loads(prompt)
        except ValueError:
            messages = None
        if isinstance(messages, list) and messages and all(isinstance(m, dict) for m in messages):
            last = messages[-1].get("kwargs", {}).get("content")
            if isinstance(last, str) and last:
                history = json.dumps(messages[:-1], sort_keys=True)
                kind = messages[-1].get("id", [""])[-1]
                return last, {"llm": llm_string, "history": hashlib.sha256(history.encode()).hexdigest(),
                              "role": str(kind)}
        return prompt, {"llm": llm_string}

    def lookup(self, prompt: str, llm_string: str) -> Sequence[Generation] | None:
        """The cached generations for this prompt and model settings, or ``None``."""
        try:
            query, scope = self._key(prompt, llm_string)
            hit = self.cache.get(query, namespace=self.namespace, scope=scope, semantic=self.semantic)
            if hit is None or hit.payload is None:
                return None
            generations = _revive(hit.payload)
        except Exception as exc:  # noqa: BLE001 - a cache failure is a miss
            _log.warning("cacheback lookup failed, treated as a miss: %s", exc)
            return None
        self.last_hit = hit
        return generations if isinstance(generations, list) else None

    def update(self, prompt: str, llm_string: str, return_val: Sequence[Generation]) -> None:
        """Store the generations LangChain got from the model."""
        if not return_val:
            return
        try:
            query, scope = self._key(prompt, llm_string)
            self.cache.put(query, return_val[0].text or " ", namespace=self.namespace, scope=scope,
                           payload=dumps(list(return_val)))
        except Exception as exc:  # noqa: BLE001 - a cache failure only loses this entry
            _log.warning("cacheback update failed, answer not cached: %s", exc)

    def clear(self, **kwargs: Any) -> None:
        """Remove every entry this cache's namespace holds."""
        self.cache.clear(self.namespace)

    async def alookup(self, prompt: str, llm_string: str) -> Sequence[Generation] | None:
        return await asyncio.to_thread(self.lookup, prompt, llm_string)

    async def aupdate(self, prompt: str, llm_string: str, return_val: Sequence[Generation]) -> None:
        await asyncio.to_thread(self.update, prompt, llm_string, return_val)

    async def aclear(self, **kwargs: Any) -> None:
        await asyncio.to_thread(self.clear)
