"""The two cached routes, ``POST /v1/chat/completions`` and ``POST /v1/messages``.

Look the request up; answer a hit as the provider's JSON or as its replayed event stream;
otherwise relay the upstream's answer as it arrives and store it once it is complete. Deciding
what is cacheable and under which scope is the shared engine's job (the same one the drop-in
clients use); this module adds only HTTP. Any cache fault is a miss, never an error.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from .._clients import AnthropicDialect, CachePolicy, CallOptions, OpenAIDialect
from .._clients._access import CacheAccess
from .._clients._dialects import Dialect
from .._clients._policy import Plan
from .._types import Hit
from ..pricing import usage_tokens
from ..providers import encode_event
from ..providers._api import END_OF_STREAM, ApiSpec
from ..providers._sse import SSEDecoder
from ._controls import ControlError, Controls, parse_controls
from ._forward import UpstreamUnreachable, open_upstream
from ._responses import RelayResponse, error_response, outcome_headers
from ._state import ProxyState
from ._tenant import NamespaceError, caller_key
from ._upstream import Api, response_headers

__all__ = ["cached_route"]

log = logging.getLogger("cacheback.proxy")

_DIALECTS: dict[Api, Dialect] = {"openai": OpenAIDialect(), "anthropic": AnthropicDialect()}
_TIER_OUTCOME = {"exact": "hit", "semantic": "semantic"}
_SSE_HEADERS = {"cache-control": "no-cache"}


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def cached_route(api: Api) -> Any:
    """The Starlette endpoint for ``api``'s cached route."""

    async def endpoint(request: Request) -> Response:
        state: ProxyState = request.app.state.proxy
        return await _serve(request, state, api)

    endpoint.__name__ = f"{api}_cached"
    return endpoint


def _plan(dialect: Dialect, policy: CachePolicy, body: dict[str, Any] | None, key: str | None,
          controls: Controls) -> Plan:
    """The engine's plan for this request; no key or an unreadable body bypasses the cache."""
    if key is None:
        return Plan.bypass("no API key: nothing to keep tenants apart by")
    if body is None:
        return Plan.bypass("the body is not a JSON object")
    try:
        return dialect.plan(body, policy, CallOptions(refresh=not controls.lookup, ttl=controls.ttl))
    except Exception as exc:  # noqa: BLE001 - a body the rules cannot read goes upstream as is
        return Plan.bypass(f"unreadable request: {type(exc).__name__}")


async def _serve(request: Request, state: ProxyState, api: Api) -> Response:
    started = time.perf_counter()
    metrics = state.metrics
    try:
        controls = parse_controls(request.headers)
        raw = await request.body()
        body = _json_object(raw)
        key = caller_key(request.headers)
        dialect = _DIALECTS[api]
        plan = _plan(dialect, state.policy, body, key, controls)
        if plan.query is None or key is None:
            return await _relay(request, state, api, raw, body, None, controls, plan.reason)
        namespace = state.tenants.namespace(key, controls.namespace)
    except (ControlError, NamespaceError) as exc:
        metrics.inc("cacheback_proxy_errors_total", kind="bad_request")
        return error_response(api, 400, str(exc))
    access = CacheAccess(state.cache, dialect, state.policy, namespace, state.config.ttl)
    if plan.lookup:
        hit = await anyio.to_thread.run_sync(access.lookup, plan)
        if hit is not None:
            return _answer_hit(state, api, access, plan, hit, body or {}, started)
    return await _relay(request, state, api, raw, body, (access, plan), controls, None)


def _answer_hit(state: ProxyState, api: Api, access: CacheAccess, plan: Plan, hit: Hit,
                body: dict[str, Any], started: float) -> Response:
    response = access.response_for(hit, body)
    record = access.record_for(hit, response, plan)
    metrics = state.metrics
    outcome = _TIER_OUTCOME[record.tier]
    metrics.inc("cacheback_proxy_requests_total", route=api, outcome=outcome)
    metrics.inc("cacheback_proxy_hits_total", api=api, tier=record.tier)
    tokens_in, tokens_out = usage_tokens(response.get("usage"))
    metrics.inc("cacheback_proxy_tokens_saved_total", tokens_in, api=api, direction="input")
    metrics.inc("cacheback_proxy_tokens_saved_total", tokens_out, api=api, direction="output")
    metrics.inc("cacheback_proxy_dollars_saved_total", record.cost_saved_usd, api=api)
    headers = outcome_headers(outcome, hit.similarity)
    if body.get("stream"):
        answer = Response(_sse(access.dialect.spec, api, response, body),
                          media_type="text/event-stream", headers={**headers, **_SSE_HEADERS})
    else:
        answer = Response(json.dumps(response, ensure_ascii=False).encode(),
                          media_type="application/json", headers=headers)
    metrics.observe("cacheback_proxy_hit_seconds", time.perf_counter() - started, api=api)
    return answer


def _sse(spec: ApiSpec, api: Api, response: dict[str, Any], request: dict[str, Any]) -> bytes:
    """The SSE bytes the provider would have streamed for ``response``."""
    frames = [encode_event(json.dumps(event, ensure_ascii=False),
                           event["type"] if api == "anthropic" else None)
              for event in spec.replay(response, request)]
    if api == "openai":
        frames.append(encode_event("[DONE]"))
    return b"".join(frames)


_Store = tuple[CacheAccess, Plan]


async def _relay(request: Request, state: ProxyState, api: Api, raw: bytes,
                 body: dict[str, Any] | None, target: _Store | None, controls: Controls,
                 reason: str | None) -> Response:
    """Send the request upstream unchanged; store the answer when it is complete and allowed."""
    metrics = state.metrics
    started = time.perf_counter()
    outcome = "miss" if target is not None else "bypass"
    try:
        upstream = await open_upstream(state.upstream, api, request, raw, decoded=True,
                                       metrics=metrics)
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
    streaming = upstream.headers.get("content-type", "").startswith("text/event-stream")
    if streaming and body is not None and body.get("stream"):
        return RelayResponse(_relay_events(state, api, upstream, store, started),
                             status_code=upstream.status_code, headers=headers,
                             on_close=upstream.aclose)
    try:
        content = await upstream.aread()
    except httpx.HTTPError as exc:
        metrics.inc("cacheback_proxy_errors_total", kind="upstream_unreachable")
        return error_response(api, 502, f"the {api} upstream broke off its answer: {type(exc).__name__}")
    finally:
        await upstream.aclose()
    metrics.observe("cacheback_proxy_upstream_seconds", time.perf_counter() - started, api=api)
    answer = _json_object(content) if store is not None and not streaming else None
    task = None
    if store is not None and answer is not None:
        task = BackgroundTask(_store, state, api, store, answer)
    return Response(content, status_code=upstream.status_code, headers=headers, background=task)


async def _relay_events(state: ProxyState, api: Api, upstream: httpx.Response,
                        store: _Store | None, started: float) -> AsyncIterator[bytes]:
    """Pass the upstream's stream on chunk by chunk while folding its events; store the folded
    answer only if the stream reached the provider's end marker complete."""
    capture = _StreamCapture(store[0].dialect.spec, upstream) if store is not None else None
    async for chunk in upstream.aiter_bytes():
        yield chunk
        if capture is not None:
            capture.feed(chunk)
    state.metrics.observe("cacheback_proxy_upstream_seconds", time.perf_counter() - started, api=api)
    answer = capture.result() if capture is not None else None
    if store is not None and answer is not None:
        await _store(state, api, store, answer)


async def _store(state: ProxyState, api: Api, target: _Store, answer: dict[str, Any]) -> None:
    access, plan = target
    verdict = access.verdict(plan, answer)
    if verdict.store:
        await anyio.to_thread.run_sync(access.store, plan, answer, verdict)
        state.metrics.inc("cacheback_proxy_stored_total", api=api)


class _StreamCapture:
    """Decodes relayed SSE bytes and folds the events; any surprise just disables storing."""

    def __init__(self, spec: ApiSpec, response: httpx.Response) -> None:
        self._spec = spec
        self._response = response
        self._decoder = SSEDecoder()
        self._accumulator = spec.accumulator()
        self._finished = False
        self._broken = False

    def feed(self, chunk: bytes) -> None:
        if self._broken or self._finished:
            return
        try:
            for sse in self._decoder.feed(chunk):
                event = self._spec.decode_event(sse, self._response)
                if event is END_OF_STREAM:
                    self._finished = True
                elif event is not None:
                    self._accumulator.add(event)
                    self._finished = self._spec.is_last_event(event)
        except Exception:  # noqa: BLE001 - error events and bad JSON mean "do not store"
            self._broken = True

    def result(self) -> dict[str, Any] | None:
        """The assembled answer if the stream ended properly and every part finished."""
        if self._broken or not self._finished or not self._accumulator.complete:
            return None
        return self._accumulator.result()
