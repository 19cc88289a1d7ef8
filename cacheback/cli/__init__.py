"""The ``cacheback`` command line: demo, stats, clear, export, import, doctor, evict."""

from ._app import build_parser, main

__all__ = ["build_parser", "main"]
