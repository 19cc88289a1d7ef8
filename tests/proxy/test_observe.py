"""/healthz, /metrics and /stats after real traffic."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from proxy_support import ANTHROPIC_BODY, OPENAI_BODY, RunningProxy

from cacheback.pricing import estimate_cost


def test_healthz(proxy: RunningProxy) -> None:
    answer = httpx.get(proxy.url + "/healthz")
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok" and answer.json()["cache"] in ("ok", "degraded")


def test_healthz_workers_all_with_one_worker(proxy: RunningProxy) -> None:
    answer = httpx.get(proxy.url + "/healthz", params={"workers": "all"})
    assert answer.status_code == 200
    assert (answer.json()["status"], answer.json()["workers"], answer.json()["workers_ready"]) == (
        "ok", 1, 1)
    refused = httpx.get(proxy.url + "/healthz", params={"workers": "most"})
    assert refused.status_code == 400 and "workers" in refused.json()["error"]


def test_healthz_workers_all_waits_for_every_running_worker(
    start_proxy: Callable[..., RunningProxy], tmp_path: Path
) -> None:
    """With two workers configured, this one (ready: it published at start-up) is not enough;
    another live worker's file makes two; a worker that has exited stops counting."""
    shared = tmp_path / "metrics"
    shared.mkdir()
    proxy = start_proxy(workers=2, metrics_dir=str(shared))
    starting = httpx.get(proxy.url + "/healthz", params={"workers": "all"})
    assert starting.status_code == 503
    assert (starting.json()["status"], starting.json()["workers_ready"]) == ("starting", 1)
    assert httpx.get(proxy.url + "/healthz").status_code == 200  # any one worker: ready
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        mine = shared / f"{os.getpid()}.json"
        (shared / f"{other.pid}.json").write_text(mine.read_text())
        ready = httpx.get(proxy.url + "/healthz", params={"workers": "all"})
        assert ready.status_code == 200
        assert (ready.json()["status"], ready.json()["workers_ready"]) == ("ok", 2)
    finally:
        other.kill()
        other.wait()
    gone = httpx.get(proxy.url + "/healthz", params={"workers": "all"})
    assert gone.status_code == 503 and gone.json()["workers_ready"] == 1


def test_metrics_and_stats_count_hits_misses_and_savings(proxy: RunningProxy) -> None:
    first = proxy.post("/v1/chat/completions", OPENAI_BODY).json()
    proxy.wait_stored(1)
    proxy.post("/v1/chat/completions", OPENAI_BODY)
    proxy.post("/v1/chat/completions", {**OPENAI_BODY, "stream": True})
    proxy.post("/v1/messages", ANTHROPIC_BODY)
    proxy.wait_stored(2)
    text = httpx.get(proxy.url + "/metrics").text
    assert 'cacheback_proxy_hits_total{api="openai",tier="exact"} 2' in text
    assert 'cacheback_proxy_misses_total{api="openai"} 1' in text
    assert 'cacheback_proxy_misses_total{api="anthropic"} 1' in text
    assert 'cacheback_proxy_requests_total{outcome="hit",route="openai"} 2' in text
    assert 'cacheback_proxy_hit_seconds_count{api="openai"} 2' in text
    assert 'cacheback_proxy_upstream_seconds_count{api="openai"} 1' in text
    assert "cacheback_cache_entries 2" in text
    prompt, completion = first["usage"]["prompt_tokens"], first["usage"]["completion_tokens"]
    assert f'cacheback_proxy_tokens_saved_total{{api="openai",direction="output"}} {2 * completion}' in text
    stats = httpx.get(proxy.url + "/stats").json()
    assert stats["hits"] == {"exact": 2}
    assert stats["misses"] == 2 and stats["stored"] == 2
    assert stats["requests"]["openai"] == {"miss": 1, "hit": 2}
    assert stats["saved"]["input_tokens"] == 2 * prompt
    assert stats["saved"]["usd"] == pytest.approx(2 * estimate_cost("gpt-4o-mini", first["usage"]))
    assert stats["saved"]["usd"] > 0
    assert stats["cache"]["entries"] == 2
    assert stats["workers_reporting"] == 1


def test_requests_without_a_key_bypass_the_cache(proxy: RunningProxy) -> None:
    answer = httpx.post(proxy.url + "/v1/chat/completions", json=OPENAI_BODY)
    assert answer.status_code == 401
    assert answer.headers["x-cacheback"] == "bypass"
    stats = httpx.get(proxy.url + "/stats").json()
    assert stats["requests"]["openai"] == {"error": 1}
    assert stats["errors"] == {"upstream_status": 1}
