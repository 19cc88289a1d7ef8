"""Folding a relayed stream's events into the full answer, for the clients and the proxy."""

from __future__ import annotations

import logging
from typing import Any

from ..providers import ApiSpec

__all__ = ["StreamAssembly"]

log = logging.getLogger("cacheback.clients")


class StreamAssembly:
    """Stream accumulation that can fail without touching the caller's stream."""

    def __init__(self, spec: ApiSpec) -> None:
        self._accumulator = spec.accumulator()
        self._failed = False

    def add(self, event: dict[str, Any]) -> None:
        """Fold one decoded event; an event that cannot be folded only stops the storing."""
        if self._failed:
            return
        try:
            self._accumulator.add(event)
        except Exception as exc:  # noqa: BLE001 - an odd event must not break the stream
            log.debug("cacheback: cannot assemble stream event, answer not stored: %r", exc)
            self._failed = True

    def result(self, finished: bool) -> dict[str, Any] | None:
        """The full response when the stream ended normally and assembled cleanly."""
        if self._failed or not finished or not self._accumulator.complete:
            return None
        return self._accumulator.result()
