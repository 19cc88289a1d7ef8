"""What one provider endpoint is, independent of I/O: settings, request building, event decoding.

``ApiSpec`` subclasses (one per provider API) hold everything the sync and async HTTP clients
share; the clients only send requests, sleep between retries and read bytes.
"""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final

import httpx

from .._errors import ConfigurationError, InvalidInputError
from ._errors import APIError, APIResponseValidationError
from ._retry import RetryPolicy
from ._sse import ServerSentEvent, encode_event

__all__ = [
    "DEFAULT_TIMEOUT",
    "END_OF_STREAM",
    "ApiSpec",
    "ClientSettings",
    "USE_DEFAULT",
    "StreamAccumulator",
    "decode_json_response",
    "event_json",
    "stream_error",
    "resolve_settings",
]

DEFAULT_TIMEOUT: Final = httpx.Timeout(600.0, connect=5.0)
END_OF_STREAM: Final = object()
_USER_AGENT: Final = "cacheback-ai/python"
USE_DEFAULT: Final = object()
"""Per-request timeout sentinel: use the client's timeout (None means no timeout, as in httpx)."""


@dataclass(frozen=True)
class ClientSettings:
    """Resolved connection settings; the API key lives only here, in memory."""

    api_key: str = field(repr=False)
    base_url: str
    timeout: httpx.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)
    retry: RetryPolicy = RetryPolicy()
    default_headers: Mapping[str, str] = field(default_factory=dict)
    default_query: Mapping[str, Any] = field(default_factory=dict)


class StreamAccumulator(ABC):
    """Folds stream events into the full response the non-streaming endpoint would have returned."""

    @abstractmethod
    def add(self, event: dict[str, Any]) -> None:
        """Take the next decoded event."""

    @property
    @abstractmethod
    def complete(self) -> bool:
        """True once every part of the answer carries its finish / stop reason."""

    @abstractmethod
    def result(self) -> dict[str, Any]:
        """The assembled response (meaningful once ``complete``)."""


class ApiSpec(ABC):
    """One JSON + SSE endpoint: where it lives, how it authenticates, how its stream is framed."""

    path: ClassVar[str]
    api_key_env: ClassVar[str]
    base_url_env: ClassVar[str]
    default_base_url: ClassVar[str]
    request_id_header: ClassVar[str]
    unwrap_error_body: ClassVar[bool]
    #: Whether each SSE frame is named after its event's ``type`` (Anthropic, OpenAI Responses).
    named_events: ClassVar[bool] = False
    #: The data of the frame that closes a stream, if the API sends one (Chat's ``[DONE]``).
    done_marker: ClassVar[str | None] = None

    @abstractmethod
    def headers(self, api_key: str) -> dict[str, str]:
        """Authentication and versioning headers."""

    @abstractmethod
    def decode_event(self, sse: ServerSentEvent, response: httpx.Response) -> Any:
        """The event's JSON object, None to skip it, or ``END_OF_STREAM``; raises on error events."""

    @abstractmethod
    def is_last_event(self, event: dict[str, Any]) -> bool:
        """Whether ``event`` is the final event of a normally completed stream."""

    @abstractmethod
    def accumulator(self) -> StreamAccumulator:
        """A fresh accumulator for one stream."""

    @abstractmethod
    def replay(self, response: dict[str, Any], request: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """The exact event sequence the API would stream for ``response`` given ``request``."""

    def url(self, settings: ClientSettings, body: Mapping[str, Any]) -> str:
        """Where ``body`` is posted: the base URL and this endpoint's path."""
        return settings.base_url + self.path

    def frames(self, events: Iterable[Mapping[str, Any]],
               dumps: Callable[[Any], str] = json.dumps) -> list[bytes]:
        """The SSE wire frames the API sends for ``events``, closing marker included."""
        out = [encode_event(dumps(event), str(event["type"]) if self.named_events else None)
               for event in events]
        if self.done_marker is not None:
            out.append(encode_event(self.done_marker))
        return out

    def build_request(self, http: httpx.Client | httpx.AsyncClient, settings: ClientSettings,
                      body: Mapping[str, Any], *, extra_headers: Mapping[str, str] | None = None,
                      extra_query: Mapping[str, Any] | None = None,
                      timeout: Any = USE_DEFAULT) -> httpx.Request:
        """The POST request for ``body`` (pure: ``build_request`` does no I/O)."""
        accept = "text/event-stream" if body.get("stream") else "application/json"
        headers = {"Accept": accept, "Content-Type": "application/json", "User-Agent": _USER_AGENT,
                   **self.headers(settings.api_key), **settings.default_headers,
                   **(extra_headers or {})}
        params = {**settings.default_query, **(extra_query or {})}
        try:
            content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        except (ValueError, RecursionError) as exc:  # a lone surrogate, a 5,000-digit int...
            raise InvalidInputError(f"the request body cannot be sent as JSON: {exc}") from exc
        return http.build_request("POST", self.url(settings, body), headers=headers,
                                  params=params or None, content=content,
                                  timeout=settings.timeout if timeout is USE_DEFAULT else timeout)


def resolve_settings(spec: ApiSpec, *, api_key: str | None, base_url: str | httpx.URL | None,
                     timeout: float | httpx.Timeout | None, max_retries: int,
                     default_headers: Mapping[str, str] | None,
                     default_query: Mapping[str, Any] | None) -> ClientSettings:
    """Constructor arguments first, then the provider's environment variables, then defaults."""
    key = api_key if api_key is not None else os.environ.get(spec.api_key_env)
    if not key:
        raise ConfigurationError(
            f"no API key: pass api_key= or set the {spec.api_key_env} environment variable")
    if max_retries < 0:
        raise ConfigurationError("max_retries must be >= 0")
    url = str(base_url or os.environ.get(spec.base_url_env) or spec.default_base_url)
    return ClientSettings(
        api_key=key,
        base_url=url.rstrip("/"),
        timeout=httpx.Timeout(timeout),
        retry=RetryPolicy(max_retries=max_retries),
        default_headers=dict(default_headers or {}),
        default_query=dict(default_query or {}),
    )


def decode_json_response(response: httpx.Response) -> dict[str, Any]:
    """The body of a read 2xx response as a JSON object."""
    try:
        body = response.json()
    except ValueError as exc:
        raise APIResponseValidationError("upstream returned invalid JSON", response,
                                         body=response.text) from exc
    if not isinstance(body, dict):
        raise APIResponseValidationError("upstream returned a non-object JSON body", response,
                                         body=body)
    return body


def event_json(sse: ServerSentEvent, response: httpx.Response) -> Any:
    """The event's data as JSON; bad JSON is an ``APIResponseValidationError``."""
    try:
        return sse.json()
    except ValueError as exc:
        raise APIResponseValidationError("invalid JSON in stream event", response,
                                         body=sse.data) from exc


def stream_error(error: Any, response: httpx.Response) -> APIError:
    """The error for an error object the API sent inside a 200 stream."""
    message = error.get("message") if isinstance(error, dict) else str(error)
    return APIError(message or "An error occurred during streaming", response.request, body=error)
