"""SteadyClock: the wall clock while it moves forwards, bridged by the monotonic clock when it
jumps back, with one notification per jump."""

from __future__ import annotations

from cacheback._clock import SteadyClock


class Clocks:
    def __init__(self) -> None:
        self.wall = 1_000.0
        self.mono = 50.0
        self.jumps: list[float] = []

    def steady(self) -> SteadyClock:
        return SteadyClock(lambda: self.wall, self.jumps.append, monotonic=lambda: self.mono)

    def tick(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


def test_follows_the_wall_clock_including_forward_jumps() -> None:
    clocks = Clocks()
    now = clocks.steady()
    assert now() == 1_000.0
    clocks.tick(5)
    assert now() == 1_005.0
    clocks.wall += 3_600
    assert now() == 4_605.0 and clocks.jumps == []


def test_backward_jump_is_bridged_until_the_wall_clock_catches_up() -> None:
    clocks = Clocks()
    now = clocks.steady()
    now()
    clocks.wall -= 100
    assert now() == 1_000.0
    clocks.tick(10)
    assert now() == 1_010.0
    assert now() == 1_010.0 and clocks.jumps == [100.0], "told once per jump"
    clocks.wall += 100  # corrected
    assert now() == 1_010.0 and not now.behind
    clocks.wall -= 50
    now()
    assert clocks.jumps == [100.0, 50.0]


def test_small_steps_back_within_tolerance_pass_through() -> None:
    clocks = Clocks()
    now = clocks.steady()
    now()
    clocks.wall -= 0.5
    assert now() == 999.5 and clocks.jumps == []
