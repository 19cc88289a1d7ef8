"""Writer processes for the crash and concurrency scenarios: ``python -m fault_injection.workers``.

Each writer stores ``upstream_answer(question)`` for its questions and reports every entry the
cache said it stored (one line per put, flushed at once), so the parent can check, after a crash,
that everything reported is on disk and complete.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TextIO

from cacheback import SemanticCache

from .harness import upstream_answer

__all__ = ["main", "question", "run_writer"]


def question(writer: int, n: int) -> str:
    return f"writer {writer} question {n}?"


def run_writer(
    path: str, writer: int, count: int, *, answer_size: int, embedder: str | None,
    go_file: str | None = None, checkpoint_every: int = 0, out: TextIO = sys.stdout,
) -> dict[str, object]:
    """Put ``count`` answers, writing ``stored <n> <id>`` to ``out`` after each successful put."""
    with SemanticCache(path, embedder=embedder) as cache:
        if go_file:
            print("ready", file=out, flush=True)
            while not Path(go_file).exists():
                time.sleep(0.001)
        skipped = 0
        for n in range(count):
            q = question(writer, n)
            entry_id = cache.put(q, upstream_answer(q, answer_size))
            if entry_id is None:
                skipped += 1
            else:
                print(f"stored {n} {entry_id}", file=out, flush=True)
            if checkpoint_every and n % checkpoint_every == 0:
                cache.storage.checkpoint()  # type: ignore[union-attr]
        return {"skipped": skipped, "counters": cache.stats()["counters"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fault_injection.workers")
    parser.add_argument("path")
    parser.add_argument("--writer", type=int, default=0)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--answer-size", type=int, default=0)
    parser.add_argument("--embedder", choices=["default", "none"], default="none")
    parser.add_argument("--go-file")
    parser.add_argument("--checkpoint-every", type=int, default=0)
    args = parser.parse_args(argv)
    result = run_writer(
        args.path, args.writer, args.count, answer_size=args.answer_size,
        embedder=None if args.embedder == "none" else "default", go_file=args.go_file,
        checkpoint_every=args.checkpoint_every,
    )
    print("result " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
