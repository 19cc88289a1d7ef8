"""Exact caching of embeddings (``/v1/embeddings``), one entry per input, shared by the clients
and the proxy.

An embedding is a deterministic function of the model, the parameters and one input, so only
the exact tier is used (no semantic tier: a paraphrase has another vector). The key of an input
is the sha256 of its text (or of its token array); the scope holds ``api``, every body
parameter except ``input``, ``encoding_format`` and ``user`` (``model``, ``dimensions`` and
anything passed in ``extra_body``), and the request parts outside the body (query string such
as Azure's ``api-version``, answer-shaping headers, the Azure deployment). ``user`` is an abuse
monitoring tag: it does not change the vector, so it is not keyed.

The vector is stored once, as the base64 of its float32 bytes (8 kB for 1536 dimensions; no
JSON float list), and rendered in whichever ``encoding_format`` a later call asks for
(``cacheback.providers.openai_embeddings``). A batch is split into the inputs found and the
inputs missing; only the missing ones (each once) go upstream, in one request, and the answer is
merged back in the caller's order with ``index`` renumbered. ``usage`` then counts only the
tokens sent upstream by this call, what it was billed: 0 when every input was cached.

Personal data: the inputs are not stored as text (the key is a digest), but the vector of a
text is derived from it, so under the PII modes "bypass" and "redact" a text in which the
scanner finds personal data is answered (from upstream) and not stored. Token arrays cannot be
read, so they are stored only when the PII mode is "off". Any cache fault is a miss.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..cache import SemanticCache
from ..providers.openai_embeddings import (
    FLOAT_STYLES,
    EmbeddingInput,
    Vector,
    embedding_inputs,
    embeddings_response,
    render_vector,
    response_vectors,
    token_usage,
)
from ._record import CacheRecord

__all__ = ["EMBEDDINGS_API", "EmbeddingCache", "EmbeddingPlan", "EmbeddingsRecord", "Merged",
           "merge_answer", "plan_embeddings", "upstream_body"]

log = logging.getLogger("cacheback.clients")

EMBEDDINGS_API = "openai.embeddings"
_UNSCOPED = frozenset({"input", "encoding_format", "user"})
_FORMATS = frozenset({"float", "base64"})


@dataclass(frozen=True)
class EmbeddingsRecord(CacheRecord):
    """``.cacheback`` of an embeddings response: ``tier`` is "exact" when every input came
    from the cache (``.cacheback_hit`` is then True), "miss" when some or all went upstream,
    "bypass" when the cache was not used; ``cached_inputs`` / ``upstream_inputs`` count them."""

    cached_inputs: int = 0
    upstream_inputs: int = 0

    @property
    def partial(self) -> bool:
        """Some inputs came from the cache and some from the upstream."""
        return self.cached_inputs > 0 and self.upstream_inputs > 0


@dataclass(frozen=True)
class EmbeddingPlan:
    """How one embeddings request uses the cache; ``reason`` says why it bypasses (then
    ``inputs`` is empty)."""

    inputs: list[EmbeddingInput] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    single: bool = False
    scope: dict[str, Any] = field(default_factory=dict)
    encoding_format: str = "float"
    dimensions: int | None = None
    reason: str | None = None

    @property
    def cacheable(self) -> bool:
        """Whether the cache is used at all."""
        return self.reason is None

    def missing(self, found: Mapping[str, Any]) -> list[int]:
        """Positions of the first occurrence of each input not in ``found``, in order."""
        seen: set[str] = set()
        out = []
        for position, key in enumerate(self.keys):
            if key not in found and key not in seen:
                seen.add(key)
                out.append(position)
        return out


def input_key(item: EmbeddingInput) -> str:
    """The cache key of one input: a digest, so the text itself is never stored."""
    if isinstance(item, str):
        raw = b"text\0" + item.encode("utf-8", "surrogatepass")
    else:
        raw = b"tokens\0" + ",".join(map(str, item)).encode("ascii")
    return "embedding-sha256:" + hashlib.sha256(raw).hexdigest()


def _bypass(reason: str) -> EmbeddingPlan:
    return EmbeddingPlan(reason=reason)


def plan_embeddings(body: Mapping[str, Any], parts: Mapping[str, Any] | None = None
                    ) -> EmbeddingPlan:
    """The plan for an embeddings request ``body`` with request ``parts`` outside it
    (``cacheback._clients._request_parts.request_parts``)."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return _bypass("no model")
    fmt = body.get("encoding_format")
    fmt = "float" if fmt is None else fmt
    if fmt not in _FORMATS:
        return _bypass(f"encoding_format {fmt!r} is not cached")
    dimensions = body.get("dimensions")
    if dimensions is not None and (type(dimensions) is not int or dimensions <= 0):
        return _bypass("dimensions is not a positive integer")
    parsed = embedding_inputs(body.get("input"))
    if parsed is None:
        return _bypass("input is not a text, a token array or a list of them")
    inputs, single = parsed
    scope = {k: v for k, v in body.items() if k not in _UNSCOPED and v is not None}
    scope["api"] = EMBEDDINGS_API
    if parts:
        scope["request"] = dict(parts)
    return EmbeddingPlan(inputs, [input_key(i) for i in inputs], single, scope, fmt, dimensions)


def upstream_body(plan: EmbeddingPlan, body: Mapping[str, Any], positions: Sequence[int]
                  ) -> dict[str, Any]:
    """``body`` asking only for the inputs at ``positions`` (the original ``input`` when that
    is all of them, so a full miss sends the request unchanged)."""
    if len(positions) == len(plan.inputs):
        return dict(body)
    picked = [plan.inputs[p] for p in positions]
    return {**body, "input": [i if isinstance(i, str) else list(i) for i in picked]}


@dataclass(frozen=True)
class Found:
    """A cached vector and the ``model`` the upstream named when it was stored."""

    vector: Vector
    model: str


class EmbeddingCache:
    """Looks up and stores embeddings in one namespace of a ``SemanticCache``; failures are
    misses, logged once."""

    def __init__(self, cache: SemanticCache, namespace: str, ttl: float | None = None) -> None:
        self.cache = cache
        self.namespace = namespace
        self.ttl = ttl
        self._warned = False

    def _failed(self, action: str, exc: BaseException) -> None:
        level = logging.DEBUG if self._warned else logging.WARNING
        self._warned = True
        log.log(level, "cacheback: embeddings %s failed, using the upstream instead: %r",
                action, exc)

    def lookup(self, plan: EmbeddingPlan) -> dict[str, Found]:
        """The cached vectors of ``plan``'s inputs, by key (exact tier only)."""
        found: dict[str, Found] = {}
        if not plan.cacheable:
            return found
        try:
            for key in dict.fromkeys(plan.keys):
                hit = self.cache.get(key, namespace=self.namespace, scope=plan.scope,
                                     semantic=False, pii="off")
                if hit is not None and (entry := _stored(hit.response, hit.metadata or {},
                                                          plan.dimensions)) is not None:
                    found[key] = entry
        except Exception as exc:  # noqa: BLE001 - the cache must never break the call
            self._failed("lookup", exc)
            return {}
        return found

    def store(self, plan: EmbeddingPlan, positions: Sequence[int],
              vectors: Sequence[Vector | None], model: str, pii: str | None = None,
              ttl: float | None = None) -> int:
        """Store the upstream's ``vectors`` for the inputs at ``positions``; how many were
        stored. ``pii`` is the call's PII mode (None: the cache's); ``ttl`` this call's
        lifetime in seconds (None: the cache's)."""
        mode = pii or self.cache.pii
        stored = 0
        try:
            keep: list[tuple[int, Vector]] = []
            for position, vector in zip(positions, vectors, strict=True):
                if vector is not None and self._storable(plan, plan.inputs[position], vector,
                                                         mode):
                    keep.append((position, vector))
            storage = self.cache.storage if len(keep) > 1 else None
            with storage.transaction() if storage is not None else contextlib.nullcontext():
                for position, vector in keep:  # one transaction for the batch (not one each)
                    entry = self.cache.put(
                        plan.keys[position], base64.b64encode(vector.data).decode("ascii"),
                        namespace=self.namespace, scope=plan.scope, ttl=ttl or self.ttl,
                        pii="off", semantic=False,
                        metadata={"api": EMBEDDINGS_API, "model": model,
                                  "float_style": vector.style, "dimensions": vector.dimensions,
                                  "exact_only": True})
                    stored += entry is not None
        except Exception as exc:  # noqa: BLE001 - the cache must never break the call
            self._failed("store", exc)
            return 0
        return stored

    def _storable(self, plan: EmbeddingPlan, item: EmbeddingInput, vector: Vector,
                  mode: str) -> bool:
        """Whether an upstream vector may be stored: a vector of the asked size, for an input
        without personal data (a token array cannot be read: only under PII mode "off")."""
        if plan.dimensions is not None and vector.dimensions != plan.dimensions:
            return False
        return mode == "off" or (isinstance(item, str)
                                 and self.cache.screen(item, pii=mode).action == "clean")


def _stored(response: str, metadata: Mapping[str, Any], dimensions: int | None) -> Found | None:
    """A stored entry as a vector, or None when it is not one (then it is a miss)."""
    if metadata.get("api") != EMBEDDINGS_API:
        return None
    try:
        data = base64.b64decode(response, validate=True)
    except (binascii.Error, ValueError):
        return None
    style = metadata.get("float_style")
    if not data or len(data) % 4 or (dimensions is not None and len(data) != 4 * dimensions):
        return None
    return Found(Vector(data, style if style in FLOAT_STYLES else None),
                 str(metadata.get("model") or ""))


@dataclass(frozen=True)
class Merged:
    """The response to return, and the upstream vectors to store (by position)."""

    response: dict[str, Any]
    record: EmbeddingsRecord
    vectors: list[Vector | None]
    model: str


def hit_answer(plan: EmbeddingPlan, found: Mapping[str, Found], model: str) -> Merged:
    """The response when every input was found."""
    rendered = [render_vector(found[key].vector, plan.encoding_format) for key in plan.keys]
    served_model = found[plan.keys[0]].model or model
    record = EmbeddingsRecord("exact", similarity=1.0, cached_inputs=len(plan.keys))
    return Merged(embeddings_response(rendered, served_model, None), record, [], served_model)


def merge_answer(plan: EmbeddingPlan, found: Mapping[str, Found], positions: Sequence[int],
                 upstream: Mapping[str, Any]) -> Merged | None:
    """The upstream's answer for the inputs at ``positions`` merged with ``found`` in input
    order, or None when that answer does not hold one embedding per input sent."""
    vectors = response_vectors(upstream, len(positions))
    if vectors is None:
        return None
    model = str(upstream.get("model") or plan.scope.get("model") or "")
    fresh: dict[str, Any] = {}
    for item in upstream["data"]:
        fresh[plan.keys[positions[item["index"]]]] = item["embedding"]
    if not found and len(positions) == len(plan.keys):
        answer = dict(upstream)
    else:
        rendered = [fresh[key] if key in fresh else render_vector(found[key].vector,
                                                                  plan.encoding_format)
                    for key in plan.keys]
        answer = embeddings_response(rendered, model, token_usage(upstream))
    cached = sum(1 for key in plan.keys if key not in fresh)
    record = EmbeddingsRecord("miss", cached_inputs=cached,
                              upstream_inputs=len(plan.keys) - cached)
    return Merged(answer, record, vectors, model)
