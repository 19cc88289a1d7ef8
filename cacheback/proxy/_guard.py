"""Read deadlines on incoming connections, against slow-loris clients.

uvicorn arms its keep-alive timer only after a response, and any byte cancels it: a connection
that never sends a request, or sends its headers one byte every few seconds, or stops half-way
through a body, is held for ever (1,000 such connections were held for 112 s, and with
``limit_concurrency`` they turn every honest request into a 503). :class:`GuardedProtocol` is
uvicorn's httptools protocol with two deadlines added:

- **headers**: from the connection's first moment (or the first byte of a keep-alive request)
  the request line and headers must be complete within ``header_timeout`` seconds, however the
  bytes trickle in;
- **body**: while a request body is being read, ``body_idle_timeout`` seconds without a byte
  closes the connection; and the whole body must arrive within ``body_idle_timeout`` seconds
  plus one second per :data:`BODY_MIN_RATE` bytes received (Apache's ``MinRate``), so a body
  trickled a byte at a time (a slow POST) is dropped too, while a large upload on a slow link
  keeps going as long as it sends at least that rate.

Past a deadline the connection is closed; a request being answered is never cut. The deadlines
come from the uvicorn ``Config`` (attributes set by :func:`guarded_http`), so spawned workers get
them with the rest of the configuration.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["BODY_IDLE_TIMEOUT", "BODY_MIN_RATE", "HEADER_TIMEOUT", "GuardedProtocol",
           "guarded_http"]

HEADER_TIMEOUT: Final = 10.0
BODY_IDLE_TIMEOUT: Final = 30.0
#: Bytes per second a request body must average (beyond the first ``body_idle_timeout``).
BODY_MIN_RATE: Final = 500.0


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol that closes connections too slow to send their request."""

    def __init__(self, config: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self._header_timeout = float(getattr(config, "cacheback_header_timeout", HEADER_TIMEOUT))
        self._body_idle = float(getattr(config, "cacheback_body_idle_timeout", BODY_IDLE_TIMEOUT))
        self._deadline: asyncio.TimerHandle | None = None
        self._reading_body = False
        self._body_due = 0.0

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if self.cycle is not None and not self.cycle.response_complete and not self._reading_body:
            return
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self._header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._reading_body:
            self._body_due += len(data) / BODY_MIN_RATE
            self._arm_body()
        super().data_received(data)

    def _arm_body(self) -> None:
        """The body deadline: the idle timeout, capped by the minimum-rate deadline."""
        self._arm(max(0.0, min(self._body_idle, self._body_due - self.loop.time())))

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:
            self._arm(self._header_timeout)

    def on_headers_complete(self) -> None:
        self._disarm()
        self._reading_body = True
        self._body_due = self.loop.time() + self._body_idle
        self._arm_body()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._reading_body = False
        self._disarm()
        super().on_message_complete()


def guarded_http(config: Any, header_timeout: float, body_idle_timeout: float) -> None:
    """Make the uvicorn ``config`` serve HTTP/1.1 through :class:`GuardedProtocol`."""
    config.http = GuardedProtocol
    config.cacheback_header_timeout = header_timeout
    config.cacheback_body_idle_timeout = body_idle_timeout
