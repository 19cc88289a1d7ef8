"""The live dashboard: ``/dashboard`` (one self-contained HTML page, package data, no CDN) and
``/dashboard/data`` (JSON it polls).

The data holds aggregate counters only: hits by tier, misses, errors, latency quantiles,
tokens and dollars saved, the cache's degraded modes, and a history of samples taken when the
page polls (at most one a second, the last ``HISTORY`` kept) so the page can draw hit rate by tier
over time. No prompt, answer, API key, namespace or upstream URL is ever in it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from importlib import resources
from typing import Any, Final

import anyio
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ._metrics import BUCKETS, Snapshot
from ._observe import summarise
from ._state import ProxyState, attached

__all__ = ["HISTORY", "dashboard_routes", "quantile"]

HISTORY: Final = 600
_MIN_SPACING: Final = 1.0


def quantile(cells: list[float], q: float) -> float | None:
    """The ``q`` quantile (seconds) of one histogram's cells, read off the bucket bounds
    (the upper bound of the bucket holding it, linearly placed inside it)."""
    count = cells[-1] if cells else 0
    if not count:
        return None
    target, running, lower = q * count, 0.0, 0.0
    for bound, n in zip((*BUCKETS, BUCKETS[-1] * 2), cells[: len(BUCKETS) + 1]):
        if n and running + n >= target:
            return lower + (bound - lower) * (target - running) / n
        running += n
        lower = bound
    return lower


def _latency(snapshot: Snapshot, name: str) -> dict[str, Any]:
    merged: list[float] = []
    for metric, _labels, cells in snapshot.get("histograms", ()):
        if metric == name:
            merged = [a + b for a, b in zip(merged, cells)] if merged else list(cells)
    return {"count": int(merged[-1]) if merged else 0,
            "p50_ms": _ms(quantile(merged, 0.5)), "p95_ms": _ms(quantile(merged, 0.95)),
            "mean_ms": _ms(merged[-2] / merged[-1]) if merged and merged[-1] else None}


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


class _History:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.samples: deque[dict[str, Any]] = deque(maxlen=HISTORY)


def _history(state: ProxyState) -> _History:
    return attached(state, "dashboard_history", _History)


async def _data(request: Request) -> Response:
    state: ProxyState = request.app.state.proxy
    await anyio.to_thread.run_sync(state.mirror_cache_faults)
    snapshot, workers = state.shared.collect()
    cache = await anyio.to_thread.run_sync(state.cache.stats)
    summary = summarise(snapshot)
    now = time.time()
    sample = {"t": round(now, 3), "hits": summary["hits"], "misses": summary["misses"],
              "errors": sum(summary["errors"].values()),
              "hit_p50_ms": _latency(snapshot, "cacheback_proxy_hit_seconds")["p50_ms"],
              "upstream_p50_ms": _latency(snapshot, "cacheback_proxy_upstream_seconds")["p50_ms"]}
    history = _history(state)
    with history.lock:
        if not history.samples or now - history.samples[-1]["t"] >= _MIN_SPACING:
            history.samples.append(sample)
        samples = list(history.samples)
    return JSONResponse({
        "now": now,
        "uptime_seconds": round(now - state.started, 3),
        "workers_reporting": workers,
        "requests": summary["requests"],
        "hits": summary["hits"],
        "misses": summary["misses"],
        "stored": summary["stored"],
        "errors": summary["errors"],
        "saved": summary["saved"],
        "latency": {"hit": _latency(snapshot, "cacheback_proxy_hit_seconds"),
                    "upstream": _latency(snapshot, "cacheback_proxy_upstream_seconds")},
        "cache": {"entries": cache.get("entries", 0), "payload_bytes": cache.get("payload_bytes", 0),
                  "breaker": cache["breaker"], "degraded": cache["degraded"],
                  "semantic": state.config.semantic, "index_kind": cache.get("index_kind")},
        "history": samples,
    }, headers={"cache-control": "no-store"})


_PAGE_CACHE: dict[str, bytes] = {}


async def _page(request: Request) -> Response:
    page = _PAGE_CACHE.get("html")
    if page is None:
        page = resources.files(__package__).joinpath("data/dashboard.html").read_bytes()
        _PAGE_CACHE["html"] = page
    return HTMLResponse(page, headers={
        "cache-control": "no-store",
        "content-security-policy": "default-src 'none'; script-src 'unsafe-inline'; "
                                   "style-src 'unsafe-inline'; connect-src 'self'; img-src data:"})


def dashboard_routes() -> list[Route]:
    """``/dashboard`` and ``/dashboard/data``, to mount before the pass-through."""
    return [Route("/dashboard", _page, methods=["GET"]),
            Route("/dashboard/data", _data, methods=["GET"])]
