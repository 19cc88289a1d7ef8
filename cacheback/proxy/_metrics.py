"""The proxy's counters and latency histograms, as JSON snapshots and Prometheus text.

A snapshot is plain JSON so the snapshots of several worker processes can be summed
(``merge``) before rendering; see ``_share`` for how workers exchange them.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["BUCKETS", "FAMILIES", "Family", "Metrics", "Snapshot", "merge", "render"]

Snapshot = dict[str, list[list[Any]]]
_Key = tuple[str, tuple[tuple[str, str], ...]]

BUCKETS: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                  1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass(frozen=True)
class Family:
    """One metric name, its Prometheus type and help text."""

    name: str
    kind: str
    help: str


FAMILIES: Final[Mapping[str, Family]] = {f.name: f for f in (
    Family("cacheback_proxy_requests_total", "counter",
           "Requests by route and outcome (hit, semantic, miss, bypass, forwarded, error)."),
    Family("cacheback_proxy_hits_total", "counter", "Answers served from the cache, by tier."),
    Family("cacheback_proxy_misses_total", "counter", "Cacheable requests sent to the upstream."),
    Family("cacheback_proxy_coalesced_total", "counter",
           "Requests that waited for an identical request in flight instead of going upstream."),
    Family("cacheback_proxy_errors_total", "counter",
           "Failures by kind: upstream_status, upstream_unreachable, bad_request, and cache_* "
           "(faults the cache turned into misses, as SemanticCache counts them)."),
    Family("cacheback_proxy_stored_total", "counter", "Upstream answers written to the cache."),
    Family("cacheback_proxy_tokens_saved_total", "counter",
           "Tokens the upstream did not have to process thanks to hits, by direction."),
    Family("cacheback_proxy_dollars_saved_total", "counter",
           "Estimated USD saved by hits, at list prices (cacheback.pricing)."),
    Family("cacheback_proxy_upstream_seconds", "histogram",
           "Time from forwarding a request to the end of the upstream's answer."),
    Family("cacheback_proxy_hit_seconds", "histogram",
           "Time from receiving a request to having its cached answer ready."),
)}


def _key(name: str, labels: Mapping[str, str]) -> _Key:
    if name not in FAMILIES:
        raise KeyError(f"unknown metric {name}")
    return name, tuple(sorted(labels.items()))


class Metrics:
    """Thread-safe counters and histograms for one process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[_Key, float] = {}
        self._histograms: dict[_Key, list[float]] = {}

    def inc(self, name: str, value: float = 1.0, **labels: str) -> None:
        """Add ``value`` to the counter ``name`` with ``labels``."""
        key = _key(name, labels)
        with self._lock:
            self._counters[key] = self._counters.get(key, 0.0) + value

    def mirror(self, name: str, value: float, **labels: str) -> None:
        """Set the counter ``name`` to ``value`` taken from a monotonic count kept elsewhere."""
        key = _key(name, labels)
        with self._lock:
            self._counters[key] = float(value)

    def observe(self, name: str, seconds: float, **labels: str) -> None:
        """Record one duration in the histogram ``name``."""
        key = _key(name, labels)
        slot = bisect.bisect_left(BUCKETS, seconds)
        with self._lock:
            cells = self._histograms.setdefault(key, [0.0] * (len(BUCKETS) + 3))
            cells[slot] += 1
            cells[-2] += seconds
            cells[-1] += 1

    def snapshot(self) -> Snapshot:
        """The current values as JSON-ready lists."""
        with self._lock:
            return {
                "counters": [[n, dict(ls), v] for (n, ls), v in self._counters.items()],
                "histograms": [[n, dict(ls), list(c)] for (n, ls), c in self._histograms.items()],
            }


def merge(snapshots: Iterable[Snapshot]) -> Snapshot:
    """The sum of several snapshots (counters add, histogram cells add)."""
    counters: dict[_Key, float] = {}
    histograms: dict[_Key, list[float]] = {}
    for snap in snapshots:
        for name, labels, value in snap.get("counters", ()):
            key = _key(name, labels)
            counters[key] = counters.get(key, 0.0) + value
        for name, labels, cells in snap.get("histograms", ()):
            key = _key(name, labels)
            total = histograms.setdefault(key, [0.0] * len(cells))
            for i, cell in enumerate(cells):
                total[i] += cell
    return {
        "counters": [[n, dict(ls), v] for (n, ls), v in sorted(counters.items())],
        "histograms": [[n, dict(ls), c] for (n, ls), c in sorted(histograms.items())],
    }


def _labels(labels: Mapping[str, str], extra: str = "") -> str:
    parts = [f'{k}="{_escape(v)}"' for k, v in sorted(labels.items())]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _escape(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def render(snapshot: Snapshot, gauges: Mapping[str, tuple[str, float]] | None = None) -> str:
    """Prometheus text exposition (format 0.0.4) of ``snapshot`` plus plain ``gauges``."""
    lines: list[str] = []
    by_family: dict[str, list[str]] = {name: [] for name in FAMILIES}
    for name, labels, value in snapshot.get("counters", ()):
        by_family[name].append(f"{name}{_labels(labels)} {_number(value)}")
    for name, labels, cells in snapshot.get("histograms", ()):
        running = 0.0
        for bound, count in zip((*BUCKETS, float("inf")), cells):
            running += count
            le = 'le="+Inf"' if bound == float("inf") else f'le="{bound!r}"'
            by_family[name].append(f"{name}_bucket{_labels(labels, le)} {_number(running)}")
        by_family[name].append(f"{name}_sum{_labels(labels)} {_number(cells[-2])}")
        by_family[name].append(f"{name}_count{_labels(labels)} {_number(cells[-1])}")
    for name, family in FAMILIES.items():
        lines += [f"# HELP {name} {family.help}", f"# TYPE {name} {family.kind}", *by_family[name]]
    for name, (help_text, value) in (gauges or {}).items():
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {_number(value)}"]
    return "\n".join(lines) + "\n"
