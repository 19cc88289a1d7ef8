"""Report sums, tables and HTML built from hand-made outcomes."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from cacheback.demo import DemoConfig, DemoReport, Outcome, StreamItem, render_html, render_table, write_html
from cacheback.demo._progress import ProgressBar
from cacheback.demo._render import format_table


def _report() -> DemoReport:
    item = StreamItem("How old must I be?", "age_limit", "new")
    again = StreamItem("How old must I be?", "age_limit", "repeat")
    other = StreamItem("Hi, how old must I be?", "age_limit", "reworded")
    outcomes = [
        Outcome(item, "upstream", 0.8, 1000, 50, 0.003),
        Outcome(again, "exact", 0.001, 1000, 50, 0.003, correct=True),
        Outcome(other, "semantic", 0.010, 1000, 50, 0.003, correct=False, similarity=0.95),
        Outcome(other, "semantic", 0.030, 1000, 50, 0.003, correct=True, similarity=0.97),
    ]
    return DemoReport(DemoConfig(queries=4, daily_queries=1000), outcomes, "ThresholdMatcher(threshold=0.9)",
                      upstream_requests=1, wall_seconds=1.0, latency_note="simulated", source="test")


def test_sums_with_and_without_the_cache() -> None:
    report = _report()
    assert (report.hits, report.wrong_hits, report.upstream_calls) == (3, 1, 1)
    assert report.totals(with_cache=False) == (4000, 200, pytest.approx(0.012))
    assert report.totals(with_cache=True) == (1000, 50, pytest.approx(0.003))
    assert report.per_day(False) == pytest.approx(3.0)
    assert report.per_day(True) == pytest.approx(0.75)
    without, with_cache = report.cumulative_usd()
    assert without[-1] == pytest.approx(0.012) and with_cache[-1] == pytest.approx(0.003)


def test_tier_summaries_keep_order_and_percentiles() -> None:
    tiers = {t.tier: t for t in _report().tiers}
    assert list(tiers) == ["exact", "semantic", "upstream"]
    assert tiers["semantic"].queries == 2 and tiers["semantic"].wrong == 1
    assert tiers["semantic"].p50_ms == pytest.approx(20.0)
    assert tiers["exact"].p99_ms == pytest.approx(1.0)


def test_an_empty_tier_has_no_latency() -> None:
    report = _report()
    report.outcomes = [o for o in report.outcomes if o.tier != "exact"]
    report.__post_init__()
    exact = report.tiers[0]
    assert exact.queries == 0 and math.isnan(exact.p50_ms)
    assert "exact tier" in render_table(report)


def test_text_table_states_money_tiers_and_the_daily_sum() -> None:
    text = render_table(_report())
    assert "$0.0120" in text and "$0.0030" in text
    assert "wrong hits: 1" in text
    assert "$3.00/day becomes $0.75/day" in text
    assert "1 exact repeats, 2 reworded repeats, 0 paraphrases, 1 new questions" in text


def test_html_is_self_contained_with_its_charts(tmp_path: Path) -> None:
    page = render_html(_report())
    assert page.count("<svg") == 3
    assert 'aria-label="hit rate by tier over the stream"' in page
    assert 'aria-label="median latency of hits and misses over the stream"' in page
    assert page.count("<polyline") >= 2 + 3 + 2, "spend (2), hit rate (all + tiers), latency (2)"
    assert "<script" not in page and "src=" not in page and "href=" not in page
    write_html(_report(), tmp_path / "r.html")
    assert (tmp_path / "r.html").read_text("utf-8") == page


def test_format_table_aligns_columns() -> None:
    lines = format_table(["name", "n"], [["a", "1"], ["long name", "100"]]).splitlines()
    assert lines == ["name         n", "---------  ---", "a            1", "long name  100"]


class _Log:
    def __init__(self, tty: bool) -> None:
        self.text, self._tty = "", tty

    def write(self, s: str) -> None:
        self.text += s

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return self._tty


def test_progress_bar_in_a_log_writes_a_line_per_tenth() -> None:
    log = _Log(tty=False)
    bar = ProgressBar(100, log)  # type: ignore[arg-type]
    for done in range(1, 101):
        bar.update(done, done // 2)
    lines = log.text.splitlines()
    assert len(lines) == 10 and lines[-1].endswith("100/100  hits 50%")


def test_progress_bar_on_a_terminal_redraws_in_place() -> None:
    term = _Log(tty=True)
    bar = ProgressBar(4, term)  # type: ignore[arg-type]
    for done in range(1, 5):
        bar.update(done, 0)
    assert term.text.count("\r") == 4 and term.text.endswith("4/4  hits 0%\n")


def test_hit_rate_and_latency_charts_follow_the_stream() -> None:
    from cacheback.demo._charts import hit_rate_chart_svg, latency_chart_svg, windows

    assert [len(w) for w in windows(100)] == [3] * 33 + [1]
    assert [list(w) for w in windows(3)] == [[0], [1], [2]]
    report = _report()
    rates = hit_rate_chart_svg(report)
    # one query per window: "all hits" is exactly 0 or 1 per point, so its y values are the axis ends
    all_hits = rates.split('stroke="#222"')[1].split('points="')[1].split('"')[0]
    ys = {p.split(",")[1] for p in all_hits.split()}
    assert ys <= {"200.0", "60.0"} and len(ys) == 2
    latency = latency_chart_svg(report)
    assert latency.count("<polyline") == 2 and " ms</text>" in latency
