"""Crash consistency: writers SIGKILLed at random moments (mid-put, mid-checkpoint, mid-open).

Afterwards ``PRAGMA integrity_check`` must say ok and every entry a writer reported stored must be
readable and complete. A crash loses nothing that was reported, so there is nothing to count: the
"visible" check is that the reopened cache reports no error at all.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cacheback import SemanticCache

from .harness import FaultHarness, upstream_answer
from .workers import question, run_writer

REPO = Path(__file__).resolve().parents[1]


def _parse_stored(output: str, writer: int) -> dict[str, int]:
    """``{question: entry id}`` for every complete ``stored`` line (the last may be cut)."""
    stored = {}
    for line in output.splitlines(keepends=True):
        parts = line.split()
        if line.endswith("\n") and len(parts) == 3 and parts[0] == "stored":
            stored[question(writer, int(parts[1]))] = int(parts[2])
    return stored


def _fork_and_kill(path: Path, writer: int, delay: float, *, answer_size: int, checkpoint_every: int,
                   after_first_put: bool) -> str:
    """Fork a writer, SIGKILL it ``delay`` seconds after it started (or after its first put, so
    the kill surely lands among writes however slow the machine), return what it reported."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        try:
            with os.fdopen(write_fd, "w") as out:
                run_writer(
                    str(path), writer, 10**6, answer_size=answer_size, embedder=None,
                    checkpoint_every=checkpoint_every, out=out,
                )
        finally:
            os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd) as reader:
        first = reader.readline() if after_first_put else ""
        time.sleep(delay)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return first + reader.read()


def _check_after_crashes(harness: FaultHarness, path: Path, stored: dict[str, int], answer_size: int) -> None:
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    conn.close()
    harness.answer_size = answer_size
    mark = harness.mark()
    cache = harness.open(path)
    for q, entry_id in stored.items():
        reply = harness.ask(q)
        assert reply.hit is not None and reply.hit.entry_id == entry_id, f"{q!r} was lost"
    assert not any(name.startswith("errors.") for name in cache.stats()["counters"])
    assert harness.log_lines(mark) == []
    harness.assert_recovers()


def _crash_many(harness: FaultHarness, tmp_path: Path, kills: int, *, answer_size: int,
                checkpoint_every: int, max_delay: float) -> None:
    """Half the kills land at a random moment from the writer's start (opening, WAL recovery,
    writing), the other half at a random moment after its first put."""
    path = tmp_path / "cache.db"
    rng = random.Random(kills)
    stored: dict[str, int] = {}
    for writer in range(kills):
        output = _fork_and_kill(
            path, writer, rng.uniform(0.0, max_delay), answer_size=answer_size,
            checkpoint_every=checkpoint_every, after_first_put=writer % 2 == 0,
        )
        stored.update(_parse_stored(output, writer))
    assert len(stored) >= kills // 2, "the writers hardly wrote anything before being killed"
    _check_after_crashes(harness, path, stored, answer_size)


@pytest.mark.slow
def test_sigkill_during_writes_100_times(harness: FaultHarness, tmp_path: Path) -> None:
    _crash_many(harness, tmp_path, 100, answer_size=500, checkpoint_every=0, max_delay=0.04)


@pytest.mark.slow
def test_sigkill_during_checkpoints(harness: FaultHarness, tmp_path: Path) -> None:
    """Each writer folds the WAL back into the file every 5 puts, so many kills land mid-checkpoint
    (and, the WAL being left behind each time, many land in the next writer's WAL recovery)."""
    _crash_many(harness, tmp_path, 40, answer_size=6000, checkpoint_every=5, max_delay=0.06)


@pytest.mark.slow
def test_sigkill_with_the_real_embedder(harness: FaultHarness, tmp_path: Path, embedder: object) -> None:
    """Three writers that embed every entry (a fresh interpreter each, since onnxruntime must not be
    forked): the vectors are stored with their rows, so every reported entry is found again by
    the semantic tier too."""
    path = tmp_path / "cache.db"
    rng = random.Random(5)
    stored: dict[str, int] = {}
    for writer in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-m", "fault_injection.workers", str(path), "--writer", str(writer),
             "--count", "100000", "--embedder", "default"],
            cwd=REPO, stdout=subprocess.PIPE, text=True,
        )
        assert proc.stdout is not None
        first = proc.stdout.readline()
        time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        rest, _ = proc.communicate()
        stored.update(_parse_stored(first + rest, writer))
    assert stored
    _check_after_crashes(harness, path, stored, 0)
    with sqlite3.connect(path) as conn:
        embedded = conn.execute("SELECT count(*) FROM entries WHERE embedding IS NOT NULL").fetchone()[0]
    conn.close()
    with SemanticCache(path, embedder=embedder) as cache:  # type: ignore[arg-type]
        assert cache.stats()["indexed_vectors"] == embedded >= len(stored)
        for q, entry_id in list(stored.items())[:20]:
            best = cache.candidates(q, k=1)[0]
            assert (best.entry_id, best.response) == (entry_id, upstream_answer(q))
