"""The cached routes, ``POST /v1/chat/completions``, ``POST /v1/responses`` and ``POST /v1/messages``.

Look the request up; answer a hit as the provider's JSON or as its replayed event stream;
otherwise relay the upstream's answer as it arrives and store it once it is complete. What is
cacheable, under which scope, and what a hit returns is decided by the engine the drop-in
clients use (``cacheback._clients.CacheAccess``); this module adds only HTTP. Any cache fault
is a miss, never an error.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .._clients import (
    AnthropicDialect,
    CacheAccess,
    CacheRecord,
    CallOptions,
    Dialect,
    OpenAIDialect,
    Plan,
)
from .._clients._flight import flight_key
from .._clients._request_parts import request_parts, with_request_parts
from ..pricing import usage_tokens
from ._admin import count_tenant
from ._controls import ControlError, Controls, parse_controls
from ._forward import UpstreamUnreachable, post_upstream
from ._http1 import UpstreamError, UpstreamResponse
from ._responses import RelayResponse, error_response, outcome_headers
from ._sse import StreamCapture, json_text, replay_bytes
from ._state import ProxyState
from ._tenant import NamespaceError, caller_key
from ._upstream import Api, response_headers

__all__ = ["cached_route"]

_DIALECTS: dict[Api, Dialect] = {"openai": OpenAIDialect(), "anthropic": AnthropicDialect()}
_TIER_OUTCOME = {"exact": "hit", "semantic": "semantic"}
_SSE_HEADERS = {"cache-control": "no-cache"}
#: Bodies above this are parsed in a worker thread, so a big one never stalls the event loop.
_PARSE_INLINE_BYTES = 256 * 1024


class _TooDeep(ValueError):
    """The body nests deeper than any JSON reader here can follow."""


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _json_object(raw: bytes) -> dict[str, Any] | None:
    """``raw`` as a JSON object, or None (then relayed as it is): ``NaN`` and ``Infinity``,
    which Python's reader would accept, are not JSON."""
    try:
        body = json.loads(raw, parse_constant=_not_json)
    except ValueError:
        return None
    except RecursionError as exc:
        raise _TooDeep("the JSON body is nested too deeply") from exc
    return body if isinstance(body, dict) else None


@dataclass(frozen=True)
class Incoming:
    """A cached route's request as read: ``namespace`` is None when the cache cannot be used
    (``reason`` says why)."""

    controls: Controls
    raw: bytes
    body: dict[str, Any] | None
    namespace: str | None
    reason: str | None = None


#: What :func:`read_incoming` raises for a request the proxy answers with a 400.
BAD_REQUEST = (ControlError, NamespaceError, _TooDeep)


async def read_incoming(request: Request, state: ProxyState) -> Incoming:
    """Controls, body (a big one parsed in a worker thread) and the caller's namespace."""
    controls = parse_controls(request.headers)
    raw = await request.body()
    body = (_json_object(raw) if len(raw) < _PARSE_INLINE_BYTES
            else await asyncio.to_thread(_json_object, raw))
    key = caller_key(request.headers)
    if key is None or body is None:
        reason = "no API key to keep tenants apart by" if key is None else "not a JSON object"
        return Incoming(controls, raw, body, None, reason)
    return Incoming(controls, raw, body, state.tenants.namespace(key, controls.namespace))


def cached_route(api: Api, dialect: Dialect | None = None) -> Any:
    """The Starlette endpoint of a cached route to ``api``'s upstream, under ``dialect``'s
    cache rules (by default the API's chat route: Chat Completions or Messages)."""
    rules = dialect or _DIALECTS[api]

    async def endpoint(request: Request) -> Response:
        state: ProxyState = request.app.state.proxy
        return await _serve(request, state, api, rules)

    endpoint.__name__ = f"{rules.name.replace('.', '_')}_cached"
    return endpoint


async def _plan(access: CacheAccess, body: dict[str, Any], controls: Controls) -> Plan:
    """The engine's plan for this body; one the rules cannot read goes upstream untouched."""
    try:
        return await access.aprepare(body, CallOptions(refresh=not controls.lookup,
                                                       ttl=controls.ttl, pii=controls.pii))
    except Exception as exc:  # noqa: BLE001 - the cache must never break the request
        return Plan.bypass(f"unreadable request: {type(exc).__name__}")


async def _serve(request: Request, state: ProxyState, api: Api, dialect: Dialect) -> Response:
    started = time.perf_counter()
    try:
        incoming = await read_incoming(request, state)
    except BAD_REQUEST as exc:
        state.metrics.inc("cacheback_proxy_errors_total", kind="bad_request")
        return error_response(api, 400, str(exc))
    controls, raw, body, namespace = (incoming.controls, incoming.raw, incoming.body,
                                      incoming.namespace)
    if namespace is None or body is None:
        return await _relay(request, state, api, raw, body, None, controls, incoming.reason)
    access = CacheAccess(state.cache, dialect, state.policy, namespace, state.config.ttl)
    plan = with_request_parts(await _plan(access, body, controls),
                              request_parts(request.headers.items(),
                                            request.scope["query_string"].decode("latin-1")))
    if plan.query is None:
        return await _relay(request, state, api, raw, body, None, controls, plan.reason)
    served = await _answer(state, access, plan, body)
    if served is None:
        flight = flight_key(namespace, plan)
        if await state.flights.follow(flight):
            state.metrics.inc("cacheback_proxy_coalesced_total", api=api)
            served = await _answer(state, access, plan, body)
    count_tenant(state, namespace, served is not None)
    if served is not None:
        return _answer_hit(state, api, access.dialect, served, body, started)
    flight = flight_key(namespace, plan) if controls.store else None
    done = state.flights.begin(flight)
    if done is None or flight is None:
        return await _relay(request, state, api, raw, body, (access, plan), controls, None)
    finish = functools.partial(state.flights.finish, flight, done)
    try:
        response = await _relay(request, state, api, raw, body, (access, plan), controls, None,
                                on_done=finish)
    except BaseException:
        finish()
        raise
    if not isinstance(response, RelayResponse):
        finish()
    return response


async def _answer(state: ProxyState, access: CacheAccess, plan: Plan, body: dict[str, Any]
                  ) -> tuple[dict[str, Any], CacheRecord] | None:
    """An exact-tier-only lookup (one indexed SQLite read) runs inline, as a thread hop would
    cost more than the read; one that may embed the query runs in a worker thread."""
    if plan.exact_only or state.cache.embedder is None:
        return access.answer(plan, body)
    return await access.aanswer(plan, body)


def _answer_hit(state: ProxyState, api: Api, dialect: Dialect,
                served: tuple[dict[str, Any], CacheRecord], body: dict[str, Any],
                started: float) -> Response:
    response, record = served
    metrics = state.metrics
    outcome = _TIER_OUTCOME.get(record.tier, record.tier)
    metrics.inc("cacheback_proxy_requests_total", route=api, outcome=outcome)
    metrics.inc("cacheback_proxy_hits_total", api=api, tier=record.tier)
    tokens_in, tokens_out = usage_tokens(response.get("usage"))
    metrics.inc("cacheback_proxy_tokens_saved_total", tokens_in, api=api, direction="input")
    metrics.inc("cacheback_proxy_tokens_saved_total", tokens_out, api=api, direction="output")
    metrics.inc("cacheback_proxy_dollars_saved_total", record.cost_saved_usd, api=api)
    headers = outcome_headers(outcome, record.similarity)
    if body.get("stream"):
        answer = Response(replay_bytes(dialect.spec, response, body),
                          media_type="text/event-stream", headers={**headers, **_SSE_HEADERS})
    else:
        answer = Response(json_text(response).encode(), media_type="application/json",
                          headers=headers)
    metrics.observe("cacheback_proxy_hit_seconds", time.perf_counter() - started, api=api)
    return answer


_Store = tuple[CacheAccess, Plan]


async def _relay(request: Request, state: ProxyState, api: Api, raw: bytes,
                 body: dict[str, Any] | None, target: _Store | None, controls: Controls,
                 reason: str | None, on_done: Callable[[], None] | None = None) -> Response:
    """Send the request upstream unchanged; store the answer when it is complete and allowed."""
    metrics = state.metrics
    started = time.perf_counter()
    outcome = "miss" if target is not None else "bypass"
    try:
        upstream = await post_upstream(state.upstream, api, request, raw, metrics)
    except UpstreamUnreachable as exc:
        metrics.inc("cacheback_proxy_requests_total", route=api, outcome="error")
        return exc.response
    headers = {**response_headers(upstream.headers, decoded=True),
               **outcome_headers(outcome, reason=reason)}
    if upstream.is_error:
        metrics.inc("cacheback_proxy_errors_total", kind="upstream_status")
    metrics.inc("cacheback_proxy_requests_total", route=api,
                outcome=outcome if upstream.is_success else "error")
    if target is not None:
        metrics.inc("cacheback_proxy_misses_total", api=api)
    store = target if target is not None and controls.store and upstream.is_success else None
    streaming = (upstream.header("content-type") or "").startswith("text/event-stream")
    if streaming and body is not None and body.get("stream"):
        capture = None
        if store is not None:
            capture = StreamCapture(store[0].dialect.spec, upstream.status_code, upstream.headers,
                                    state.upstream.url(api, request.scope["path"]))

        async def close() -> None:
            try:
                await upstream.aclose()
            finally:
                if on_done is not None:
                    on_done()

        return RelayResponse(_relay_events(state, api, upstream, capture, started, store,
                                           on_done),
                             status_code=upstream.status_code, headers=headers, on_close=close)
    try:
        content = await upstream.aread()
    except UpstreamError as exc:
        metrics.inc("cacheback_proxy_errors_total", kind="upstream_unreachable")
        return error_response(api, 502, f"the {api} upstream broke off its answer: {exc}")
    finally:
        await upstream.aclose()
    metrics.observe("cacheback_proxy_upstream_seconds", time.perf_counter() - started, api=api)
    if store is not None and not streaming:
        await _store_json(state, api, store, content)
    return Response(content, status_code=upstream.status_code, headers=headers)


async def _relay_events(state: ProxyState, api: Api, upstream: UpstreamResponse,
                        capture: StreamCapture | None, started: float,
                        store: _Store | None = None,
                        on_done: Callable[[], None] | None = None) -> AsyncIterator[bytes]:
    """Pass the upstream's stream on chunk by chunk, folding its events into ``capture``. The
    answer is stored as soon as its end marker has arrived and before the chunk carrying it is
    passed on: a repeat sent once the caller has the whole stream finds it (read-your-writes);
    a stream cut short is never stored."""
    stored = False
    async for chunk in upstream.aiter_bytes():
        if capture is not None and not stored:
            capture.feed(chunk)
            answer = capture.result()
            if answer is not None and store is not None:
                await _store(state, api, store, answer)
                stored = True
                if on_done is not None:
                    on_done()
        yield chunk
    state.metrics.observe("cacheback_proxy_upstream_seconds", time.perf_counter() - started, api=api)


async def _store_json(state: ProxyState, api: Api, target: _Store, content: bytes) -> None:
    """Store a complete JSON answer before it is returned, so a repeat sent once the caller has
    it is a hit (read-your-writes)."""
    try:
        answer = _json_object(content)
    except _TooDeep:
        return
    if answer is not None:
        await _store(state, api, target, answer)


async def _store(state: ProxyState, api: Api, target: _Store, answer: dict[str, Any]) -> None:
    access, plan = target
    if await access.afinish(plan, answer) is not None:
        state.metrics.inc("cacheback_proxy_stored_total", api=api)
