"""``cacheback clear`` and ``cacheback evict``."""

from __future__ import annotations

from pathlib import Path

import pytest

from cacheback.cli import main
from cacheback.cli._common import format_bytes, parse_size
from cacheback.storage import SQLiteStorage


def _entries(path: Path) -> dict[str, int]:
    storage = SQLiteStorage(path)
    try:
        names: dict[str, int] = {}
        for row in storage.iter_entries():
            names[row["namespace"]] = names.get(row["namespace"], 0) + 1
        return names
    finally:
        storage.close()


def test_clear_one_namespace_keeps_the_others(filled_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["clear", "--db", str(filled_db), "--namespace", "billing"]) == 0
    assert "removed 1 entries" in capsys.readouterr().out
    assert _entries(filled_db) == {"default": 3}


def test_clear_everything(filled_db: Path) -> None:
    assert main(["clear", "--db", str(filled_db)]) == 0
    assert _entries(filled_db) == {}


def test_evict_to_max_entries_keeps_the_most_recently_hit(filled_db: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evict", "--db", str(filled_db), "--max-entries", "1"]) == 0
    assert "evicted 3" in capsys.readouterr().out
    storage = SQLiteStorage(filled_db)
    try:
        (row,) = list(storage.iter_entries())
    finally:
        storage.close()
    assert row["query"] == "How do I unlock my card?"


def test_evict_rejects_a_nonsense_limit(filled_db: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["evict", "--db", str(filled_db), "--max-entries", "0"])
    assert exc.value.code == 2


@pytest.mark.parametrize(("text", "size"), [("1048576", 1 << 20), ("500M", 500 << 20),
                                            ("2GiB", 2 << 30), ("1.5k", 1536)])
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


def test_format_bytes() -> None:
    assert [format_bytes(n) for n in (512, 1536, 5 << 20, 3 << 30)] == [
        "512 B", "1.5 KiB", "5.0 MiB", "3.0 GiB"]
