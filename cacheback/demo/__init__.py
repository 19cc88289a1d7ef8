"""``cacheback demo``: a labelled support-bot stream through a real cached client, offline."""

from ._data import Intent, SupportSet, load_support_set
from ._html import render_html, write_html
from ._render import render_table
from ._report import DemoConfig, DemoReport, Outcome
from ._run import run_demo
from ._stream import KINDS, StreamItem, build_stream

__all__ = [
    "KINDS",
    "DemoConfig",
    "DemoReport",
    "Intent",
    "Outcome",
    "StreamItem",
    "SupportSet",
    "build_stream",
    "load_support_set",
    "render_html",
    "render_table",
    "run_demo",
    "write_html",
]
