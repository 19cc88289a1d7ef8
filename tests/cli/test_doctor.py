"""``cacheback doctor``: healthy set-ups pass; each broken part fails and names the degraded mode."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from cacheback.cli import main
from cacheback.cli._doctor import run_checks
from cacheback.embed import MODEL_ENV_VAR


def _doctor(db: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, object]]:
    code = main(["doctor", "--db", str(db), "--json"])
    return code, json.loads(capsys.readouterr().out)


def _statuses(report: dict[str, object]) -> dict[str, str]:
    return {c["name"]: c["status"] for c in report["checks"]}  # type: ignore[attr-defined]


def test_healthy_cache_passes_every_check(filled_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = _doctor(filled_db, capsys)
    assert code == 0 and report["ok"] is True
    assert set(_statuses(report).values()) == {"ok"}
    assert {"model sha256", "model runs", "integrity", "vectors", "index"} <= set(_statuses(report))
    assert str(report["mode"]).startswith("full")


def test_a_database_not_yet_created_is_fine_and_stays_uncreated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "later" / "cache.db"
    code, report = _doctor(db, capsys)
    assert code == 0 and "not created yet" in json.dumps(report)
    assert not db.exists()


def test_wrong_model_file_means_exact_tier_only(
    filled_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not the pinned model")
    monkeypatch.setenv(MODEL_ENV_VAR, str(fake))
    code, report = _doctor(filled_db, capsys)
    assert code == 1
    assert _statuses(report)["model sha256"] == "fail"
    assert "exact tier only" in str(report["mode"])


def test_damaged_database_is_reported_not_moved(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "cache.db"
    db.write_bytes(b"this is no SQLite file at all" * 100)
    code, report = _doctor(db, capsys)
    assert code == 1
    assert _statuses(report)["database"] == "fail"
    assert "fresh start" in str(report["mode"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache.db"]


def test_vectors_from_another_model_are_a_warning(filled_db: Path) -> None:
    with sqlite3.connect(filled_db) as conn:
        conn.execute("UPDATE entries SET embed_model = 'old-model' WHERE namespace = 'billing'")
    checks = {c.name: c for c in run_checks(filled_db)}
    assert checks["vectors"].status == "warn"
    assert "1 of 4 live entries" in checks["vectors"].detail


def test_non_finite_vectors_fail(filled_db: Path) -> None:
    bad = np.full(384, np.nan, dtype=np.float32).tobytes()
    with sqlite3.connect(filled_db) as conn:
        conn.execute("UPDATE entries SET embedding = ? WHERE namespace = 'billing'", (bad,))
    checks = {c.name: c for c in run_checks(filled_db)}
    assert checks["vectors"].status == "fail"
    assert checks["index"].status == "ok"
    assert "exact tier only" in str(checks["vectors"].mode)


def test_human_output_ends_with_the_mode(filled_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--db", str(filled_db)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "mode: full: exact and semantic tiers available"
    assert all(line.split()[0] == "ok" for line in lines[:-1])


def test_an_unusable_index_file_is_a_warning(filled_db: Path) -> None:
    Path(str(filled_db) + ".index").write_bytes(b"not an index file")
    checks = {c.name: c for c in run_checks(filled_db)}
    assert checks["index file"].status == "warn"
    assert checks["index"].status == "ok"
