"""Sending requests upstream: the cached routes' through the HTTP/1.1 pool, and pass-through
requests, which the proxy does not cache, byte for byte both ways through httpx."""

from __future__ import annotations

from collections.abc import AsyncIterable

import httpx
from starlette.requests import Request
from starlette.responses import Response

from ._http1 import UpstreamError, UpstreamResponse, UpstreamTimeout
from ._metrics import Metrics
from ._responses import RelayResponse, error_response
from ._upstream import (
    Api,
    Upstream,
    pick_api,
    pool_headers,
    request_headers,
    response_headers,
    unsafe_path,
)

__all__ = ["UpstreamUnreachable", "forward", "open_upstream", "post_upstream"]


class UpstreamUnreachable(Exception):
    """The upstream gave no response; carries the proxy's own error response for the caller."""

    def __init__(self, response: Response) -> None:
        super().__init__("upstream unreachable")
        self.response = response


def _unreachable(api: Api, detail: str, timed_out: bool, metrics: Metrics) -> UpstreamUnreachable:
    metrics.inc("cacheback_proxy_errors_total", kind="upstream_unreachable")
    return UpstreamUnreachable(error_response(
        api, 504 if timed_out else 502, f"cacheback-proxy could not reach the {api} upstream: {detail}"))


async def post_upstream(upstream: Upstream, api: Api, request: Request, body: bytes,
                        metrics: Metrics) -> UpstreamResponse:
    """POST a cached route's request, body as received, through the HTTP/1.1 pool; the
    response body is still unread. No retries (see :func:`open_upstream`)."""
    url = upstream.url(api, request.scope["path"], request.scope["query_string"].decode("latin-1"))
    try:
        return await upstream.pool.request("POST", url, pool_headers(request.scope["headers"]), body)
    except UpstreamError as exc:
        raise _unreachable(api, str(exc), isinstance(exc, UpstreamTimeout), metrics) from exc


async def open_upstream(upstream: Upstream, api: Api, request: Request,
                        content: bytes | AsyncIterable[bytes], metrics: Metrics) -> httpx.Response:
    """Send the caller's request as it is to ``api``'s upstream; the response body is still
    unread and undecoded.

    No retries here: the caller's SDK retries on its own, and retrying twice multiplies waits.
    """
    url = upstream.url(api, request.url.path, request.url.query)
    # header values go on as the bytes that came in (starlette decodes them as latin-1; httpx
    # would encode str values as ASCII and raise on any other byte)
    headers = [(k.encode("latin-1"), v.encode("latin-1"))
               for k, v in request_headers(request.headers.items())]
    outgoing = upstream.http.build_request(request.method, url, headers=headers, content=content)
    try:
        return await upstream.http.send(outgoing, stream=True)
    except httpx.LocalProtocolError as exc:
        # The caller's request cannot be written as HTTP (a header value HTTP forbids): its
        # error, not the upstream's.
        metrics.inc("cacheback_proxy_errors_total", kind="bad_request")
        raise UpstreamUnreachable(error_response(
            api, 400, f"cacheback-proxy cannot forward this request: {exc}")) from exc
    except httpx.TransportError as exc:
        raise _unreachable(api, type(exc).__name__, isinstance(exc, httpx.TimeoutException),
                           metrics) from exc


async def forward(request: Request, upstream: Upstream, metrics: Metrics) -> Response:
    """Relay ``request`` to the upstream its headers point at, streaming both bodies; a path
    that could leave the upstream's base path is refused with 400."""
    api = pick_api(request.headers)
    reason = unsafe_path(request.scope.get("raw_path") or request.url.path.encode())
    if reason is not None:
        metrics.inc("cacheback_proxy_errors_total", kind="bad_request")
        return error_response(api, 400, f"cacheback-proxy refuses this path: {reason}")
    metrics.inc("cacheback_proxy_requests_total", route="passthrough", outcome="forwarded")
    has_body = "content-length" in request.headers or "transfer-encoding" in request.headers
    try:
        response = await open_upstream(upstream, api, request,
                                       request.stream() if has_body else b"", metrics)
    except UpstreamUnreachable as exc:
        return exc.response
    if response.is_error:
        metrics.inc("cacheback_proxy_errors_total", kind="upstream_status")
    return RelayResponse(response.aiter_raw(), status_code=response.status_code,
                         headers=response_headers(response.headers.items()),
                         on_close=response.aclose)
