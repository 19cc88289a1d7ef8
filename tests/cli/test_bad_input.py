"""The CLI on bad input: a clear one-line error, no traceback, no file created, no garbage."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cacheback.cli import main


@pytest.mark.parametrize("content", [b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", b"\xff\xfe{\0\"\0q\0",
                                     "{\"query\": \"caf\u00e9\"}\n".encode("latin-1")])
def test_import_of_a_non_text_file_is_a_clear_error(tmp_path: Path, content: bytes,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "input.jsonl"
    source.write_bytes(content)
    db = tmp_path / "new.db"
    assert main(["import", "--db", str(db), "--no-embed", str(source)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "not" in err and str(source) in err
    assert not db.exists()


def test_import_of_a_missing_file_creates_no_database(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "new.db"
    assert main(["import", "--db", str(db), str(tmp_path / "nowhere.jsonl")]) == 1
    assert "cannot open" in capsys.readouterr().err
    assert not db.exists()


def test_stats_on_a_damaged_row_prints_no_garbage(filled_db: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    with sqlite3.connect(filled_db) as conn:
        conn.execute("UPDATE entries SET namespace = ? WHERE namespace = 'billing'",
                     ("\x1b[2J\x00garbage\x07",))
    conn.close()
    assert main(["stats", "--db", str(filled_db)]) == 0
    out = capsys.readouterr().out
    assert "garbage" not in out and "\x1b" not in out
    assert "1 damaged" in out
    assert main(["export", "--db", str(filled_db), "--out", str(filled_db.with_suffix(".jsonl"))]) == 0
    assert "garbage" not in filled_db.with_suffix(".jsonl").read_text(encoding="utf-8")
    assert main(["doctor", "--db", str(filled_db)]) != 0
    assert "fail their checksum" in capsys.readouterr().out


def test_doctor_tells_the_model_load_from_a_query(filled_db: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    main(["doctor", "--db", str(filled_db)])
    out = capsys.readouterr().out
    assert "first call, with the model load" in out and "ms a query" in out
