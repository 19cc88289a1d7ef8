"""The report's over-time charts as inline SVG: hit rate by tier and latency, per window of
consecutive queries (about 40 windows over the stream)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from ._report import MISS, DemoReport

__all__ = ["hit_rate_chart_svg", "latency_chart_svg", "windows"]

_W, _H, _PAD = 640, 260, 60
_COLORS = {"all hits": "#222", "exact": "#2f7de1", "semantic": "#19a974", "ceag": "#9b51e0",
           "hits": "#27ae60", "misses": "#c0392b"}


def windows(count: int, target: int = 40) -> list[range]:
    """``count`` queries cut into about ``target`` consecutive windows."""
    size = max(1, math.ceil(count / target))
    return [range(start, min(start + size, count)) for start in range(0, count, size)]


def _chart(label: str, series: dict[str, list[float | None]], top: float, bottom_value: float,
           ticks: Sequence[tuple[float, str]], scale: str, queries: int) -> str:
    n = max(max((len(v) for v in series.values()), default=1) - 1, 1)
    bottom, right = _H - _PAD, _W - _PAD

    def y(v: float) -> float:
        if scale == "log":
            lo, hi = math.log10(bottom_value), math.log10(top)
            frac = (math.log10(max(v, bottom_value)) - lo) / (hi - lo or 1)
        else:
            frac = v / (top or 1)
        return bottom - (bottom - _PAD) * frac

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" role="img" '
             f'aria-label="{label}">',
             f'<line x1="{_PAD}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#999"/>',
             f'<line x1="{_PAD}" y1="{_PAD}" x2="{_PAD}" y2="{bottom}" stroke="#999"/>',
             f'<text x="{right}" y="{bottom + 20}" text-anchor="end">{queries:,} queries</text>']
    for value, text in ticks:
        parts.append(f'<text x="{_PAD - 6}" y="{y(value) + 4:.1f}" text-anchor="end">{text}</text>')
    for i, (name, values) in enumerate(series.items()):
        color = _COLORS.get(name, "#555")
        points = " ".join(f"{_PAD + (right - _PAD) * j / n:.1f},{y(v):.1f}"
                          for j, v in enumerate(values) if v is not None)
        if points:
            parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{points}"/>')
        parts.append(f'<text x="{right}" y="{_PAD - 24 + 16 * i}" text-anchor="end" '
                     f'style="fill:{color}">{name}</text>')
    parts.append("</svg>")
    return "".join(parts)


def hit_rate_chart_svg(report: DemoReport) -> str:
    """Share of each window's queries answered by each tier, and by any tier."""
    outcomes = report.outcomes
    cuts = windows(len(outcomes))
    tiers = [t.tier for t in report.tiers if t.tier != MISS and t.queries]
    series: dict[str, list[float | None]] = {"all hits": []}
    series.update({tier: [] for tier in tiers})
    for cut in cuts:
        rows = [outcomes[i] for i in cut]
        series["all hits"].append(sum(o.hit for o in rows) / len(rows))
        for tier in tiers:
            series[tier].append(sum(o.tier == tier for o in rows) / len(rows))
    ticks = [(v, f"{v:.0%}") for v in (0.0, 0.25, 0.5, 0.75, 1.0)]
    return _chart("hit rate by tier over the stream", series, 1.0, 0.0, ticks, "linear", len(outcomes))


def latency_chart_svg(report: DemoReport) -> str:
    """Median latency (ms, log scale) of each window's hits and of its misses."""
    outcomes = report.outcomes
    series: dict[str, list[float | None]] = {"hits": [], "misses": []}
    for cut in windows(len(outcomes)):
        rows = [outcomes[i] for i in cut]
        for name, keep in (("hits", True), ("misses", False)):
            ms = [o.seconds * 1000 for o in rows if o.hit is keep]
            series[name].append(statistics.median(ms) if ms else None)
    values = [v for vs in series.values() for v in vs if v is not None]
    low = 10 ** math.floor(math.log10(max(min(values, default=0.1), 0.01)))
    high = 10 ** math.ceil(math.log10(max(max(values, default=1.0), low * 10)))
    ticks, tick = [], low
    while tick <= high:
        ticks.append((tick, f"{tick / 1000:g} s" if tick >= 1000 else f"{tick:g} ms"))
        tick *= 10
    return _chart("median latency of hits and misses over the stream", series, high, low, ticks, "log",
                  len(outcomes))
