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


@pytest.mark.parametrize(("line", "reason"), [
    (b'{"query": "q", "response": "a", "metadata": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
     "nested too deeply"),
    (b'{"query": "q", "response": "a", "scope": ' + b"[" * 5_000 + b"]" * 5_000 + b"}",
     "nested too deeply"),
    (b'{"query": "q", "response": "a", "payload": ' + b"[" * 100 + b"]" * 100 + b"}",
     "nested more than"),
    (b'{"query": "q", "response": "a", "payload": {"x": NaN}}', "NaN is not JSON"),
    (b'{"query": "q", "response": "a", "ttl": Infinity}', "Infinity is not JSON"),
    (b'{"query": "q", "response": "a", "ttl": 1e400}', "ttl must be a finite number"),
    (b'{"query": "q", "response": "a", "expires": 1' + b"0" * 400 + b"}",
     "expires must be a finite number"),
    (b'{"query": "q", "response": "a", "namespace": "a\\tb"}', "namespace must be valid"),
    (b'{"query": "q", "response": "a", "namespace": "' + b"n" * 600 + b'"}', "namespace must be"),
    (b'[{"query": "q", "response": "a"}]', "must be a JSON object"),
])
def test_import_rejects_bad_lines_without_a_traceback(tmp_path: Path, line: bytes, reason: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "input.jsonl"
    source.write_bytes(b'{"query": "good?", "response": "yes"}\n' + line + b"\n")
    db = tmp_path / "new.db"
    assert main(["import", "--db", str(db), "--no-embed", str(source)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "line 2:" in err and reason in err, err
    assert "imported 1 entries" in err


def test_import_reads_a_utf8_file_with_a_byte_order_mark(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "notepad.jsonl"
    source.write_bytes(b'\xef\xbb\xbf{"query": "q?", "response": "a"}\n')
    assert main(["import", "--db", str(tmp_path / "new.db"), "--no-embed", str(source)]) == 0
    assert "imported 1 entries" in capsys.readouterr().err


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_an_export_file_is_private_like_the_database(filled_db: Path, tmp_path: Path,
                                                     umask: int) -> None:
    """An export holds every cached prompt and answer: created 0600, not 0644."""
    import os
    import stat
    old = os.umask(umask)
    try:
        out = tmp_path / "export.jsonl"
        assert main(["export", "--db", str(filled_db), "--out", str(out)]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


@pytest.mark.parametrize("damage", [
    "UPDATE entries SET expires = 'never' WHERE namespace = 'billing'",
    "UPDATE entries SET created = 'yesterday', last_hit = x'00' WHERE namespace = 'billing'",
    "UPDATE entries SET hit_count = 'many' WHERE namespace = 'billing'",
    "UPDATE entries SET size = 'big' WHERE namespace = 'billing'",
    "UPDATE entries SET payload = '{not json' WHERE namespace = 'billing'",
    "UPDATE entries SET payload = '{\"usage\": {\"prompt_tokens\": \"lots\"}}' "
    "WHERE namespace = 'billing'",
])
def test_every_command_survives_a_row_with_values_of_the_wrong_type(
        filled_db: Path, damage: str, capsys: pytest.CaptureFixture[str]) -> None:
    """SQLite keeps text in a REAL column: stats, doctor, export and evict report such a row
    (or skip it) instead of a TypeError traceback."""
    with sqlite3.connect(filled_db) as conn:
        conn.execute(damage)
    conn.close()
    assert main(["stats", "--db", str(filled_db)]) == 0
    main(["doctor", "--db", str(filled_db)])
    assert main(["export", "--db", str(filled_db), "--out", str(filled_db.with_suffix(".jsonl"))]) == 0
    assert main(["evict", "--db", str(filled_db), "--max-entries", "2"]) == 0
    assert "Traceback" not in capsys.readouterr().err
