"""Request-size limits, as ASGI middleware in front of every route: a body over ``max_body``
bytes is answered 413 before it is read (``Content-Length``) or as soon as the streamed bytes
pass the limit (chunked), so a few huge bodies cannot exhaust the proxy's memory. A caller that
disconnects before its body is complete ends the request quietly: nobody is left to answer, and
an error traceback per dropped connection would let any client flood the logs."""

from __future__ import annotations

import json

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["DEFAULT_MAX_BODY", "BodyLimit"]

#: 32 MiB: the largest request body the proxy accepts by default (room for a few images).
DEFAULT_MAX_BODY = 32 * 1024 * 1024


class _TooLarge(Exception):
    """The streamed body passed the limit."""


class BodyLimit:
    """Refuse request bodies larger than ``max_body`` bytes with 413."""

    def __init__(self, app: ASGIApp, max_body: int = DEFAULT_MAX_BODY) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > self.max_body or declared < 0:
                    await self._refuse(send, declared)
                    return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(send, seen)
        except ClientDisconnect:
            return

    async def _refuse(self, send: Send, size: int) -> None:
        what = f"{size} bytes" if size >= 0 else "an invalid Content-Length"
        body = json.dumps({"error": {
            "type": "request_too_large", "code": 413,
            "message": f"cacheback-proxy accepts request bodies up to {self.max_body} bytes, "
                       f"not {what} (--max-body)"}}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
