"""Settings from flags, environment variables and defaults."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from proxy_support import OPENAI_BODY, RunningProxy

from cacheback import ConfigurationError
from cacheback.embed import OnnxMiniLMEmbedder
from cacheback.proxy import ProxyConfig
from cacheback.proxy.__main__ import build_parser, main
from cacheback.proxy._serve import served_config
from cacheback.proxy._state import ProxyState


def test_defaults() -> None:
    config = ProxyConfig()
    assert (config.host, config.port, config.workers) == ("127.0.0.1", 8990, 1)
    assert config.upstream_openai == "https://api.openai.com/v1"
    assert config.upstream_anthropic == "https://api.anthropic.com"
    assert config.namespace_by == "api-key" and config.semantic


def test_environment_then_overrides() -> None:
    env = {"CACHEBACK_PROXY_PORT": "9000", "CACHEBACK_PROXY_SEMANTIC": "off",
           "CACHEBACK_PROXY_TTL": "3600", "CACHEBACK_PROXY_UPSTREAM_OPENAI": "http://x:1/v1/",
           "CACHEBACK_PROXY_NAMESPACE_BY": "header", "CACHEBACK_PROXY_DB": ""}
    config = ProxyConfig.from_env(env, port=9100, workers=None)
    assert (config.port, config.semantic, config.ttl) == (9100, False, 3600.0)
    assert config.upstream_openai == "http://x:1/v1"
    assert config.namespace_by == "header" and config.db == ""


def test_round_trip_through_the_environment() -> None:
    config = ProxyConfig(port=1234, semantic=False, ttl=5.0, workers=3, db="/tmp/x.db",
                         metrics_dir="/tmp/m")
    assert ProxyConfig.from_env(config.to_env()) == config


@pytest.mark.parametrize("env", [{"CACHEBACK_PROXY_PORT": "eighty"},
                                 {"CACHEBACK_PROXY_SEMANTIC": "maybe"},
                                 {"CACHEBACK_PROXY_NAMESPACE_BY": "ip"},
                                 {"CACHEBACK_PROXY_WORKERS": "0"},
                                 {"CACHEBACK_PROXY_EMBED_THREADS": "-1"},
                                 {"CACHEBACK_PROXY_CACHE_THREADS": "-1"},
                                 {"CACHEBACK_PROXY_TTL": "-1"},
                                 {"CACHEBACK_PROXY_UPSTREAM_ANTHROPIC": "api.anthropic.com"}])
def test_bad_settings_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError):
        ProxyConfig.from_env(env)


def test_flags_map_onto_settings() -> None:
    args = build_parser().parse_args([
        "--host", "0.0.0.0", "--port", "8080", "--db", "c.db", "--upstream-openai", "http://o/v1",
        "--upstream-anthropic", "http://a", "--namespace-by", "header", "--workers", "2",
        "--no-semantic", "--ttl", "60", "--embed-threads", "2", "--cache-threads", "4"])
    config = ProxyConfig.from_env({}, **vars(args))
    assert config == ProxyConfig(host="0.0.0.0", port=8080, db="c.db", upstream_openai="http://o/v1",
                                 upstream_anthropic="http://a", namespace_by="header", workers=2,
                                 semantic=False, ttl=60.0, embed_threads=2, cache_threads=4)


def test_the_served_proxy_sizes_its_cache_pool_to_the_cores_unless_told() -> None:
    assert ProxyConfig().cache_threads == 0  # an app served by someone else: their loop's pool
    assert served_config(ProxyConfig()).cache_threads == (os.cpu_count() or 1) + 1
    assert served_config(ProxyConfig(cache_threads=7)).cache_threads == 7
    worker = ProxyConfig.from_env(served_config(ProxyConfig(workers=2)).to_env())
    assert worker.cache_threads == (os.cpu_count() or 1) + 1  # reaches spawned workers


@pytest.mark.parametrize("threads", [0, 2])
def test_cache_work_runs_in_the_cache_pool_when_one_is_set(
    start_proxy: Callable[..., RunningProxy], threads: int
) -> None:
    proxy = start_proxy(cache_threads=threads)
    assert proxy.post("/v1/chat/completions", OPENAI_BODY).status_code == 200
    proxy.wait_stored(1)  # the store runs in a worker thread
    pool = [t for t in threading.enumerate() if t.name.startswith("cacheback-cache")]
    assert (1 <= len(pool) <= threads) if threads else not pool


@pytest.mark.parametrize(("threads", "expected"), [(1, 1), (0, None)])
def test_embed_threads_reach_the_model(tmp_path: Path, threads: int, expected: int | None) -> None:
    config = ProxyConfig(db=str(tmp_path / "c.db"), embed_threads=threads)
    state = ProxyState.open(config)
    try:
        assert isinstance(state.cache.embedder, OnnxMiniLMEmbedder)
        assert state.cache.embedder.threads == expected
    finally:
        state.cache.close()


def test_conversation_aware_keys_are_on_unless_turned_off() -> None:
    assert ProxyConfig().conversation_aware
    args = build_parser().parse_args(["--no-conversation-aware"])
    config = ProxyConfig.from_env({}, **vars(args))
    assert not config.conversation_aware
    assert ProxyConfig.from_env(config.to_env()) == config
    assert not ProxyConfig.from_env({"CACHEBACK_PROXY_CONVERSATION_AWARE": "off"}).conversation_aware


def test_main_reports_bad_settings(monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CACHEBACK_PROXY_WORKERS", "-2")
    assert main([]) == 2
    assert "workers must be >= 1" in capsys.readouterr().err
