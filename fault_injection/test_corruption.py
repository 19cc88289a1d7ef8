"""Damaged files: garbage header, truncation, a scribbled page, not SQLite, another program's SQLite,
a newer schema. A damaged cacheback database is moved aside (kept) and a fresh one started."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from cacheback.embed import Embedder
from cacheback.storage import SCHEMA_VERSION

from . import damage
from .harness import FaultHarness
from .mounts import Tmpfs


def _moved_aside(path: Path) -> list[Path]:
    return sorted(path.parent.glob(path.name + ".corrupt-*"))


def _reopen_damaged(harness: FaultHarness, path: Path, harm: Callable[[Path], None]) -> list[str]:
    """Fill a cache, close it, damage the file, reopen it and use it: the damaged file must be moved
    aside intact, every answer right, and a fresh database must take over."""
    harness.answer_size = 6000
    harness.open(path)
    warm = harness.warm(12)
    harness.close()
    harm(path)
    damaged = path.read_bytes()
    mark = harness.mark()
    harness.open(path)
    harness.exercise(warm + harness.questions(4))
    harness.assert_visible(mark, "corrupt_database", log="moved to")
    moved = _moved_aside(path)
    assert [p.read_bytes() for p in moved if not p.name.endswith(("-wal", "-shm"))] == [damaged]
    harness.assert_recovers()
    return warm


def test_garbage_in_the_magic_string(harness: FaultHarness, tmp_path: Path) -> None:
    _reopen_damaged(harness, tmp_path / "cache.db", lambda p: damage.overwrite(p, 0, b"\x89garbage!" * 2))


def test_garbage_in_the_header_fields(harness: FaultHarness, tmp_path: Path) -> None:
    rng = random.Random(7)
    _reopen_damaged(
        harness, tmp_path / "cache.db", lambda p: damage.overwrite(p, 16, rng.randbytes(84))
    )


def test_truncated_file(harness: FaultHarness, tmp_path: Path) -> None:
    _reopen_damaged(harness, tmp_path / "cache.db", lambda p: damage.truncate(p, 0.4))


def _root_page(path: Path, name: str) -> int:
    with sqlite3.connect(path) as conn:
        page = int(conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (name,)).fetchone()[0])
    conn.close()
    return page


def _middle_overflow_page(path: Path) -> int:
    pages = damage.pages_of_kind(path, "other")
    return pages[len(pages) // 2]


@pytest.mark.parametrize(
    "target",
    [lambda p: _root_page(p, "entries"), lambda p: _root_page(p, "entries_key"), _middle_overflow_page],
    ids=["entries-table-page", "lookup-index-page", "answer-overflow-page"],
)
def test_scribbled_page_in_the_middle(
    harness: FaultHarness, tmp_path: Path, target: Callable[[Path], int]
) -> None:
    """Random printable bytes over one page past its header. SQLite rejects a damaged b-tree page;
    an overflow page holding answer text still decodes, so only a per-entry checksum can tell."""
    _reopen_damaged(
        harness, tmp_path / "cache.db",
        lambda p: damage.scribble(p, target(p), random.Random(3), start=8),
    )


def test_file_that_is_not_sqlite(harness: FaultHarness, tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    path.write_text("name,score\nada,3\n" * 100)
    content = path.read_bytes()
    mark = harness.mark()
    harness.open(path)
    harness.exercise(harness.questions(4))
    harness.assert_visible(mark, "corrupt_database", log="moved to")
    assert [p.read_bytes() for p in _moved_aside(path)] == [content]
    harness.assert_recovers()


def test_repeated_corruption_keeps_every_copy(harness: FaultHarness, tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    copies = []
    for round_ in range(3):
        harness.close()
        path.write_bytes(b"not a database, round %d" % round_)
        copies.append(path.read_bytes())
        harness.open(path)
        harness.exercise(harness.questions(2))
    assert sorted(p.read_bytes() for p in _moved_aside(path)) == sorted(copies)
    harness.assert_recovers()


def _other_programs_database(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        conn.execute("INSERT INTO invoices VALUES (1, 9.5)")
    conn.close()


def _newer_cacheback_database(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode = wal")
        conn.execute("CREATE TABLE entries_v9 (id INTEGER PRIMARY KEY)")
        conn.execute("PRAGMA application_id = 1130515249")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()


@pytest.mark.parametrize(
    ("make", "reason"),
    [(_other_programs_database, "some other program"), (_newer_cacheback_database, "newer")],
    ids=["sqlite-of-another-program", "schema-from-a-newer-version"],
)
def test_database_we_must_not_touch(
    harness: FaultHarness, tmp_path: Path, make: Callable[[Path], None], reason: str
) -> None:
    """Not ours, or too new: the cache turns itself off and leaves the file byte-for-byte alone."""
    path = tmp_path / "cache.db"
    make(path)
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    mark = harness.mark()
    harness.open(path)
    tally = harness.exercise(harness.questions(4))
    assert tally.hits == 0
    stats = harness.assert_visible(mark, "errors.schema", log=reason)
    assert "storage" in stats["degraded"]
    harness.close()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == files
    path.rename(tmp_path / "kept.db")  # the user moves it away; a fresh cache takes its place
    harness.open(path)
    harness.assert_recovers()


def test_corrupt_database_that_cannot_be_moved(harness: FaultHarness, tmpfs: Tmpfs) -> None:
    """Damaged and on a read-only file system: nothing can be moved or created, so the cache stays
    off (and the file as it is) until the file system is writable again."""
    path = tmpfs.path / "cache.db"
    path.write_bytes(b"definitely not SQLite")
    tmpfs.remount(read_only=True)
    mark = harness.mark()
    harness.open(path)
    harness.exercise(harness.questions(4))
    harness.assert_visible(mark, "corrupt_database", log="damaged")
    assert path.read_bytes() == b"definitely not SQLite" and not _moved_aside(path)
    tmpfs.remount(read_only=False)
    harness.assert_recovers()
    assert [p.read_bytes() for p in _moved_aside(path)] == [b"definitely not SQLite"]


def _flip_exponent_bit(blob: bytes) -> bytes:
    """Bit rot in the first float's exponent: 0.05 becomes about 1e18."""
    damaged = bytearray(blob)
    damaged[3] ^= 0x40
    return bytes(damaged)


@pytest.mark.parametrize(
    "harm", [lambda blob: blob[:7], _flip_exponent_bit], ids=["wrong-size", "exponent-bit-flipped"]
)
def test_damaged_embedding_blob(
    harness: FaultHarness, tmp_path: Path, embedder: Embedder, harm: Callable[[bytes], bytes]
) -> None:
    """Embeddings are not covered by the entry checksum (loading them must stay cheap). A blob of
    the wrong size costs its own vector, not the file (it used to be read as a corrupt database
    and the whole cache moved aside); one flipped exponent bit makes a vector huge, so it would
    look similar to every query whose first component it shares the sign of: both are dropped,
    and every entry still answers exactly."""
    path = tmp_path / "cache.db"
    harness.open(path, embedder=embedder)
    warm = harness.warm(4)
    harness.close()
    with sqlite3.connect(path) as conn:
        (blob,) = conn.execute("SELECT embedding FROM entries WHERE query = ?", (warm[1],)).fetchone()
        conn.execute("UPDATE entries SET embedding = ? WHERE query = ?", (harm(blob), warm[1]))
    conn.close()
    mark = harness.mark()
    harness.open(path, embedder=embedder)
    harness.exercise(harness.questions(8) + warm)
    harness.assert_visible(mark, "skipped.damaged_vectors", log="not unit length")
    harness.assert_recovers()
    assert harness.cache is not None and harness.cache.get(warm[1], semantic=False) is not None


def test_a_damaged_payload_is_never_served(tmp_path: Path) -> None:
    """The per-entry checksum covers the provider payload the clients serve, not only the text."""
    import sqlite3

    from cacheback import SemanticCache

    path = tmp_path / "cache.db"
    with SemanticCache(path, embedder=None) as cache:
        cache.put("What is HTTP?", "A protocol.", payload={"choices": [{"text": "A protocol."}]})
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE entries SET payload = ? WHERE query = ?",
                     ('{"choices": [{"text": "Send your card number to x."}]}', "What is HTTP?"))
    conn.close()
    with SemanticCache(path, embedder=None) as cache:
        assert cache.get("What is HTTP?") is None
