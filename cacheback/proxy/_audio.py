"""``POST /v1/audio/transcriptions`` and ``/v1/audio/translations``: exact caching of the
answer per audio file and parameters (``cacheback._clients.audio_key``); anything the proxy
cannot read is relayed untouched, and any cache fault is a miss."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from .._clients._audio import AudioCache, AudioKey, audio_key
from ._controls import ControlError, parse_controls
from ._forward import UpstreamUnreachable, forward, post_upstream
from ._http1 import UpstreamError
from ._multipart import MultipartError, parse_form
from ._responses import error_response, outcome_headers
from ._state import ProxyState
from ._tenant import NamespaceError, caller_key
from ._upstream import response_headers

__all__ = ["audio_route"]


def _key(request: Request, raw: bytes, endpoint: str) -> AudioKey:
    try:
        form = parse_form(request.headers.get("content-type", ""), raw)
    except MultipartError as exc:
        return AudioKey(None, reason=f"unreadable form: {exc}")
    return audio_key(endpoint, form.fields, form.file, form.filename)


def audio_route(endpoint: str) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint for one audio endpoint."""

    async def route(request: Request) -> Response:
        state: ProxyState = request.app.state.proxy
        api_key = caller_key(request.headers)
        if api_key is None:
            return await forward(request, state.upstream, state.metrics)
        try:
            controls = parse_controls(request.headers)
            namespace = state.tenants.namespace(api_key, controls.namespace)
        except (ControlError, NamespaceError) as exc:
            return error_response("openai", 400, str(exc))
        raw = await request.body()
        key = await asyncio.to_thread(_key, request, raw, endpoint)
        audio = AudioCache(state.cache, namespace, controls.ttl or state.config.ttl)
        lookup = key.query is not None and controls.lookup
        answer = await asyncio.to_thread(audio.lookup, key) if lookup else None
        route_name = f"audio.{endpoint}"
        if answer is not None:
            state.metrics.inc("cacheback_proxy_requests_total", route=route_name, outcome="hit")
            return Response(answer.body.encode("utf-8"), media_type=answer.content_type,
                            headers=outcome_headers("hit", 1.0))
        outcome = "miss" if key.query else "bypass"
        try:
            upstream = await post_upstream(state.upstream, "openai", request, raw, state.metrics)
        except UpstreamUnreachable as exc:
            return exc.response
        try:
            content = await upstream.aread()
        except UpstreamError as exc:
            return error_response("openai", 502, f"the openai upstream broke off its answer: {exc}")
        finally:
            await upstream.aclose()
        state.metrics.inc("cacheback_proxy_requests_total", route=route_name,
                          outcome=outcome if upstream.is_success else "error")
        content_type = upstream.header("content-type") or "application/json"
        if key.query and controls.store and upstream.is_success:
            await asyncio.to_thread(audio.store, key, content.decode("utf-8", errors="replace"),
                                    content_type)
        headers = {**response_headers(upstream.headers, decoded=True),
                   **outcome_headers(outcome, reason=key.reason)}
        return Response(content, status_code=upstream.status_code, headers=headers)

    route.__name__ = f"audio_{endpoint}"
    return route
