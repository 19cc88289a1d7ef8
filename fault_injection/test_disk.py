"""Disk faults: full (real and page-limited), full during checkpoint, read-only, permission denied,
database file deleted while open."""

from __future__ import annotations

import os
import pwd
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cacheback import SemanticCache, StorageError
from cacheback.storage import PRAGMAS, SQLiteStorage

from .harness import FaultHarness
from .mounts import Tmpfs
from .processes import ForkedScenario


def test_disk_full_on_write(harness: FaultHarness, tmpfs: Tmpfs) -> None:
    harness.answer_size = 4000
    harness.open(tmpfs.path / "cache.db")
    warm = harness.warm()
    mark = harness.mark()
    tmpfs.fill()
    tally = harness.exercise(warm + harness.questions(20))
    assert tally.stores_skipped > 0 and tally.hits >= len(warm)
    harness.assert_visible(mark, "errors.storage", log="disk is full")
    tmpfs.free()
    harness.assert_recovers(survivors=warm)


def test_database_reaches_max_page_count(harness: FaultHarness, tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    harness.answer_size = 6000
    harness.open(path, storage=SQLiteStorage(path, pragmas=(*PRAGMAS, ("max_page_count", 40))))
    warm = harness.warm()
    mark = harness.mark()
    filling = harness.questions(30)
    tally = harness.exercise(warm + filling)
    assert tally.stores_skipped > 0
    harness.assert_visible(mark, "errors.storage", log="disk is full")
    with sqlite3.connect(path) as other:
        other.executemany("DELETE FROM entries WHERE query = ?", [(q,) for q in filling])
    harness.assert_recovers(survivors=warm)


def test_disk_full_during_wal_checkpoint(harness: FaultHarness, tmpfs: Tmpfs) -> None:
    path = tmpfs.path / "cache.db"
    harness.answer_size = 4000
    harness.open(path)
    warm = harness.warm(12)
    assert os.path.getsize(str(path) + "-wal") > os.path.getsize(path)
    mark = harness.mark()
    tmpfs.fill()
    assert harness.cache is not None and harness.cache.storage is not None
    with pytest.raises(StorageError, match="disk is full"):
        harness.cache.storage.checkpoint()  # type: ignore[attr-defined]
    tally = harness.exercise(warm + harness.questions(5))
    assert tally.hits >= len(warm)
    harness.assert_visible(mark, "errors.storage", log="disk is full")
    harness.close()  # the checkpoint on close fails too; the WAL must keep every frame
    mark = harness.mark()
    harness.open(path)
    harness.exercise(warm[:2] + harness.questions(2))
    tmpfs.free()
    harness.assert_recovers(survivors=warm)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_read_only_directory(harness: FaultHarness, tmpfs: Tmpfs) -> None:
    tmpfs.remount(read_only=True)
    mark = harness.mark()
    harness.open(tmpfs.path / "cache.db")
    tally = harness.exercise(harness.questions(5))
    assert tally.hits == 0
    harness.assert_visible(mark, "errors.storage_open", log="unable to open")
    tmpfs.remount(read_only=False)
    harness.assert_recovers()


def test_read_only_database_file(harness: FaultHarness, tmpfs: Tmpfs) -> None:
    path = tmpfs.path / "cache.db"
    harness.open(path)
    warm = harness.warm()
    harness.close()
    before = path.read_bytes()
    tmpfs.remount(read_only=True)
    mark = harness.mark()
    harness.open(path)
    harness.exercise(warm + harness.questions(5))
    harness.assert_visible(mark, "errors.storage_open", log="unable to open")
    assert path.read_bytes() == before
    tmpfs.remount(read_only=False)
    harness.assert_recovers(survivors=warm)


@pytest.fixture
def private_dir() -> Iterator[Path]:
    """A root-only directory that user ``nobody`` can see but not enter."""
    base = Path(tempfile.mkdtemp(prefix="cacheback-perm-"))
    base.chmod(0o755)
    private = base / "private"
    private.mkdir(mode=0o700)
    try:
        yield private
    finally:
        for item in sorted(base.rglob("*"), reverse=True):
            item.unlink() if item.is_file() else item.rmdir()
        base.rmdir()


def _nobody() -> int:
    try:
        return pwd.getpwnam("nobody").pw_uid
    except KeyError:
        pytest.skip("no user 'nobody' to drop privileges to")


def test_permission_denied(harness: FaultHarness, private_dir: Path) -> None:
    """Runs as user ``nobody`` in a forked child: the database is root's and mode 0600."""
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to another user")
    path = private_dir / "cache.db"
    harness.open(path)
    warm = harness.warm()
    harness.close()
    path.chmod(0o600)

    def as_nobody(step: Callable[[], None]) -> None:
        mark = harness.mark()
        harness.open(path)
        harness.exercise(warm + harness.questions(4))
        harness.assert_visible(mark, "errors.storage_open", log="")
        step()  # the parent now grants access
        harness.assert_recovers(survivors=warm)
        harness.close()

    child = ForkedScenario(as_nobody, uid=_nobody())
    child.wait_step()
    private_dir.chmod(0o777)
    for item in private_dir.iterdir():
        item.chmod(0o666)
    child.go()
    child.finish()


def test_database_file_deleted_while_open(harness: FaultHarness, tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    harness.open(path)
    warm = harness.warm()
    mark = harness.mark()
    path.unlink()
    harness.exercise(warm + harness.questions(5))
    harness.assert_visible(mark, "errors.storage", log="deleted")
    harness.assert_recovers()
    fresh = harness.questions(2, "after the deletion")
    harness.exercise(fresh, rounds=1)
    with SemanticCache(path, embedder=None) as other:
        assert all(other.get(q) is not None for q in fresh), "stores went to the deleted file"
