"""``/healthz``, ``/metrics`` (Prometheus text) and ``/stats`` (JSON)."""

from __future__ import annotations

import time
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from ._admin import is_admin
from ._metrics import Snapshot, render
from ._state import ProxyState

__all__ = ["healthz", "metrics", "stats", "summarise"]

_PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


def _state(request: Request) -> ProxyState:
    return request.app.state.proxy  # type: ignore[no-any-return]


async def _cache_stats(state: ProxyState) -> dict[str, Any]:
    return await anyio.to_thread.run_sync(state.cache.stats)


async def _collect(state: ProxyState) -> tuple[Snapshot, int]:
    await anyio.to_thread.run_sync(state.mirror_cache_faults)
    return state.shared.collect()


async def healthz(request: Request) -> Response:
    """200 while the process serves: with the cache degraded the proxy still answers via the
    upstream, so the cache's condition is reported, not turned into a failure.

    ``?workers=all`` asks whether every worker is ready (has finished its start-up and is
    running): 503 with ``"status": "starting"`` until then, for a load balancer that should
    not send long-lived connections to the one worker that happened to be ready first."""
    state = _state(request)
    wanted = request.query_params.get("workers")
    if wanted not in (None, "all", "any"):
        return JSONResponse({"error": f"workers must be 'all' or 'any', not {wanted!r}"},
                            status_code=400)
    ready = await anyio.to_thread.run_sync(state.shared.live_workers)
    cache = await _cache_stats(state)
    starting = wanted == "all" and ready < state.config.workers
    return JSONResponse({
        "status": "starting" if starting else "ok",
        "cache": "ok" if cache["breaker"] == "closed" and not cache["degraded"] else "degraded",
        "breaker": cache["breaker"],
        "degraded": cache["degraded"],
        "workers": state.config.workers,
        "workers_ready": min(ready, state.config.workers),
        "uptime_seconds": round(time.time() - state.started, 3),
    }, status_code=503 if starting else 200)


async def metrics(request: Request) -> Response:
    """Every worker's counters summed (see ``_share``), plus the database's size."""
    state = _state(request)
    snapshot, workers = await _collect(state)
    cache = await _cache_stats(state)
    gauges = {
        "cacheback_proxy_workers_reporting": ("Worker processes whose counters are summed here.",
                                              float(workers)),
        "cacheback_cache_entries": ("Entries in the cache database.", float(cache.get("entries", 0))),
        "cacheback_cache_payload_bytes": ("Bytes of cached content.",
                                          float(cache.get("payload_bytes", 0))),
    }
    return PlainTextResponse(render(snapshot, gauges), media_type=_PROMETHEUS_TEXT)


def summarise(snapshot: Snapshot) -> dict[str, Any]:
    """The snapshot's counters grouped for people: requests by outcome, hits by tier, savings."""
    out: dict[str, Any] = {"requests": {}, "hits": {}, "misses": 0, "errors": {}, "stored": 0,
                           "saved": {"input_tokens": 0, "output_tokens": 0, "usd": 0.0}}
    for name, labels, value in snapshot["counters"]:
        short = name.removeprefix("cacheback_proxy_").removesuffix("_total")
        if short == "requests":
            route = out["requests"].setdefault(labels["route"], {})
            route[labels["outcome"]] = route.get(labels["outcome"], 0) + int(value)
        elif short == "hits":
            out["hits"][labels["tier"]] = out["hits"].get(labels["tier"], 0) + int(value)
        elif short == "errors":
            out["errors"][labels["kind"]] = out["errors"].get(labels["kind"], 0) + int(value)
        elif short in ("misses", "stored"):
            out[short] += int(value)
        elif short == "tokens_saved":
            out["saved"][f"{labels['direction']}_tokens"] += int(value)
        elif short == "dollars_saved":
            out["saved"]["usd"] += value
    return out


async def stats(request: Request) -> Response:
    """Proxy counters (all workers) and the cache's own statistics (this worker's view); the
    upstream URLs only for a request with the admin token (see ``_admin``)."""
    state = _state(request)
    snapshot, workers = await _collect(state)
    config = state.config
    cache = await _cache_stats(state)
    shown = {"namespace_by": config.namespace_by, "semantic": config.semantic, "workers": config.workers,
             "pii": config.pii}
    if is_admin(request):
        shown.update(upstream_openai=config.upstream_openai, upstream_anthropic=config.upstream_anthropic)
    else:
        cache.pop("path", None)
    return JSONResponse({
        **summarise(snapshot),
        "workers_reporting": workers,
        "uptime_seconds": round(time.time() - state.started, 3),
        "config": shown,
        "cache": cache,
    })
