"""Pass-through: requests the proxy does not cache go upstream and come back byte for byte."""

from __future__ import annotations

from collections.abc import AsyncIterable

import httpx
from starlette.requests import Request
from starlette.responses import Response

from ._metrics import Metrics
from ._responses import RelayResponse, error_response
from ._upstream import Api, Upstream, pick_api, request_headers, response_headers

__all__ = ["UpstreamUnreachable", "forward", "open_upstream"]


class UpstreamUnreachable(Exception):
    """The upstream gave no response; carries the proxy's own error response for the caller."""

    def __init__(self, response: Response) -> None:
        super().__init__("upstream unreachable")
        self.response = response


async def open_upstream(upstream: Upstream, api: Api, request: Request,
                        content: bytes | AsyncIterable[bytes], *, decoded: bool,
                        metrics: Metrics) -> httpx.Response:
    """Send the caller's request to ``api``'s upstream; the response body is still unread.

    No retries here: the caller's SDK retries on its own, and retrying twice multiplies waits.
    """
    url = upstream.url(api, request.url.path, request.url.query)
    outgoing = upstream.http.build_request(
        request.method, url, headers=request_headers(request.headers.items(), decoded=decoded),
        content=content)
    try:
        return await upstream.http.send(outgoing, stream=True)
    except httpx.TransportError as exc:
        metrics.inc("cacheback_proxy_errors_total", kind="upstream_unreachable")
        timed_out = isinstance(exc, httpx.TimeoutException)
        raise UpstreamUnreachable(error_response(
            api, 504 if timed_out else 502,
            f"cacheback-proxy could not reach the {api} upstream: {type(exc).__name__}")) from exc


async def forward(request: Request, upstream: Upstream, metrics: Metrics) -> Response:
    """Relay ``request`` to the upstream its headers point at, streaming both bodies."""
    api = pick_api(request.headers)
    metrics.inc("cacheback_proxy_requests_total", route="passthrough", outcome="forwarded")
    has_body = "content-length" in request.headers or "transfer-encoding" in request.headers
    try:
        response = await open_upstream(upstream, api, request,
                                       request.stream() if has_body else b"", decoded=False,
                                       metrics=metrics)
    except UpstreamUnreachable as exc:
        return exc.response
    if response.is_error:
        metrics.inc("cacheback_proxy_errors_total", kind="upstream_status")
    return RelayResponse(response.aiter_raw(), status_code=response.status_code,
                         headers=response_headers(response.headers), on_close=response.aclose)
