"""Summing metrics across uvicorn worker processes.

Each worker writes its snapshot to ``<dir>/<pid>.json`` (atomically, at most once a second and
whenever it serves ``/metrics`` or ``/stats``); whichever worker answers a scrape sums every file.
Other workers' numbers are therefore up to about a second old. Files of exited workers stay and
keep counting, so totals never go backwards; the parent process empties the directory at start.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

from ._metrics import Metrics, Snapshot, merge

__all__ = ["SharedMetrics", "reset_directory"]

log = logging.getLogger("cacheback.proxy")
_PUBLISH_EVERY = 1.0


def reset_directory(directory: str | os.PathLike[str]) -> None:
    """Create ``directory`` (private) and remove snapshots left by an earlier run."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    for old in path.glob("*.json"):
        old.unlink(missing_ok=True)


def _running(pid: str) -> bool:
    """Whether the process named by a snapshot file's stem is alive."""
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, another user's
    return True


class SharedMetrics:
    """One worker's view of every worker's metrics; with no directory, just its own."""

    def __init__(self, metrics: Metrics, directory: str | os.PathLike[str] | None = None) -> None:
        self.metrics = metrics
        self._dir = Path(directory) if directory else None
        self._last_publish = 0.0

    def publish(self, *, force: bool = False) -> None:
        """Write this worker's snapshot if a second has passed (or ``force``)."""
        if self._dir is None:
            return
        now = time.monotonic()
        if not force and now - self._last_publish < _PUBLISH_EVERY:
            return
        self._last_publish = now
        target = self._dir / f"{os.getpid()}.json"
        tmp = target.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(self.metrics.snapshot()))
            os.replace(tmp, target)
        except OSError as exc:
            log.warning("cacheback-proxy: cannot publish metrics to %s: %s", self._dir, exc)

    def live_workers(self) -> int:
        """How many workers have published since the directory was emptied and are still
        running (a worker publishes once its start-up is done; an exited worker's file stays
        for the totals but is not counted here). 1 with no directory: this process."""
        if self._dir is None:
            return 1
        self.publish(force=True)
        return sum(1 for path in self._dir.glob("*.json") if _running(path.stem))

    def collect(self) -> tuple[Snapshot, int]:
        """The sum over all workers, and how many workers contributed."""
        if self._dir is None:
            return self.metrics.snapshot(), 1
        self.publish(force=True)
        snapshots = []
        for path in sorted(self._dir.glob("*.json")):
            try:
                snapshots.append(json.loads(path.read_text()))
            except (OSError, ValueError):
                continue
        return merge(snapshots), len(snapshots)
