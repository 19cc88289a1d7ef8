"""A short real demo: CachedOpenAI against the fake upstream, counted and judged."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from cacheback import SemanticCache
from cacheback.cli import main
from cacheback.demo import DemoConfig, DemoReport, run_demo
from cacheback.demo._run import describe_matcher
from cacheback.match import ThresholdMatcher


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> DemoReport:
    db = tmp_path_factory.mktemp("demo") / "demo.db"
    return run_demo(DemoConfig(queries=60, seed=5), db, progress=io.StringIO())


def test_every_miss_and_only_misses_reach_the_upstream(report: DemoReport) -> None:
    assert len(report.outcomes) == 60
    assert report.upstream_requests == report.upstream_calls > 0
    assert report.hits > 0


def test_hits_are_judged_against_their_cached_question(report: DemoReport) -> None:
    for outcome in report.outcomes:
        if outcome.tier == "exact":
            assert outcome.correct is True
        if outcome.hit:
            assert outcome.matched_query and outcome.correct is not None
        else:
            assert outcome.correct is None


def test_simulated_latency_is_added_to_upstream_calls(report: DemoReport) -> None:
    """A lower bound only: how fast hits are is a benchmark's business (the demo's own table,
    benchmarks/test_latency.py), never a wall-clock assertion here."""
    for outcome in report.outcomes:
        if not outcome.hit:
            assert outcome.seconds >= report.config.latency
    assert "simulated" in report.latency_note


def test_savings_are_the_priced_cost_of_the_hits(report: DemoReport) -> None:
    _, _, without = report.totals(with_cache=False)
    _, _, with_cache = report.totals(with_cache=True)
    assert without - with_cache == pytest.approx(sum(o.usd for o in report.outcomes if o.hit))
    assert with_cache > 0 and all(o.usd > 0 for o in report.outcomes)


def test_cli_demo_prints_the_table_and_writes_html(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.html"
    assert main(["demo", "--queries", "30", "--quiet", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "upstream calls" in printed and "p99 ms" in printed and "/day becomes $" in printed
    assert "<svg" in out.read_text("utf-8")
    assert list(tmp_path.iterdir()) == [out]


def test_cli_demo_keeps_its_cache_only_when_asked(tmp_path: Path) -> None:
    db = tmp_path / "kept.db"
    assert main(["demo", "--queries", "10", "--quiet", "--db", str(db)]) == 0
    assert db.is_file()


def test_the_demo_runs_the_product_default_matcher(report: DemoReport) -> None:
    with SemanticCache(":memory:", embedder=None) as default:
        assert report.matcher == describe_matcher(default.matcher)
    assert describe_matcher(ThresholdMatcher(0.9)) == "ThresholdMatcher(threshold=0.9)"
