"""``cacheback demo``: a support-bot stream through a real cached client, offline, with a table."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from ._common import positive_int

__all__ = ["add_parser"]


def _run(args: argparse.Namespace) -> int:
    from ..demo import DemoConfig, render_table, run_demo, write_html

    config = DemoConfig(
        queries=args.queries, seed=args.seed, model=args.model, latency=args.latency,
        real_latency=args.real_latency,
    )
    progress = None if args.quiet else sys.stderr
    if args.db is not None:
        report = run_demo(config, Path(args.db), progress=progress)
    else:
        with tempfile.TemporaryDirectory(prefix="cacheback-demo-") as tmp:
            report = run_demo(config, Path(tmp) / "demo.db", progress=progress)
    print(render_table(report))
    if args.out is not None:
        write_html(report, Path(args.out))
        print(f"\nreport written to {args.out}")
    return 0


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError("must be zero or more")
    return value


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "demo",
        help="replay a support-bot stream through CachedOpenAI and a local fake upstream (offline)",
        description=(
            "Replays a seeded stream of customer questions (repeats, rewordings, paraphrases and "
            "new questions from a bundled BANKING77 subset) through CachedOpenAI against a fake "
            "OpenAI server on 127.0.0.1, then prints what the cache saved."
        ),
    )
    parser.add_argument("--queries", type=positive_int, default=400, help="stream length (400)")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the stream (7)")
    parser.add_argument("--model", default="gpt-4o", help="model name priced by the fake (gpt-4o)")
    parser.add_argument(
        "--latency", type=_non_negative_float, default=0.8,
        help="upstream latency per call in seconds (0.8); added in accounting unless --real-latency",
    )
    parser.add_argument(
        "--real-latency", action="store_true",
        help="make the fake upstream really wait --latency per call (slower; default: simulated)",
    )
    parser.add_argument("--db", type=Path, help="keep the demo cache in this file (default: a temp file)")
    parser.add_argument("--out", type=Path, help="also write a self-contained HTML report here")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=_run)
