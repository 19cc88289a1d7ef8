"""Fixtures: the fake upstream, and the proxy in front of it (see ``proxy_support``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from proxy_support import RunningProxy

from cacheback import SemanticCache
from cacheback.proxy import ProxyConfig
from cacheback.testing import FakeUpstream


@pytest.fixture
def start_proxy(upstream: FakeUpstream, tmp_path: Path) -> Iterator[Callable[..., RunningProxy]]:
    """Start a proxy in front of ``upstream``; exact tier only unless a cache is given."""
    running: list[RunningProxy] = []

    def start(cache: SemanticCache | None = None, **settings: Any) -> RunningProxy:
        settings.setdefault("db", str(tmp_path / "proxy.db"))
        settings.setdefault("semantic", False)
        settings.setdefault("upstream_openai", upstream.openai_base_url)
        settings.setdefault("upstream_anthropic", upstream.anthropic_base_url)
        config = ProxyConfig(**settings)
        proxy = RunningProxy(config, cache).start()
        running.append(proxy)
        return proxy

    yield start
    for proxy in running:
        proxy.stop()


@pytest.fixture
def proxy(start_proxy: Callable[..., RunningProxy]) -> RunningProxy:
    return start_proxy()
