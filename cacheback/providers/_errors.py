"""Upstream (provider) errors, mirroring the openai / anthropic SDK hierarchy.

    CachebackError
    └── APIError                        message, body, request
        ├── APIConnectionError          the request never got a response
        │   └── APITimeoutError         ... because a timeout expired
        ├── APIResponseValidationError  a 2xx response whose body is not what the API promises
        └── APIStatusError              a non-2xx response: status_code, body, request_id, response
            ├── BadRequestError            400
            ├── AuthenticationError        401
            ├── PermissionDeniedError      403
            ├── NotFoundError              404
            ├── ConflictError              409
            ├── UnprocessableEntityError   422
            ├── RateLimitError             429
            └── InternalServerError        >= 500

httpx exceptions are converted at the boundary (``raise APIConnectionError(...) from exc``).
An error response is never stored in the cache.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from .._errors import CachebackError

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "UnprocessableEntityError",
    "connection_error",
    "status_error",
]


class APIError(CachebackError):
    """Base class of every upstream failure; ``body`` is the decoded error body when there is one."""

    def __init__(self, message: str, request: httpx.Request | None = None, *, body: Any = None):
        super().__init__(message)
        self.message = message
        self.request = request
        self.body = body


class APIConnectionError(APIError):
    """The upstream could not be reached, or the connection broke (also mid-stream)."""

    def __init__(self, message: str = "Connection error.", request: httpx.Request | None = None):
        super().__init__(message, request, body=None)


class APITimeoutError(APIConnectionError):
    """A connect, read, write or pool timeout expired."""

    def __init__(self, request: httpx.Request | None = None, message: str = "Request timed out."):
        super().__init__(message, request)


class APIResponseValidationError(APIError):
    """The upstream answered 2xx with a body that is not valid JSON of the expected shape."""

    def __init__(self, message: str, response: httpx.Response, *, body: Any = None):
        super().__init__(message, response.request, body=body)
        self.response = response
        self.status_code = response.status_code


class APIStatusError(APIError):
    """The upstream answered with a 4xx or 5xx status."""

    def __init__(self, message: str, *, response: httpx.Response, body: Any,
                 request_id: str | None = None):
        super().__init__(message, response.request, body=body)
        self.response = response
        self.status_code = response.status_code
        self.request_id = request_id


class BadRequestError(APIStatusError):
    """400: the request is malformed."""


class AuthenticationError(APIStatusError):
    """401: missing or invalid API key."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not use this resource."""


class NotFoundError(APIStatusError):
    """404: unknown model or path."""


class ConflictError(APIStatusError):
    """409: a conflicting request is in progress."""


class UnprocessableEntityError(APIStatusError):
    """422: well-formed but semantically invalid request."""


class RateLimitError(APIStatusError):
    """429: too many requests or tokens."""


class InternalServerError(APIStatusError):
    """5xx: the upstream failed or is overloaded."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def _decode_body(response: httpx.Response) -> Any:
    text = response.text
    try:
        return json.loads(text)
    except ValueError:
        return text or None


def status_error(response: httpx.Response, request_id_header: str, *,
                 unwrap: bool) -> APIStatusError:
    """The typed error for a read, non-2xx ``response``.

    ``unwrap`` keeps only the ``error`` member of a JSON body, as the openai SDK does.
    """
    body = _decode_body(response)
    data = body.get("error", body) if unwrap and isinstance(body, dict) else body
    status = response.status_code
    cls = _BY_STATUS.get(status, InternalServerError if status >= 500 else APIStatusError)
    return cls(f"Error code: {status} - {body}", response=response, body=data,
               request_id=response.headers.get(request_id_header))


def connection_error(exc: httpx.TransportError, request: httpx.Request | None) -> APIConnectionError:
    """The typed error for an httpx transport failure (timeouts keep their own type)."""
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(request)
    return APIConnectionError(f"Connection error: {exc!r}", request)
