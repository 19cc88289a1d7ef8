"""``--out report.html``: the demo summary as one self-contained page with inline SVG charts
(spend, hit rate by tier and latency over the stream)."""

from __future__ import annotations

from html import escape
from pathlib import Path

from ._charts import hit_rate_chart_svg, latency_chart_svg
from ._render import Table, money_table, summary_lines, tier_table, title
from ._report import DemoReport

__all__ = ["cost_chart_svg", "render_html", "write_html"]

_W, _H, _PAD = 640, 300, 48
_STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 760px; margin: 2em auto; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { padding: 4px 12px; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
svg text { font: 12px system-ui, sans-serif; fill: #444; }
.without { stroke: #c0392b; } .with { stroke: #27ae60; }
"""


def _html_table(table: Table) -> str:
    headers, rows = table
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _polyline(values: list[float], top: float, css: str) -> str:
    n = max(len(values) - 1, 1)
    points = " ".join(
        f"{_PAD + (_W - 2 * _PAD) * i / n:.1f},{_H - _PAD - (_H - 2 * _PAD) * v / top:.1f}"
        for i, v in enumerate(values)
    )
    return f'<polyline class="{css}" fill="none" stroke-width="2.5" points="{points}"/>'


def cost_chart_svg(report: DemoReport) -> str:
    """Cumulative upstream spend over the stream, without and with the cache."""
    without, with_cache = report.cumulative_usd()
    top = max(without[-1] if without else 0.0, 1e-9)
    bottom, right = _H - _PAD, _W - _PAD
    return "".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" role="img" '
        'aria-label="cumulative upstream spend">',
        f'<line x1="{_PAD}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#999"/>',
        f'<line x1="{_PAD}" y1="{_PAD}" x2="{_PAD}" y2="{bottom}" stroke="#999"/>',
        f'<text x="{_PAD}" y="{_PAD - 10}">${top:,.4f}</text>',
        f'<text x="{right}" y="{bottom + 20}" text-anchor="end">{len(without):,} queries</text>',
        f'<text x="{_PAD}" y="{bottom + 20}">0</text>',
        _polyline(without, top, "without"),
        _polyline(with_cache, top, "with"),
        f'<text x="{right}" y="{_PAD + 4}" text-anchor="end" style="fill:#c0392b">without cache</text>',
        f'<text x="{right}" y="{_PAD + 22}" text-anchor="end" style="fill:#27ae60">with cacheback</text>',
        "</svg>",
    ])


def render_html(report: DemoReport) -> str:
    """The whole page: no scripts, no external files."""
    paragraphs = "".join(f"<p>{escape(line)}</p>" for line in summary_lines(report))
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>cacheback demo report</title><style>{_STYLE}</style></head><body>"
        f"<h1>cacheback demo</h1><p>{escape(title(report))}</p>"
        f"<h2>Spend over the stream</h2>{cost_chart_svg(report)}"
        f"<h2>Hit rate over the stream, by tier</h2>{hit_rate_chart_svg(report)}"
        f"<h2>Latency over the stream (median per window)</h2>{latency_chart_svg(report)}"
        f"<h2>Tokens and dollars</h2>{_html_table(money_table(report))}"
        f"<h2>Who answered, how fast</h2>{_html_table(tier_table(report))}"
        f"{paragraphs}<p><small>Questions: {escape(report.source)}</small></p></body></html>\n"
    )


def write_html(report: DemoReport, path: Path) -> None:
    path.write_text(render_html(report), encoding="utf-8")
