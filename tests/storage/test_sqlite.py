"""SQLiteStorage robustness: checksums, liveness, the header probe, opening under a lock, a file
replaced while open, JSON that SQLite can always store, errors converted at the boundary."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cacheback import CorruptDatabaseError, SchemaVersionError, StorageError
from cacheback._normalize import normalise_query, query_hash
from cacheback.storage import APPLICATION_ID, SCHEMA_VERSION, NewEntry, SQLiteStorage, json_text


def _entry(query: str, *, created: float = 1_000.0, expires: float | None = None,
           embedding: np.ndarray | None = None, **extra: Any) -> NewEntry:
    fields: dict[str, Any] = dict(
        namespace="ns", scope_key="", query_hash=f"h-{query}", norm_query=query, query=query,
        response=f"answer to {query}", payload=None, embedding=embedding,
        embed_model=None if embedding is None else "m", created=created, expires=expires,
        metadata=None,
    )
    return NewEntry(**{**fields, **extra})


def _sql(path: Path, statement: str, *params: Any) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(statement, params)
    conn.close()


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStorage:
    storage = SQLiteStorage(tmp_path / "cache.db")
    yield storage
    storage.close()


def test_a_row_that_fails_its_checksum_is_corrupt(store: SQLiteStorage) -> None:
    entry_id = store.put(_entry("q"))
    _sql(Path(store.path), "UPDATE entries SET response = 'tampered' WHERE id = ?", entry_id)
    with pytest.raises(CorruptDatabaseError, match="checksum"):
        store.get_exact("ns", "", "h-q", 1_000.0)
    with pytest.raises(CorruptDatabaseError):
        store.get_many([entry_id], 1_000.0)


def test_rows_from_before_the_checksum_are_still_read(store: SQLiteStorage) -> None:
    entry_id = store.put(_entry("q", metadata={"k": "v"}))
    _sql(Path(store.path), "UPDATE entries SET checksum = NULL, response = 'older' WHERE id = ?", entry_id)
    found = store.get_exact("ns", "", "h-q", 1_000.0)
    assert found is not None and found.response == "older" and found.metadata == {"k": "v"}


def test_liveness_expired_and_created_in_the_future(store: SQLiteStorage) -> None:
    store.put(_entry("expired", expires=1_010.0))
    store.put(_entry("future", created=2_000.0, expires=2_060.0))
    store.put(_entry("forever", created=2_000.0))
    assert store.get_exact("ns", "", "h-expired", 1_020.0) is None
    assert store.get_exact("ns", "", "h-future", 1_020.0) is None, "age unknown: not live"
    assert store.get_exact("ns", "", "h-forever", 1_020.0) is not None, "no TTL: age irrelevant"


@pytest.mark.parametrize("blob", ["x'0000'", "x'00000000'", "x''", "x'0000803f0000803f0000803f'",
                                  "x'" + "00" * 20 + "'"])
def test_a_damaged_embedding_blob_is_a_nan_row_not_a_corrupt_file(store: SQLiteStorage,
                                                                   blob: str) -> None:
    """A blob of the wrong size (torn, truncated, rotten) costs its own row's vector only: it
    comes back as NaN, which the index skips and counts; the others load (it used to raise
    CorruptDatabaseError, and the whole file was moved aside)."""
    vector = np.ones(4, dtype=np.float32) / 2
    for n in range(3):
        store.put(_entry(f"q{n}", embedding=vector))
    _sql(Path(store.path), f"UPDATE entries SET embedding = {blob} WHERE id = 2")
    (batch,) = list(store.vectors_after(0, "m", 1_000.0))
    assert list(batch.ids) == [1, 2, 3] and batch.vectors.shape == (3, 4)
    assert np.isnan(batch.vectors[1]).all() and np.isfinite(batch.vectors[[0, 2]]).all()


def test_errors_raised_while_iterating_vectors_are_storage_errors(store: SQLiteStorage) -> None:
    """vectors_after is a generator: its errors surface during iteration and must be converted
    there too."""
    vector = np.ones(4, dtype=np.float32) / 2
    for n in range(3):
        store.put(_entry(f"q{n}", embedding=vector))
    batches = store.vectors_after(0, "m", 1_000.0)
    store.close()
    with pytest.raises(StorageError):
        list(batches)


def test_damaged_header_fields_mean_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    SQLiteStorage(path).close()
    with open(path, "r+b") as fh:
        fh.seek(21)
        fh.write(b"\x00\x00\x00")
    with pytest.raises(CorruptDatabaseError, match="header"):
        SQLiteStorage(path)


def test_empty_file_becomes_a_fresh_database(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    path.touch()
    storage = SQLiteStorage(path)
    assert storage.counts()["entries"] == 0
    storage.close()


@pytest.mark.parametrize("app_id, version, message", [
    (0, 0, "other program"),
    (0, 3, "other program"),
    (APPLICATION_ID, SCHEMA_VERSION + 1, "newer"),
])
def test_foreign_or_newer_file_is_refused_untouched(
    tmp_path: Path, app_id: int, version: int, message: str
) -> None:
    path = tmp_path / "cache.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE things (x)")
        conn.execute(f"PRAGMA application_id = {app_id}")
        conn.execute(f"PRAGMA user_version = {version}")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(SchemaVersionError, match=message):
        SQLiteStorage(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache.db"]


def test_migrates_a_version_1_file_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    storage = SQLiteStorage(path)
    storage.put(_entry("q"))
    storage.close()
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE entries DROP COLUMN checksum")
        conn.execute("DROP TABLE meta")
        conn.execute("PRAGMA user_version = 1")
    conn.close()
    storage = SQLiteStorage(path)
    found = storage.get_exact("ns", "", query_hash(normalise_query("q")), 1_000.0)
    assert found is not None and found.response == "answer to q"
    assert len(storage.db_uuid()) == 32
    storage.close()


def test_schema_4_rekeys_old_rows_so_no_other_question_finds_them(tmp_path: Path) -> None:
    """A version-3 file keyed "What is 3² + 4²?" under NFKC + case folding ("what is 32 + 42")
    must not answer "What is 32 + 42?" after the upgrade; the row itself stays and is found
    under its new key, and its feedback stays keyed to it."""
    import hashlib
    import unicodedata

    def old_key(text: str) -> str:
        folded = unicodedata.normalize("NFKC", text).casefold().rstrip("?")
        return hashlib.sha256(folded.encode()).hexdigest()

    path = tmp_path / "cache.db"
    storage = SQLiteStorage(path)
    question = "What is 3² + 4²?"
    storage.put(_entry(question, query_hash=old_key(question)))
    storage.put(_entry("Straße?", query_hash=old_key("Straße?")))
    storage.close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 3")
        conn.execute(
            "INSERT INTO feedback (entry_id, namespace, scope_key, query, query_hash, matched_query,"
            " similarity, tier, correct, created) VALUES (1, 'ns', '', ?, ?, ?, 1.0, 'exact', 0, 0)",
            (question, old_key(question), question))
    conn.close()
    storage = SQLiteStorage(path)
    assert storage.get_exact("ns", "", old_key("What is 32 + 42?"), 1_000.0) is None
    assert storage.get_exact("ns", "", query_hash(normalise_query("strasse")), 1_000.0) is None
    found = storage.get_exact("ns", "", query_hash(normalise_query(question)), 1_000.0)
    assert found is not None and found.query == question
    assert (query_hash(normalise_query(question)), 1) in storage.blocked_pairs()
    storage.close()


@pytest.mark.parametrize(("stored", "other"), [
    ("Decode aGVsbG8=", "Decode AGVSBG8="),
    ("What does getUser return?", "What does getuser return?"),
    ("Is Hunter2 my password?", "Is hunter2 my password?"),
])
def test_schema_5_rekeys_rows_so_a_case_sensitive_word_keeps_its_case(
        tmp_path: Path, stored: str, other: str) -> None:
    """A version-4 file keyed every word in lower case: after the upgrade the row is found
    under its own new key only, not under the key of the same text in other cases."""
    import hashlib
    import unicodedata

    def v4_key(text: str) -> str:
        lowered = unicodedata.normalize("NFC", text).lower().rstrip("?")
        return hashlib.sha256(lowered.encode()).hexdigest()

    path = tmp_path / "cache.db"
    storage = SQLiteStorage(path)
    storage.put(_entry(stored, query_hash=v4_key(stored)))
    storage.close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 4")
    conn.close()
    storage = SQLiteStorage(path)
    assert storage.get_exact("ns", "", query_hash(normalise_query(other)), 1_000.0) is None
    found = storage.get_exact("ns", "", query_hash(normalise_query(stored)), 1_000.0)
    assert found is not None and found.query == stored
    storage.close()


def test_opens_and_reads_while_another_connection_holds_the_write_lock(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    first = SQLiteStorage(path)
    first.put(_entry("q"))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        second = SQLiteStorage(path, retry={"budget_seconds": 0.05})
        assert second.get_exact("ns", "", "h-q", 1_000.0) is not None
        second.close()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        first.close()


def test_file_deleted_or_replaced_while_open_is_noticed(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    storage = SQLiteStorage(path)
    storage.put(_entry("q"))
    assert not storage.file_replaced()
    os.replace(path, tmp_path / "moved.db")
    assert storage.file_replaced()
    with pytest.raises(StorageError, match="deleted or replaced"):
        storage.put(_entry("r"))
    with pytest.raises(StorageError, match="deleted or replaced"):
        storage.get_exact("ns", "", "h-q", 1_000.0)
    storage.close()


def test_closing_a_replaced_database_empties_its_wal(tmp_path: Path) -> None:
    path, other = tmp_path / "cache.db", tmp_path / "other.db"
    storage = SQLiteStorage(path)
    storage.put(_entry("old"))
    fresh = SQLiteStorage(other)
    fresh.put(_entry("new"))
    fresh.close()
    os.replace(other, path)
    storage.close()
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    reopened = SQLiteStorage(path)
    assert reopened.get_exact("ns", "", "h-new", 1_000.0) is not None
    assert reopened.get_exact("ns", "", "h-old", 1_000.0) is None
    assert reopened.integrity_check() == ["ok"]
    reopened.close()


def test_directory_that_cannot_be_created_is_a_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StorageError):
        SQLiteStorage(blocker / "sub" / "cache.db")


def test_json_text_is_readable_and_always_storable() -> None:
    assert json_text({"a": "café"}) == '{"a": "café"}'
    broken = {"a": "caf\udce9"}
    text = json_text(broken)
    text.encode("utf-8")
    assert json.loads(text) == broken
