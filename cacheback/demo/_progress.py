"""A plain-text progress bar on a text stream (stderr), with no dependency."""

from __future__ import annotations

from typing import TextIO

__all__ = ["ProgressBar"]

_WIDTH = 30
_TTY_UPDATES = 100
_LOG_UPDATES = 10


class ProgressBar:
    """``[#####.....] 120/400  hits 63%``: redrawn in place on a terminal, a line per 10% in a log."""

    def __init__(self, total: int, out: TextIO | None) -> None:
        self.total = max(total, 1)
        self.out = out
        self._tty = bool(out is not None and getattr(out, "isatty", lambda: False)())
        self._every = max(1, self.total // (_TTY_UPDATES if self._tty else _LOG_UPDATES))

    def update(self, done: int, hits: int) -> None:
        if self.out is None or (done % self._every and done != self.total):
            return
        filled = _WIDTH * done // self.total
        line = f"[{'#' * filled}{'.' * (_WIDTH - filled)}] {done}/{self.total}  hits {hits / done:.0%}"
        if self._tty:
            self.out.write("\r" + line + ("\n" if done == self.total else ""))
        else:
            self.out.write(line + "\n")
        self.out.flush()
