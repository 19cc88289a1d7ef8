"""Responses the proxy writes itself: provider-shaped errors and relays that always let go of
their upstream connection."""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable, Mapping
from typing import Final

import anyio
from starlette.responses import JSONResponse, StreamingResponse
from starlette.types import Receive, Scope, Send

from ._upstream import Api

__all__ = ["CACHE_HEADER", "REASON_HEADER", "SIMILARITY_HEADER", "RelayResponse", "error_response",
           "outcome_headers"]

CACHE_HEADER: Final = "x-cacheback"
SIMILARITY_HEADER: Final = "x-cacheback-similarity"
REASON_HEADER: Final = "x-cacheback-reason"
_OPENAI_KIND: Final = {400: "invalid_request_error", 502: "upstream_error", 504: "timeout"}
_ANTHROPIC_KIND: Final = {400: "invalid_request_error", 502: "api_error", 504: "timeout_error"}


def error_response(api: Api, status: int, message: str) -> JSONResponse:
    """An error body the provider's own SDK parses (``error.message``, ``error.type``)."""
    if api == "anthropic":
        body: dict[str, object] = {"type": "error", "error": {
            "type": _ANTHROPIC_KIND.get(status, "api_error"), "message": message}}
    else:
        body = {"error": {"message": message, "type": _OPENAI_KIND.get(status, "server_error"),
                          "param": None, "code": None}}
    return JSONResponse(body, status_code=status)


def outcome_headers(outcome: str, similarity: float | None = None,
                    reason: str | None = None) -> dict[str, str]:
    """``X-Cacheback`` (hit, semantic, miss or bypass); ``X-Cacheback-Similarity`` for hits and
    ``X-Cacheback-Reason`` for a bypass (header-safe ASCII)."""
    headers = {CACHE_HEADER: outcome}
    if similarity is not None:
        headers[SIMILARITY_HEADER] = f"{similarity:.4f}"
    if reason:
        headers[REASON_HEADER] = reason.encode("ascii", "replace").decode()[:200]
    return headers


class RelayResponse(StreamingResponse):
    """A streamed body whose ``on_close`` runs however the stream ends, client gone included."""

    def __init__(self, content: AsyncIterable[bytes], *, status_code: int,
                 headers: Mapping[str, str], on_close: Callable[[], Awaitable[None]]) -> None:
        super().__init__(content, status_code=status_code, headers=headers)
        self._on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await self._on_close()
