"""``client.embeddings`` on the cached OpenAI clients: ``create`` answered per input from the
cache (``_embeddings``), everything else (``with_raw_response``, ...) the SDK's resource.

The upstream call goes over httpx like chat (no SDK needed). As the SDK does, a call without
``encoding_format`` asks the upstream for base64 and returns floats (each float32 widened to a
Python float). The result is the SDK's ``CreateEmbeddingResponse`` (a light object without
the SDK) with ``.cacheback`` (an ``EmbeddingsRecord``) and ``.cacheback_hit``.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from ..providers import APIError
from ..providers.openai_embeddings import Vector, sdk_floats
from ._body import Call, split_call
from ._embeddings import (
    EmbeddingCache,
    EmbeddingPlan,
    EmbeddingsRecord,
    Found,
    hit_answer,
    merge_answer,
    plan_embeddings,
    upstream_body,
)
from ._light import LightObject
from ._objects import attach_record
from ._passthrough import SDKTwin, delegate
from ._request_parts import client_parts
from ._sdk_errors import raise_as_sdk

__all__ = ["AsyncCachedEmbeddings", "CachedEmbeddings"]


def embedding_object(call: Call, body: dict[str, Any], record: EmbeddingsRecord) -> Any:
    """``body`` as the SDK's ``CreateEmbeddingResponse`` (built as the SDK builds it: not
    validated, so a base64 string stays a string, and decoded to floats when the call named
    no ``encoding_format``), with the record attached."""
    if call.body.get("encoding_format") is None:
        body = sdk_floats(body)
    try:
        from openai.types import CreateEmbeddingResponse, Embedding
        from openai.types.create_embedding_response import Usage
    except ImportError:
        return attach_record(LightObject(body, "CreateEmbeddingResponse"), record)
    fields = {**body, "data": [_embedding(Embedding, item) for item in body.get("data") or []]}
    if isinstance(body.get("usage"), dict):
        fields["usage"] = Usage.model_construct(**body["usage"])
    return attach_record(CreateEmbeddingResponse.model_construct(**fields), record)


def _embedding(model: Any, item: dict[str, Any]) -> Any:
    """One ``Embedding``, built with pydantic's plain ``model_construct``: its fields are flat,
    and the SDK's recursive construction walks a 1536-float vector element by element (~20x
    slower; the SDK itself sets decoded vectors after construction for that reason)."""
    try:
        from pydantic import BaseModel
        return BaseModel.model_construct.__func__(model, **item)  # type: ignore[attr-defined]
    except (ImportError, AttributeError, TypeError):
        obj = model.model_construct(**{**item, "embedding": ""})
        obj.embedding = item.get("embedding")
        return obj


class _EmbeddingsBase:
    """What the sync and async resources share: the plan, the upstream body, the answer."""

    def __init__(self, provider: Any, cache: EmbeddingCache, pii: str | None,
                 sdk: SDKTwin | None) -> None:
        self._provider = provider
        self._cache = cache
        self._pii = pii
        self._sdk = sdk

    def __getattr__(self, name: str) -> Any:
        return delegate(self._sdk, ("embeddings",), name, type(self).__name__)

    def _plan(self, kwargs: dict[str, Any]) -> tuple[Call, EmbeddingPlan]:
        call = split_call(kwargs)
        if call.options.bypass:
            return call, EmbeddingPlan(reason="bypass requested by the caller")
        return call, plan_embeddings(self._sent(call.body),
                                     client_parts(self._provider, call.http))

    @staticmethod
    def _sent(body: dict[str, Any]) -> dict[str, Any]:
        """The SDK's own rule: no ``encoding_format`` means base64 on the wire."""
        return body if body.get("encoding_format") is not None else {**body,
                                                                     "encoding_format": "base64"}

    def _served(self, call: Call, plan: EmbeddingPlan, found: dict[str, Found]) -> Any:
        """The response when every input was in the cache, else None."""
        if not plan.cacheable or not found or len(found) != len(set(plan.keys)):
            return None
        if call.body.get("encoding_format") is None:
            # floats straight from the float32 bytes: what the SDK's base64 decoding returns
            found = {k: Found(Vector(f.vector.data), f.model) for k, f in found.items()}
            plan = dataclasses.replace(plan, encoding_format="float")
        merged = hit_answer(plan, found, str(call.body.get("model")))
        return embedding_object(call, merged.response, merged.record)

    def _bypassed(self, call: Call, reason: str | None, upstream: dict[str, Any]) -> Any:
        """An upstream answer returned as it is (with the SDK's float decoding)."""
        record = EmbeddingsRecord("bypass", reason=reason,
                                  upstream_inputs=len(upstream.get("data") or ()))
        return embedding_object(call, upstream, record)


_UNMERGEABLE = "the upstream answer did not hold one embedding per input sent"


class CachedEmbeddings(_EmbeddingsBase):
    """``client.embeddings`` for a blocking cached client."""

    def create(self, **kwargs: Any) -> Any:
        """The SDK's ``create``; inputs embedded before come from the cache and only the
        others are sent upstream. Accepts ``cacheback=`` (``bypass``, ``refresh``, ``ttl``,
        ``pii``)."""
        call, plan = self._plan(kwargs)
        found = self._cache.lookup(plan) if not call.options.refresh else {}
        served = self._served(call, plan, found)
        if served is not None:
            return served
        if not plan.cacheable:
            return self._bypassed(call, plan.reason, self._post(self._sent(call.body), call))
        positions = plan.missing(found)
        upstream = self._post(upstream_body(plan, self._sent(call.body), positions), call)
        merged = merge_answer(plan, found, positions, upstream)
        if merged is None:
            if len(positions) != len(plan.keys):
                upstream = self._post(self._sent(call.body), call)
            return self._bypassed(call, _UNMERGEABLE, upstream)
        self._cache.store(plan, positions, merged.vectors, merged.model,
                          call.options.pii or self._pii, call.options.ttl)
        return embedding_object(call, merged.response, merged.record)

    def _post(self, body: dict[str, Any], call: Call) -> dict[str, Any]:
        try:
            return self._provider.create(body, **call.http)
        except APIError as exc:
            raise_as_sdk(exc, "openai")


class AsyncCachedEmbeddings(_EmbeddingsBase):
    """The asyncio twin of :class:`CachedEmbeddings` (cache work in a worker thread)."""

    async def create(self, **kwargs: Any) -> Any:
        """The SDK's ``create``, answered per input from the cache when it can be."""
        call, plan = self._plan(kwargs)
        found = ({} if call.options.refresh or not plan.cacheable
                 else await asyncio.to_thread(self._cache.lookup, plan))
        served = self._served(call, plan, found)
        if served is not None:
            return served
        if not plan.cacheable:
            upstream = await self._post(self._sent(call.body), call)
            return self._bypassed(call, plan.reason, upstream)
        positions = plan.missing(found)
        upstream = await self._post(upstream_body(plan, self._sent(call.body), positions), call)
        merged = merge_answer(plan, found, positions, upstream)
        if merged is None:
            if len(positions) != len(plan.keys):
                upstream = await self._post(self._sent(call.body), call)
            return self._bypassed(call, _UNMERGEABLE, upstream)
        await asyncio.to_thread(self._cache.store, plan, positions, merged.vectors,
                                merged.model, call.options.pii or self._pii, call.options.ttl)
        return embedding_object(call, merged.response, merged.record)

    async def _post(self, body: dict[str, Any], call: Call) -> dict[str, Any]:
        try:
            return await self._provider.create(body, **call.http)
        except APIError as exc:
            raise_as_sdk(exc, "openai")
