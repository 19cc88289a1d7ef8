"""What one proxy process holds while it serves: settings, cache, tenants, upstream, metrics."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from .._clients import CachePolicy
from .._clients._flight import AsyncFlights
from .._errors import EmbedderError
from ..cache import SemanticCache
from ..embed import Embedder, OnnxMiniLMEmbedder
from ..pii import Scanner
from ._config import ProxyConfig
from ._metrics import Metrics
from ._share import SharedMetrics
from ._tenant import Tenants, load_salt
from ._upstream import Upstream

__all__ = ["ProxyState", "attached", "use_cache_threads"]


_T = TypeVar("_T")


@dataclass
class ProxyState:
    """Everything a request handler needs; built when a worker starts, closed when it stops."""

    config: ProxyConfig
    cache: SemanticCache
    tenants: Tenants
    upstream: Upstream
    metrics: Metrics
    shared: SharedMetrics
    policy: CachePolicy = field(default_factory=CachePolicy)
    owns_cache: bool = True
    started: float = field(default_factory=time.time)
    flights: AsyncFlights = field(default_factory=AsyncFlights)
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, config: ProxyConfig, *, cache: SemanticCache | None = None,
             transport: httpx.AsyncBaseTransport | None = None) -> ProxyState:
        """Open the cache (unless one is given), the tenant salt and the upstream pool."""
        owns_cache = cache is None
        if cache is None:
            cache = SemanticCache(config.db or None, ttl=config.ttl, embedder=_embedder(config),
                                  pii=config.pii)
        _warm_up(cache)
        metrics = Metrics()
        state = cls(config=config, cache=cache,
                    tenants=Tenants(load_salt(cache.path, cache.storage), config.namespace_by),
                    upstream=Upstream(config, transport), metrics=metrics,
                    policy=CachePolicy(conversation_aware=config.conversation_aware),
                    shared=SharedMetrics(metrics, config.metrics_dir or None),
                    owns_cache=owns_cache)
        state.shared.publish(force=True)  # ready: counted by /healthz?workers=all and /stats
        return state

    def mirror_cache_faults(self) -> None:
        """Copy the faults the cache absorbed (``SemanticCache.stats()`` counters ``errors.*``)
        into this process's metrics as ``errors{kind="cache_*"}``; blocking, so call it off the
        event loop."""
        for name, value in self.cache.stats()["counters"].items():
            if name.startswith("errors."):
                self.metrics.mirror("cacheback_proxy_errors_total", value,
                                    kind="cache_" + name.removeprefix("errors."))

    async def aclose(self) -> None:
        """Publish final metrics, release the upstream pool and close the cache if it is ours."""
        self.shared.publish(force=True)
        await self.upstream.aclose()
        if self.owns_cache:
            self.cache.close()
        else:
            self.cache.flush()


def use_cache_threads(config: ProxyConfig) -> None:
    """Run this event loop's ``asyncio.to_thread`` work, the cache's, in ``config.cache_threads``
    threads (none: leave the loop's pool alone). Python's default pool has cores + 4 threads;
    on a small machine the extra threads only take turns at the GIL (a 1-worker proxy on 2
    cores under the issue-15 mix: 3.2 ms of CPU per request with 6 threads, 2.9 with 2 or 3,
    and a lower p99; docs/benchmarks.md)."""
    if config.cache_threads:
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(config.cache_threads, thread_name_prefix="cacheback-cache"))


def _embedder(config: ProxyConfig) -> Embedder | str | None:
    """The model with ``config.embed_threads`` threads per run. One is the default: a worker
    embeds concurrent misses in parallel threads, and one thread per run cost the least CPU
    per query under load (docs/proxy.md, Throughput). A model that cannot load is left to the
    cache ("default"), which serves exact hits and retries it after a backoff."""
    if not config.semantic:
        return None
    try:
        return OnnxMiniLMEmbedder(threads=config.embed_threads or None)
    except EmbedderError:
        return "default"


def _warm_up(cache: SemanticCache) -> None:
    """Load what the first requests would otherwise wait for, during start-up, so that
    ``/healthz`` answers only once the proxy is ready: the embedding model, the vectors already
    stored (read into the index: seconds for 100k entries) and the PII scanner's name model
    (spaCy, when installed). Anything that cannot load leaves the cache degraded, as it would
    at the first query."""
    log = logging.getLogger("cacheback.proxy")
    embedder = cache.embedder
    if embedder is not None:
        try:
            embedder.embed("cacheback warm-up")
        except Exception as exc:  # noqa: BLE001 - start-up must never fail on the cache
            log.warning("cacheback-proxy: model warm-up failed: %r", exc)
    try:
        cache.load_index()
        if cache.pii != "off":
            Scanner().scan("Warm-up for Ada Lovelace")  # a name: the name model loads and runs
    except Exception as exc:  # noqa: BLE001 - start-up must never fail on the cache
        log.warning("cacheback-proxy: warm-up failed: %r", exc)


def attached(state: ProxyState, name: str, factory: Callable[[], _T]) -> _T:
    """The object a feature module keeps on ``state`` under ``name``, made on first use, so
    features such as the dashboard add state without widening ``ProxyState``."""
    value = state.extras.get(name)
    if value is None:
        value = state.extras.setdefault(name, factory())
    return value  # type: ignore[no-any-return]
