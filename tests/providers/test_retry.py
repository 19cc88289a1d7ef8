"""The retry policy as pure functions: which statuses retry, how long to wait."""

from __future__ import annotations

import email.utils

import pytest

from cacheback.providers import RetryPolicy
from cacheback.providers._retry import retry_after_seconds, should_retry


@pytest.mark.parametrize(("status", "expected"), [
    (400, False), (401, False), (403, False), (404, False), (422, False),
    (408, True), (409, True), (429, True), (500, True), (502, True), (503, True), (529, True),
])
def test_status_rule(status: int, expected: bool) -> None:
    assert should_retry(status, {}) is expected


def test_x_should_retry_overrides_status() -> None:
    assert should_retry(400, {"x-should-retry": "true"}) is True
    assert should_retry(503, {"x-should-retry": "false"}) is False


@pytest.mark.parametrize(("headers", "expected"), [
    ({"retry-after-ms": "250"}, 0.25),
    ({"retry-after": "3"}, 3.0),
    ({"retry-after": "1.5"}, 1.5),
    ({"retry-after-ms": "junk", "retry-after": "2"}, 2.0),
    ({"retry-after": "soon"}, None),
    ({}, None),
])
def test_retry_after_parsing(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_seconds(headers) == expected


def test_retry_after_http_date() -> None:
    now = 1_700_000_000.0
    header = email.utils.formatdate(now + 30, usegmt=True)
    assert retry_after_seconds({"retry-after": header}, now=now) == pytest.approx(30, abs=1)


def test_server_delay_is_honoured_within_bounds() -> None:
    policy = RetryPolicy()
    assert policy.delay(0, {"retry-after": "2"}) == 2.0
    backoff = policy.delay(0, {"retry-after": "3600"}, rand=lambda: 0.0)
    assert backoff == policy.initial_delay


@pytest.mark.parametrize("retries_done", [0, 1, 2, 5, 40])
def test_backoff_doubles_with_jitter_and_cap(retries_done: int) -> None:
    policy = RetryPolicy()
    base = min(0.5 * 2 ** retries_done, 8.0)
    assert policy.delay(retries_done, rand=lambda: 0.0) == base
    assert policy.delay(retries_done, rand=lambda: 1.0) == pytest.approx(base * 0.75)


def test_next_delay_gives_up_after_max_retries_or_on_final_status() -> None:
    policy = RetryPolicy(max_retries=2)
    assert policy.next_delay(0, 429, {"retry-after-ms": "10"}) == 0.01
    assert policy.next_delay(1) is not None
    assert policy.next_delay(2, 429, {}) is None
    assert policy.next_delay(0, 400, {}) is None
    assert RetryPolicy(max_retries=0).next_delay(0, 500, {}) is None
