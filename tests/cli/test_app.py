"""The ``cacheback`` entry point: usage errors, version, and one real subprocess run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cacheback import __version__
from cacheback.cli import build_parser, main


def test_every_documented_subcommand_exists() -> None:
    parser = build_parser()
    for command in ("demo", "stats", "clear", "export", "import", "doctor", "evict"):
        assert parser.parse_args([command, *(["-"] if command == "import" else [])]).command == command


def test_no_subcommand_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2
    assert "COMMAND" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--version"])
    assert __version__ in capsys.readouterr().out


def test_default_database_follows_cacheback_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CACHEBACK_HOME", str(tmp_path))
    assert main(["stats"]) == 1
    assert str(tmp_path / "cache.db") in capsys.readouterr().err


def test_runs_as_a_separate_process(filled_db: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    result = subprocess.run(
        [sys.executable, "-m", "cacheback.cli", "stats", "--db", str(filled_db), "--json"],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["entries"] == 4
