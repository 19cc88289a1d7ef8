"""Counters and histograms: Prometheus text, merging snapshots, sharing them across workers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cacheback.proxy._metrics import BUCKETS, Metrics, merge, render
from cacheback.proxy._share import SharedMetrics, reset_directory

_SAMPLE = re.compile(r'^[a-z_]+(\{([a-z_]+="[^"\\]*(\\.[^"\\]*)*",?)*\})? -?[0-9.e+-]+$')


def test_render_is_valid_prometheus_text() -> None:
    metrics = Metrics()
    metrics.inc("cacheback_proxy_hits_total", api="openai", tier="exact")
    metrics.inc("cacheback_proxy_dollars_saved_total", 0.00125, api="openai")
    metrics.observe("cacheback_proxy_hit_seconds", 0.0007, api="openai")
    metrics.observe("cacheback_proxy_hit_seconds", 99.0, api="openai")
    text = render(metrics.snapshot(), {"cacheback_cache_entries": ("Entries.", 3.0)})
    for line in text.splitlines():
        assert line.startswith("# ") or _SAMPLE.match(line), line
    assert 'cacheback_proxy_hits_total{api="openai",tier="exact"} 1' in text
    assert 'cacheback_proxy_dollars_saved_total{api="openai"} 0.00125' in text
    assert 'cacheback_proxy_hit_seconds_bucket{api="openai",le="0.0005"} 0' in text
    assert 'cacheback_proxy_hit_seconds_bucket{api="openai",le="0.001"} 1' in text
    assert 'cacheback_proxy_hit_seconds_bucket{api="openai",le="60.0"} 1' in text
    assert 'cacheback_proxy_hit_seconds_bucket{api="openai",le="+Inf"} 2' in text
    assert 'cacheback_proxy_hit_seconds_count{api="openai"} 2' in text
    assert "# TYPE cacheback_proxy_upstream_seconds histogram" in text
    assert "cacheback_cache_entries 3" in text


def test_label_values_are_escaped() -> None:
    metrics = Metrics()
    metrics.inc("cacheback_proxy_errors_total", kind='a"b\\c\nd')
    assert 'kind="a\\"b\\\\c\\nd"' in render(metrics.snapshot())


def test_unknown_metric_names_are_refused() -> None:
    with pytest.raises(KeyError):
        Metrics().inc("cacheback_proxy_typo_total")


def test_merge_sums_counters_and_histogram_cells() -> None:
    one, two = Metrics(), Metrics()
    for m in (one, two):
        m.inc("cacheback_proxy_misses_total", api="openai")
        m.observe("cacheback_proxy_upstream_seconds", 0.02, api="openai")
    two.inc("cacheback_proxy_misses_total", api="anthropic")
    merged = merge([one.snapshot(), json.loads(json.dumps(two.snapshot()))])
    counts = {labels["api"]: value for _, labels, value in merged["counters"]}
    assert counts == {"openai": 2, "anthropic": 1}
    (_, _, cells), = merged["histograms"]
    assert cells[-1] == 2 and cells[-2] == pytest.approx(0.04)
    assert cells[BUCKETS.index(0.025)] == 2


def test_shared_metrics_sum_every_worker_file(tmp_path: Path) -> None:
    reset_directory(tmp_path / "m")
    (tmp_path / "m" / "111.json").write_text(json.dumps(
        {"counters": [["cacheback_proxy_stored_total", {"api": "openai"}, 5]], "histograms": []}))
    (tmp_path / "m" / "222.json").write_text("{half a file")
    mine = Metrics()
    mine.inc("cacheback_proxy_stored_total", api="openai")
    snapshot, workers = SharedMetrics(mine, tmp_path / "m").collect()
    assert snapshot["counters"] == [["cacheback_proxy_stored_total", {"api": "openai"}, 6.0]]
    assert workers == 2
    reset_directory(tmp_path / "m")
    assert list((tmp_path / "m").iterdir()) == []


def test_without_a_directory_only_this_process_counts() -> None:
    mine = Metrics()
    mine.inc("cacheback_proxy_stored_total", api="openai")
    shared = SharedMetrics(mine)
    shared.publish(force=True)
    assert shared.collect() == (mine.snapshot(), 1)
