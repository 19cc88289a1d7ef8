"""Upstream errors map to the SDK-shaped exception types."""

from __future__ import annotations

import httpx
import pytest

from cacheback import CachebackError
from cacheback.providers import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from cacheback.providers._errors import connection_error, status_error

REQUEST = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")


def _response(status: int, body: bytes = b'{"error": {"message": "boom", "type": "x"}}'):
    return httpx.Response(status, content=body, request=REQUEST,
                          headers={"x-request-id": "req_1"})


@pytest.mark.parametrize(("status", "cls"), [
    (400, BadRequestError), (401, AuthenticationError), (403, PermissionDeniedError),
    (404, NotFoundError), (409, ConflictError), (422, UnprocessableEntityError),
    (429, RateLimitError), (500, InternalServerError), (503, InternalServerError),
    (529, InternalServerError), (418, APIStatusError),
])
def test_status_maps_to_type(status: int, cls: type[APIStatusError]) -> None:
    error = status_error(_response(status), "x-request-id", unwrap=True)
    assert type(error) is cls
    assert isinstance(error, APIError) and isinstance(error, CachebackError)
    assert error.status_code == status
    assert error.request_id == "req_1"
    assert error.body == {"message": "boom", "type": "x"}
    assert error.request is REQUEST


def test_body_kept_whole_without_unwrap_and_text_when_not_json() -> None:
    assert status_error(_response(400), "x-request-id", unwrap=False).body == {
        "error": {"message": "boom", "type": "x"}}
    assert status_error(_response(502, b"bad gateway"), "x-request-id", unwrap=True
                        ).body == "bad gateway"


def test_transport_errors_convert() -> None:
    timeout = connection_error(httpx.ReadTimeout("slow", request=REQUEST), REQUEST)
    assert type(timeout) is APITimeoutError and isinstance(timeout, APIConnectionError)
    broken = connection_error(httpx.ConnectError("refused", request=REQUEST), REQUEST)
    assert type(broken) is APIConnectionError and broken.request is REQUEST
