"""Wall-clock time for TTLs that never runs backwards, so an expired entry stays expired."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["SteadyClock"]


class SteadyClock:
    """``clock()`` as long as it moves forwards (a forward jump just expires entries early). When
    it falls more than ``tolerance`` seconds behind, time goes on from the last good reading at the
    pace of ``monotonic`` until the wall clock catches up, and ``on_backwards`` is told once."""

    def __init__(
        self,
        clock: Callable[[], float],
        on_backwards: Callable[[float], None] | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        tolerance: float = 1.0,
    ) -> None:
        self._clock = clock
        self._monotonic = monotonic
        self._on_backwards = on_backwards
        self.tolerance = tolerance
        self._lock = threading.Lock()
        self._anchor: tuple[float, float] | None = None
        self.behind = False

    def __call__(self) -> float:
        wall, mono = self._clock(), self._monotonic()
        with self._lock:
            if self._anchor is not None:
                bridged = self._anchor[0] + (mono - self._anchor[1])
                if wall < bridged - self.tolerance:
                    first, self.behind = not self.behind, True
                    if first and self._on_backwards is not None:
                        self._on_backwards(bridged - wall)
                    return bridged
            self._anchor, self.behind = (wall, mono), False
            return wall
