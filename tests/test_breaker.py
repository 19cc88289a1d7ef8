"""CircuitBreaker: closed, open with doubling backoff up to a cap, one trial when half-open."""

from __future__ import annotations

from cacheback._breaker import CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_closed_until_a_failure() -> None:
    breaker = CircuitBreaker(clock=Clock())
    assert breaker.state == "closed"
    assert all(breaker.allow() for _ in range(3))


def test_open_then_one_trial_then_doubling_backoff_up_to_the_cap() -> None:
    clock = Clock()
    breaker = CircuitBreaker(base_delay=1.0, max_delay=3.0, clock=clock)
    breaker.failure(OSError("disk full"))
    assert (breaker.state, breaker.allow(), breaker.last_error) == ("open", False, "OSError: disk full")
    clock.now += 1.0
    assert breaker.state == "half-open"
    assert breaker.allow() is True
    assert breaker.allow() is False, "half-open lets exactly one trial through"
    delays = []
    for _ in range(3):
        breaker.failure(OSError("still full"))
        start = clock.now
        while not breaker.allow():
            clock.now += 0.25
        delays.append(clock.now - start)
    assert delays == [2.0, 3.0, 3.0]
    assert breaker.trips == 4


def test_success_closes_and_resets_the_backoff() -> None:
    clock = Clock()
    breaker = CircuitBreaker(base_delay=1.0, clock=clock)
    breaker.failure(OSError("x"))
    breaker.failure(OSError("x"))
    breaker.success()
    assert breaker.state == "closed" and breaker.allow()
    breaker.failure(OSError("again"))
    clock.now += 1.0
    assert breaker.allow(), "after a success the backoff starts again from base_delay"


def test_fresh_breaker_shares_settings_and_clock_not_state() -> None:
    clock = Clock()
    breaker = CircuitBreaker(base_delay=2.0, max_delay=5.0, clock=clock)
    breaker.failure(OSError("x"))
    other = breaker.fresh()
    assert (other.base_delay, other.max_delay, other.clock) == (2.0, 5.0, clock)
    assert other.state == "closed" and breaker.state == "open"
