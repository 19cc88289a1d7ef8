"""Every subcommand opens a ``postgresql://`` URL by the same rule as ``SemanticCache``: export
from SQLite, import into PostgreSQL (and back), stats, doctor, evict and clear on the server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cacheback import SemanticCache
from cacheback.cli import main
from cacheback.embed import Embedder

pytest.importorskip("psycopg")


def _json_after(out: str) -> Any:
    """The JSON object a command printed after its own one-line summary."""
    return json.loads(out[out.index("{"):])


def test_export_import_between_backends_and_maintenance(
    pg_server: Any, tmp_path: Path, embedder: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    sqlite_db, url = tmp_path / "cache.db", pg_server.url()
    with SemanticCache(sqlite_db, embedder=embedder) as cache:
        cache.put("How do I reset my password?", "Settings.", metadata={"src": "faq"})
        cache.put("What is the capital of France?", "Paris.", namespace="geo", ttl=3600)
    dump = tmp_path / "dump.jsonl"
    assert main(["export", "--db", str(sqlite_db), "--out", str(dump)]) == 0
    assert main(["import", "--db", url, str(dump)]) == 0
    with SemanticCache(url, embedder=embedder) as cache:
        hit = cache.get("How can I reset my password?")
        assert hit is not None and hit.tier == "semantic" and hit.metadata == {"src": "faq"}
        assert cache.get("What is the capital of France?", namespace="geo").response == "Paris."
    back = tmp_path / "back.jsonl"
    assert main(["export", "--db", url, "--out", str(back)]) == 0
    rows = [json.loads(line) for line in back.read_text().splitlines()]
    assert sorted(r["query"] for r in rows) == sorted(
        json.loads(line)["query"] for line in dump.read_text().splitlines())

    capsys.readouterr()
    assert main(["stats", "--db", url, "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["entries"] == 2 and stats["namespaces"] == {"default": 1, "geo": 1}
    assert main(["doctor", "--db", url, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"], report
    assert main(["evict", "--db", url, "--max-entries", "1"]) == 0
    assert main(["stats", "--db", url, "--json"]) == 0
    assert _json_after(capsys.readouterr().out)["entries"] == 1
    assert main(["clear", "--db", url]) == 0
    assert main(["stats", "--db", url, "--json"]) == 0
    assert _json_after(capsys.readouterr().out)["entries"] == 0


@pytest.mark.parametrize("location", ["mysql://db/x", "postgresql:"])
def test_an_unsupported_url_is_a_one_line_error(
    location: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["stats", "--db", location]) == 1
    assert "error" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
