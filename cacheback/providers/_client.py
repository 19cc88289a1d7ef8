"""Sync and async HTTP clients for one ``ApiSpec``: send, retry, hand back JSON or an event stream.

Everything but sending and sleeping lives in the spec, ``_retry`` and ``_sse``; the two classes
differ only in ``await``. The transport is injectable (``http_client=`` or ``transport=``).
"""

from __future__ import annotations

import asyncio
import copy
import functools
import logging
import ssl
import time
from collections.abc import Mapping
from typing import Any

import httpx

from .._errors import ConfigurationError, InvalidInputError
from ._api import USE_DEFAULT, ApiSpec, ClientSettings, decode_json_response
from ._errors import connection_error, status_error
from ._streams import AsyncEventStream, EventStream

__all__ = ["AsyncClient", "SyncClient"]

log = logging.getLogger("cacheback.providers")


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One verifying TLS context for every client this process creates (building one costs
    ~0.1 s, most of a client's construction time)."""
    return httpx.create_ssl_context()


def _check_transport_args(http_client: object, transport: object) -> None:
    if http_client is not None and transport is not None:
        raise ConfigurationError("pass either http_client= or transport=, not both")


def _stream_body(body: Mapping[str, Any]) -> dict[str, Any]:
    return {**body, "stream": True}


def _json_body(body: Mapping[str, Any]) -> Mapping[str, Any]:
    if body.get("stream"):
        raise InvalidInputError("create() returns one JSON response; use stream() for stream=True")
    return body


def _sibling(client: Any, spec: ApiSpec) -> Any:
    twin = copy.copy(client)
    twin.spec = spec
    twin._owns_http = False
    return twin


class SyncClient:
    """Blocking client; ``create`` returns the response JSON, ``stream`` an ``EventStream``."""

    def __init__(self, spec: ApiSpec, settings: ClientSettings, *,
                 http_client: httpx.Client | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        _check_transport_args(http_client, transport)
        self.spec = spec
        self.settings = settings
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(transport=transport, timeout=settings.timeout,
                                                 verify=_ssl_context())

    def sibling(self, spec: ApiSpec) -> SyncClient:
        """A client for another endpoint of the same API (``spec``): same settings, same
        connections, which this client closes."""
        return _sibling(self, spec)

    def create(self, body: Mapping[str, Any], *, extra_headers: Mapping[str, str] | None = None,
               extra_query: Mapping[str, Any] | None = None, timeout: Any = USE_DEFAULT
               ) -> dict[str, Any]:
        """POST ``body`` and return the decoded JSON response."""
        request = self.spec.build_request(self._http, self.settings, _json_body(body),
                                          extra_headers=extra_headers, extra_query=extra_query,
                                          timeout=timeout)
        return decode_json_response(self._send(request, stream=False))

    def stream(self, body: Mapping[str, Any], *, extra_headers: Mapping[str, str] | None = None,
               extra_query: Mapping[str, Any] | None = None, timeout: Any = USE_DEFAULT
               ) -> EventStream:
        """POST ``body`` with ``stream: true``; retries cover only the response status."""
        request = self.spec.build_request(self._http, self.settings, _stream_body(body),
                                          extra_headers=extra_headers, extra_query=extra_query,
                                          timeout=timeout)
        return EventStream(self.spec, self._send(request, stream=True))

    def _send(self, request: httpx.Request, *, stream: bool) -> httpx.Response:
        retry = self.settings.retry
        for retries_done in range(retry.max_retries + 1):
            try:
                response = self._http.send(request, stream=stream)
            except httpx.TransportError as exc:
                delay = retry.next_delay(retries_done)
                if delay is None:
                    raise connection_error(exc, request) from exc
            else:
                if response.is_success:
                    return response
                response.read()
                response.close()
                delay = retry.next_delay(retries_done, response.status_code, response.headers)
                if delay is None:
                    raise status_error(response, self.spec.request_id_header,
                                       unwrap=self.spec.unwrap_error_body)
            log.info("retrying %s in %.2fs", request.url.path, delay)
            time.sleep(delay)
        raise AssertionError("unreachable: the last attempt always returns or raises")

    def close(self) -> None:
        """Close the HTTP client if this object created it."""
        if self._owns_http:
            self._http.close()


class AsyncClient:
    """Asyncio client; ``await create`` returns the response JSON, ``await stream`` a stream."""

    def __init__(self, spec: ApiSpec, settings: ClientSettings, *,
                 http_client: httpx.AsyncClient | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        _check_transport_args(http_client, transport)
        self.spec = spec
        self.settings = settings
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(transport=transport,
                                                      timeout=settings.timeout,
                                                      verify=_ssl_context())

    def sibling(self, spec: ApiSpec) -> AsyncClient:
        """A client for another endpoint of the same API (``spec``): same settings, same
        connections, which this client closes."""
        return _sibling(self, spec)

    async def create(self, body: Mapping[str, Any], *,
                     extra_headers: Mapping[str, str] | None = None,
                     extra_query: Mapping[str, Any] | None = None, timeout: Any = USE_DEFAULT
                     ) -> dict[str, Any]:
        """POST ``body`` and return the decoded JSON response."""
        request = self.spec.build_request(self._http, self.settings, _json_body(body),
                                          extra_headers=extra_headers, extra_query=extra_query,
                                          timeout=timeout)
        return decode_json_response(await self._send(request, stream=False))

    async def stream(self, body: Mapping[str, Any], *,
                     extra_headers: Mapping[str, str] | None = None,
                     extra_query: Mapping[str, Any] | None = None, timeout: Any = USE_DEFAULT
                     ) -> AsyncEventStream:
        """POST ``body`` with ``stream: true``; retries cover only the response status."""
        request = self.spec.build_request(self._http, self.settings, _stream_body(body),
                                          extra_headers=extra_headers, extra_query=extra_query,
                                          timeout=timeout)
        return AsyncEventStream(self.spec, await self._send(request, stream=True))

    async def _send(self, request: httpx.Request, *, stream: bool) -> httpx.Response:
        retry = self.settings.retry
        for retries_done in range(retry.max_retries + 1):
            try:
                response = await self._http.send(request, stream=stream)
            except httpx.TransportError as exc:
                delay = retry.next_delay(retries_done)
                if delay is None:
                    raise connection_error(exc, request) from exc
            else:
                if response.is_success:
                    return response
                await response.aread()
                await response.aclose()
                delay = retry.next_delay(retries_done, response.status_code, response.headers)
                if delay is None:
                    raise status_error(response, self.spec.request_id_header,
                                       unwrap=self.spec.unwrap_error_body)
            log.info("retrying %s in %.2fs", request.url.path, delay)
            await asyncio.sleep(delay)
        raise AssertionError("unreachable: the last attempt always returns or raises")

    async def close(self) -> None:
        """Close the HTTP client if this object created it."""
        if self._owns_http:
            await self._http.aclose()
