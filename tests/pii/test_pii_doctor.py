"""``cacheback doctor --scan-pii / --purge-pii`` on a database written without the guard."""

from __future__ import annotations

from pathlib import Path

import pytest

from cacheback import SemanticCache
from cacheback.cli import main

CARD = "4539 1488 0343 6467"


def test_scan_reports_counts_and_purge_removes_the_text(tmp_path: Path, embedder: object,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "old.db"
    with SemanticCache(db, embedder=embedder, pii="off") as cache:
        for i in range(30):
            cache.put(f"ordinary question number {i}?", "an answer")
        cache.put(f"my card {CARD} was declined", "sorry", metadata={"n": 1})
        cache.put("email me at jo.doe@example.com", "will do")
        cache.save_index()
    assert main(["doctor", "--db", str(db), "--scan-pii"]) == 0
    out = capsys.readouterr().out
    assert "2 of 32 entries" in out and "card 1" in out and "email 1" in out
    assert CARD not in out and "jo.doe" not in out
    assert main(["doctor", "--db", str(db), "--purge-pii"]) == 0
    assert "purged 2 entries" in capsys.readouterr().out
    for path in tmp_path.iterdir():
        data = path.read_bytes()
        assert CARD.encode() not in data and b"jo.doe@example.com" not in data, path.name
    with SemanticCache(db, embedder=embedder) as cache:
        assert cache.stats()["entries"] == 30
        assert cache.get("ordinary question number 3?") is not None
    assert main(["doctor", "--db", str(db), "--scan-pii"]) == 0
    assert "no personal data in 30 entries" in capsys.readouterr().out
