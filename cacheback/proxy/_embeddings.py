"""``POST /v1/embeddings``: exact caching per input (``cacheback._clients._embeddings``).

Inputs found in the tenant's namespace are answered from the cache; the others (each once) go
upstream in one request and the answers are merged back in the caller's order. A full miss is
relayed byte for byte; a request the proxy cannot read, or an upstream error, is relayed as it
is. ``X-Cacheback`` says ``hit`` (every input cached), ``partial``, ``miss`` or ``bypass``, and
``X-Cacheback-Cached-Inputs`` how many of how many inputs the cache answered. Any cache fault
is a miss.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .._clients._embeddings import (
    EMBEDDINGS_API,
    EmbeddingCache,
    EmbeddingPlan,
    hit_answer,
    merge_answer,
    plan_embeddings,
    upstream_body,
)
from .._clients._request_parts import request_parts
from ._admin import count_tenant
from ._cached import BAD_REQUEST, _json_object, read_incoming
from ._controls import Controls
from ._forward import UpstreamUnreachable, post_upstream
from ._http1 import UpstreamError
from ._responses import error_response, outcome_headers
from ._state import ProxyState
from ._upstream import response_headers

__all__ = ["CACHED_INPUTS_HEADER", "embeddings_route"]

CACHED_INPUTS_HEADER = "x-cacheback-cached-inputs"
_ROUTE = "embeddings"


async def embeddings_route(request: Request) -> Response:
    """The Starlette endpoint."""
    state: ProxyState = request.app.state.proxy
    started = time.perf_counter()
    try:
        incoming = await read_incoming(request, state)
    except BAD_REQUEST as exc:
        state.metrics.inc("cacheback_proxy_errors_total", kind="bad_request")
        return error_response("openai", 400, str(exc))
    body, namespace, controls = incoming.body, incoming.namespace, incoming.controls
    if namespace is None or body is None:
        return await _relay(request, state, incoming.raw, incoming.reason)
    plan = plan_embeddings(body, request_parts(request.headers.items(),
                                               request.scope["query_string"].decode("latin-1")))
    if not plan.cacheable:
        return await _relay(request, state, incoming.raw, plan.reason)
    store = EmbeddingCache(state.cache, namespace, controls.ttl or state.config.ttl)
    found = await asyncio.to_thread(store.lookup, plan) if controls.lookup else {}
    complete = bool(found) and len(found) == len(set(plan.keys))
    count_tenant(state, namespace, complete)
    if complete:
        merged = hit_answer(plan, found, str(body.get("model")))
        state.metrics.inc("cacheback_proxy_requests_total", route=_ROUTE, outcome="hit")
        state.metrics.inc("cacheback_proxy_hits_total", api=EMBEDDINGS_API, tier="exact")
        state.metrics.observe("cacheback_proxy_hit_seconds", time.perf_counter() - started,
                              api=EMBEDDINGS_API)
        return Response(json.dumps(merged.response, separators=(",", ":")).encode(),
                        media_type="application/json",
                        headers={**outcome_headers("hit", 1.0), **_counted(plan, len(plan.keys))})
    return await _ask(request, state, incoming.raw, body, plan, found, store, controls)


def _counted(plan: EmbeddingPlan, cached: int) -> dict[str, str]:
    return {CACHED_INPUTS_HEADER: f"{cached}/{len(plan.keys)}"}


async def _ask(request: Request, state: ProxyState, raw: bytes, body: dict[str, Any],
               plan: EmbeddingPlan, found: dict[str, Any], store: EmbeddingCache,
               controls: Controls) -> Response:
    """Send the missing inputs upstream once, store their vectors, answer in input order."""
    positions = plan.missing(found)
    full = len(positions) == len(plan.keys)
    sent = raw if full else json.dumps(upstream_body(plan, body, positions),
                                       ensure_ascii=False, separators=(",", ":")).encode()
    fetched = await _fetch(request, state, sent)
    if isinstance(fetched, Response):
        return fetched
    status, headers, content = fetched
    answer = await asyncio.to_thread(_json_object, content) if status < 300 else None
    merged = merge_answer(plan, found, positions, answer) if answer is not None else None
    if merged is None:
        if full or status >= 300:
            outcome = "miss" if status < 300 else "error"
            state.metrics.inc("cacheback_proxy_requests_total", route=_ROUTE, outcome=outcome)
            return Response(content, status_code=status,
                            headers={**headers, **outcome_headers(outcome)})
        return await _relay(request, state, raw, "the upstream answer could not be merged")
    state.metrics.inc("cacheback_proxy_misses_total", api=EMBEDDINGS_API)
    stored = 0
    if controls.store:
        stored = await asyncio.to_thread(store.store, plan, positions, merged.vectors,
                                         merged.model, controls.pii)
    if stored:
        state.metrics.inc("cacheback_proxy_stored_total", api=EMBEDDINGS_API)
    outcome = "miss" if full else "partial"
    state.metrics.inc("cacheback_proxy_requests_total", route=_ROUTE, outcome=outcome)
    marks = {**outcome_headers(outcome), **_counted(plan, merged.record.cached_inputs)}
    if full:
        return Response(content, status_code=status, headers={**headers, **marks})
    headers.pop("content-type", None)
    return Response(json.dumps(merged.response, separators=(",", ":")).encode(),
                    media_type="application/json", headers={**headers, **marks})


async def _fetch(request: Request, state: ProxyState, sent: bytes
                 ) -> tuple[int, dict[str, str], bytes] | Response:
    """(status, headers to relay, body) of the upstream's answer to ``sent``, or the
    proxy's own error response when there is none."""
    started = time.perf_counter()
    try:
        upstream = await post_upstream(state.upstream, "openai", request, sent, state.metrics)
    except UpstreamUnreachable as exc:
        state.metrics.inc("cacheback_proxy_requests_total", route=_ROUTE, outcome="error")
        return exc.response
    try:
        content = await upstream.aread()
    except UpstreamError as exc:
        state.metrics.inc("cacheback_proxy_errors_total", kind="upstream_unreachable")
        return error_response("openai", 502, f"the openai upstream broke off its answer: {exc}")
    finally:
        await upstream.aclose()
    if upstream.is_error:
        state.metrics.inc("cacheback_proxy_errors_total", kind="upstream_status")
    state.metrics.observe("cacheback_proxy_upstream_seconds", time.perf_counter() - started,
                          api=EMBEDDINGS_API)
    return upstream.status_code, response_headers(upstream.headers, decoded=True), content


async def _relay(request: Request, state: ProxyState, raw: bytes, reason: str | None
                 ) -> Response:
    """The request sent upstream as it is, the answer returned as it is (cache bypassed)."""
    fetched = await _fetch(request, state, raw)
    if isinstance(fetched, Response):
        return fetched
    status, headers, content = fetched
    state.metrics.inc("cacheback_proxy_requests_total", route=_ROUTE,
                      outcome="bypass" if status < 300 else "error")
    return Response(content, status_code=status,
                    headers={**headers, **outcome_headers("bypass", reason=reason)})
