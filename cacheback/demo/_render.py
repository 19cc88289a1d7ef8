"""The demo's plain-text summary: the stream, money and tokens, and latency per tier."""

from __future__ import annotations

import math
from collections.abc import Sequence

from ._report import MISS, DemoReport

__all__ = ["format_table", "money_table", "render_table", "summary_lines", "tier_table", "title"]

_KIND_WORDS = {"repeat": "exact repeats", "reworded": "reworded repeats",
               "paraphrase": "paraphrases", "new": "new questions"}


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell; the first column left-aligned, the rest right."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:,.1f}"


Table = tuple[list[str], list[list[str]]]


def money_table(report: DemoReport) -> Table:
    """Upstream calls, tokens and dollars without and with the cache."""
    n = len(report.outcomes)
    in_without, out_without, usd_without = report.totals(with_cache=False)
    in_with, out_with, usd_with = report.totals(with_cache=True)
    return ["", "without cache", "with cache", "saved"], [
        ["upstream calls", f"{n:,}", f"{report.upstream_calls:,}", f"{report.hits:,} avoided"],
        ["input tokens", f"{in_without:,}", f"{in_with:,}", f"{in_without - in_with:,}"],
        ["output tokens", f"{out_without:,}", f"{out_with:,}", f"{out_without - out_with:,}"],
        ["dollars", f"${usd_without:,.4f}", f"${usd_with:,.4f}", f"${usd_without - usd_with:,.4f}"],
    ]


def tier_table(report: DemoReport) -> Table:
    """Queries, wrong hits and latency percentiles per answering tier."""
    n = max(len(report.outcomes), 1)
    return ["answered by", "queries", "share", "wrong hits", "p50 ms", "p99 ms"], [
        [t.tier + (" (miss)" if t.tier == MISS else " tier"), f"{t.queries:,}",
         f"{t.queries / n:.1%}", "-" if t.tier == MISS else f"{t.wrong}",
         _ms(t.p50_ms), _ms(t.p99_ms)]
        for t in report.tiers
    ]


def summary_lines(report: DemoReport) -> list[str]:
    """The sentences around the tables: the stream, the matcher, hits, latency and the daily sum."""
    n = max(len(report.outcomes), 1)
    kinds = report.kinds
    asked_before = (kinds["repeat"] + kinds["reworded"]) / n
    stream = ", ".join(f"{count} {_KIND_WORDS[kind]}" for kind, count in kinds.items())
    daily = report.config.daily_queries
    return [
        f"stream: {stream}; {asked_before:.0%} asked before (seed {report.config.seed})",
        f"matcher: {report.matcher} (the product default)",
        f"hits: {report.hits:,} of {len(report.outcomes):,} ({report.hits / n:.1%}); wrong hits: "
        f"{report.wrong_hits} (a hit whose cached question has another BANKING77 intent)",
        f"latency: {report.latency_note}",
        f"At {daily:,} queries/day with this mix ({asked_before:.0%} asked before): "
        f"${report.per_day(False):,.2f}/day becomes ${report.per_day(True):,.2f}/day.",
    ]


def title(report: DemoReport) -> str:
    return (f"cacheback demo: {len(report.outcomes):,} support-bot questions through CachedOpenAI "
            f"-> fake OpenAI upstream on 127.0.0.1 ({report.config.model} list prices)")


def render_table(report: DemoReport) -> str:
    """The summary ``cacheback demo`` prints."""
    stream, matcher, *rest = summary_lines(report)
    return "\n".join([
        title(report), stream, matcher, "",
        format_table(*money_table(report)), "",
        format_table(*tier_table(report)), "",
        *rest,
        f"(ran in {report.wall_seconds:.1f} s; questions: {report.source})",
    ])
