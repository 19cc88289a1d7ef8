"""Scripted upstream failures for ``FakeUpstream.inject``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from ._answers import UpstreamRequest

__all__ = ["Fault"]

FaultKind = Literal["status", "malformed_json", "cut_stream", "stream_error", "slow",
                    "no_end_marker"]


@dataclass(frozen=True)
class Fault:
    """One scripted failure, consumed by the next matching request. Build with the classmethods."""

    kind: FaultKind
    status: int = 200
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    after_events: int = 0
    seconds: float = 0.0
    api: Literal["openai", "anthropic"] | None = None
    when: Callable[[UpstreamRequest], bool] | None = None

    def matching(self, when: Callable[[UpstreamRequest], bool]) -> Fault:
        """This fault, consumed only by a request for which ``when(request)`` is true."""
        return dataclasses.replace(self, when=when)

    def applies_to(self, request: UpstreamRequest) -> bool:
        """Whether ``request`` consumes this fault."""
        return self.api in (None, request.api) and (self.when is None or self.when(request))

    @classmethod
    def http_status(cls, status: int, *, retry_after: float | None = None, body: Any = None,
                    headers: Mapping[str, str] | None = None,
                    api: Literal["openai", "anthropic"] | None = None) -> Fault:
        """Answer with ``status`` and the provider's error body (or ``body``)."""
        extra = dict(headers or {})
        if retry_after is not None:
            extra["retry-after"] = f"{retry_after:g}"
        return cls("status", status=status, body=body, headers=extra, api=api)

    @classmethod
    def rate_limited(cls, retry_after: float = 0.01,
                     api: Literal["openai", "anthropic"] | None = None) -> Fault:
        """429 with a ``Retry-After`` header."""
        return cls.http_status(429, retry_after=retry_after, api=api)

    @classmethod
    def malformed_json(cls, api: Literal["openai", "anthropic"] | None = None) -> Fault:
        """200 whose body (or first stream event) is not valid JSON."""
        return cls("malformed_json", api=api)

    @classmethod
    def cut_stream(cls, after_events: int = 2,
                   api: Literal["openai", "anthropic"] | None = None) -> Fault:
        """Send ``after_events`` stream events, then drop the connection mid-body."""
        return cls("cut_stream", after_events=after_events, api=api)

    @classmethod
    def stream_error(cls, after_events: int = 2,
                     api: Literal["openai", "anthropic"] | None = None) -> Fault:
        """Send ``after_events`` stream events, then the provider's in-stream error event."""
        return cls("stream_error", after_events=after_events, api=api)

    @classmethod
    def no_end_marker(cls, api: Literal["openai", "anthropic"] | None = None) -> Fault:
        """Send every stream event, finish reason included, but not the end marker (``[DONE]``
        or ``message_stop``), then close the stream cleanly."""
        return cls("no_end_marker", api=api)

    @classmethod
    def slow(cls, seconds: float, api: Literal["openai", "anthropic"] | None = None) -> Fault:
        """Answer normally after waiting ``seconds`` (for client timeouts)."""
        return cls("slow", seconds=seconds, api=api)
