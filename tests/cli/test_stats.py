"""``cacheback stats``: counts, persisted hits and the dollars they saved."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cacheback.cli import main
from cacheback.pricing import estimate_cost


def test_json_stats_count_entries_hits_and_savings(
    filled_db: Path, usage: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["stats", "--db", str(filled_db), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["entries"] == 4
    assert stats["namespaces"] == {"billing": 1, "default": 3}
    assert stats["hits"] == 2
    assert stats["hit_rate"] == pytest.approx(2 / 6)
    assert stats["saved"]["input_tokens"] == 2 * usage["prompt_tokens"]
    assert stats["saved"]["output_tokens"] == 2 * usage["completion_tokens"]
    assert stats["saved"]["usd"] == pytest.approx(2 * estimate_cost("gpt-4o", usage), abs=1e-6)
    assert stats["file_bytes"] > 0


def test_human_stats_name_the_database_and_hit_rate(
    filled_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["stats", "--db", str(filled_db)]) == 0
    out = capsys.readouterr().out
    assert str(filled_db) in out
    assert "33.3%" in out


def test_missing_database_is_an_error_and_is_not_created(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "typo.db"
    assert main(["stats", "--db", str(missing)]) == 1
    assert "no cache database" in capsys.readouterr().err
    assert not missing.exists()
