"""``cacheback export`` / ``import``: a lossless JSONL round trip, and warming from logs."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from cacheback import SemanticCache
from cacheback.cli import main
from cacheback.cli._transfer import parse_line
from cacheback.embed import Embedder
from cacheback.storage import SQLiteStorage


def _export(db: Path, out: Path) -> list[dict[str, object]]:
    assert main(["export", "--db", str(db), "--out", str(out)]) == 0
    return [json.loads(line) for line in out.read_text("utf-8").splitlines()]


def test_round_trip_keeps_every_field(filled_db: Path, tmp_path: Path) -> None:
    first = _export(filled_db, tmp_path / "one.jsonl")
    copy = tmp_path / "copy.db"
    assert main(["import", "--db", str(copy), str(tmp_path / "one.jsonl")]) == 0
    assert _export(copy, tmp_path / "two.jsonl") == first
    assert len(first) == 4


def test_imported_entries_are_re_embedded_and_keep_their_scope(
    filled_db: Path, tmp_path: Path, embedder: Embedder
) -> None:
    _export(filled_db, tmp_path / "dump.jsonl")
    copy = tmp_path / "copy.db"
    assert main(["import", "--db", str(copy), str(tmp_path / "dump.jsonl")]) == 0
    with SemanticCache(copy, embedder=embedder, similarity_threshold=0.8) as cache:
        assert cache.stats()["indexed_vectors"] == 4
        hit = cache.get("how can I unlock my card please")
        assert hit is not None and hit.tier == "semantic" and hit.response == "Answer 0"
        scoped = cache.get("Why was I charged twice?", namespace="billing", scope={"model": "gpt-4o"})
        assert scoped is not None and scoped.metadata == {"source": "test"}
        assert cache.get("Why was I charged twice?", namespace="billing") is None


def test_warming_from_a_log_with_raw_scope_ttl_and_bad_lines(
    tmp_path: Path, embedder: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "log.jsonl"
    lines = [
        {"query": "What are your opening hours?", "response": "9 to 5.", "scope": {"model": "m"}},
        {"query": "Where is my parcel?", "response": "On its way.", "ttl": 3600},
        {"query": "Old question", "response": "Stale", "expires": time.time() - 10},
        {"query": "   ", "response": "blank query"},
        {"response": "no query"},
    ]
    log.write_text("\n".join(json.dumps(x) for x in lines) + "\nnot json\n\n", "utf-8")
    db = tmp_path / "warm.db"
    assert main(["import", "--db", str(db), str(log), "--namespace", "support"]) == 1
    err = capsys.readouterr().err
    assert "imported 2 entries" in err and "skipped 1 expired" in err and "rejected 3 lines" in err
    assert "line 4:" in err and "line 6: not JSON" in err
    with SemanticCache(db, embedder=embedder) as cache:
        assert cache.get("What are your opening hours?", namespace="support", scope={"model": "m"})
        parcel = cache.get("Where is my parcel?", namespace="support")
        assert parcel is not None
    storage = SQLiteStorage(db)
    try:
        expires = [row["expires"] for row in storage.iter_entries() if row["query"] == "Where is my parcel?"]
    finally:
        storage.close()
    assert expires[0] == pytest.approx(time.time() + 3600, abs=60)


def test_no_embed_import_gives_exact_hits_only(filled_db: Path, tmp_path: Path, embedder: Embedder) -> None:
    _export(filled_db, tmp_path / "dump.jsonl")
    copy = tmp_path / "copy.db"
    assert main(["import", "--db", str(copy), "--no-embed", str(tmp_path / "dump.jsonl")]) == 0
    with SemanticCache(copy, embedder=embedder, similarity_threshold=0.8) as cache:
        assert cache.stats()["indexed_vectors"] == 0
        assert cache.get("How do I unlock my PIN?") is not None
        assert cache.get("how can I unlock my card please") is None


def test_export_writes_to_stdout_by_default(filled_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--db", str(filled_db), "--namespace", "billing"]) == 0
    captured = capsys.readouterr()
    (line,) = captured.out.splitlines()
    assert json.loads(line)["query"] == "Why was I charged twice?"
    assert "exported 1 entries" in captured.err


@pytest.mark.parametrize(("line", "reason"), [
    ('{"query": "q", "response": "r", "metadata": [1]}', "metadata must be an object"),
    ('{"query": "q", "response": "r", "scope_key": 5}', "scope_key must be a string"),
    ('{"query": "q", "response": "r", "ttl": "soon"}', "ttl must be a number"),
    ('["q", "r"]', "must be a JSON object"),
])
def test_parse_line_rejects_malformed_fields(line: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_line(line, "default", time.time())


def test_parse_line_serialises_object_payloads() -> None:
    entry = parse_line('{"query": "q", "response": "r", "payload": {"id": 1}}', "ns", 0.0)
    assert entry is not None
    assert (entry.payload, entry.namespace, entry.scope_key) == ('{"id": 1}', "ns", "")
