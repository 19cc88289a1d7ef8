"""The in-memory vector index against SQLite: rows changed behind its back, the file restored
from a backup while open, and the index running out of memory."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from cacheback import SemanticCache
from cacheback._vectors import PartitionedVectors
from cacheback.embed import Embedder

from .harness import FaultHarness
from .test_embedder import PARAPHRASES


def _sql(path: Path, statement: str, *params: Any) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(statement, params)
    conn.close()


def test_rows_changed_behind_the_index(harness: FaultHarness, tmp_path: Path, embedder: Embedder) -> None:
    """Another process deletes one entry, expires another and adds a third: the first two are
    never served from the stale index, the third is found by the semantic tier."""
    path = tmp_path / "cache.db"
    harness.same_as.update(PARAPHRASES)
    harness.open(path, embedder=embedder)
    (p_gone, gone), (p_expired, expired), (p_new, new) = PARAPHRASES.items()
    harness.exercise([gone, expired], rounds=1)
    assert harness.exercise([p_gone, p_expired], rounds=1).hits == 2
    mark = harness.mark()
    _sql(path, "DELETE FROM entries WHERE query = ?", gone)
    _sql(path, "UPDATE entries SET expires = ? WHERE query = ?", harness.wall() - 1, expired)
    with SemanticCache(path, embedder=embedder) as other:
        other.put(new, harness.expected(new))
    for paraphrase in (p_gone, p_expired):
        reply = harness.ask(paraphrase)
        assert reply.hit is None or reply.hit.matched_query == paraphrase
    assert harness.ask(p_new).hit is not None
    harness.assert_visible(mark, "index.stale_dropped", log=None)
    harness.assert_recovers()


def test_database_restored_from_a_backup_while_open(
    harness: FaultHarness, tmp_path: Path, embedder: Embedder
) -> None:
    """``mv backup.db cache.db`` while the cache runs: the backup's ids name other questions, so
    every id the index holds is stale, and SQLite would go on reading the old file. The swap is
    noticed, the index rebuilt from the new file, and nothing from the old one served."""
    path, backup = tmp_path / "cache.db", tmp_path / "backup.db"
    with SemanticCache(backup, embedder=embedder) as other:
        backed_up = harness.questions(6)
        for question in backed_up:
            other.put(question, harness.expected(question))
    harness.same_as.update(PARAPHRASES)
    harness.open(path, embedder=embedder)
    harness.exercise(list(PARAPHRASES.values()), rounds=1)
    mark = harness.mark()
    backup.replace(path)
    harness.exercise(list(PARAPHRASES), rounds=2)
    harness.assert_visible(mark, "errors.storage", log="replaced")
    harness.assert_recovers(survivors=backed_up)


def test_out_of_memory_in_the_index(
    harness: FaultHarness, tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness.same_as.update(PARAPHRASES)
    harness.open(tmp_path / "cache.db", embedder=embedder)
    warm = harness.warm(2)
    real_add = PartitionedVectors.add

    def no_memory(self: PartitionedVectors, *args: Any) -> int:
        raise MemoryError("cannot allocate 1.5 MiB for the index")

    mark = harness.mark()
    monkeypatch.setattr(PartitionedVectors, "add", no_memory)
    originals = list(PARAPHRASES.values())
    tally = harness.exercise([*warm, *originals], rounds=2)
    assert tally.hits >= len(warm) + len(originals), "the exact tier must keep working"
    harness.assert_visible(mark, "errors.index", log="MemoryError")
    monkeypatch.setattr(PartitionedVectors, "add", real_add)
    harness.assert_recovers()
    for paraphrase in PARAPHRASES:  # stored during the fault, indexed once memory is back
        reply = harness.ask(paraphrase)
        assert reply.hit is not None and reply.hit.tier == "semantic"
