"""Find personal data already stored in a cache database, and purge it (``cacheback doctor
--scan-pii`` / ``--purge-pii``). Reports name kinds, fields and entry ids, never values."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ._scanner import Scanner

__all__ = ["PIIAudit", "audit_storage", "purge_storage"]


@dataclass
class PIIAudit:
    """What a scan found: entries and feedback rows holding personal data, counted by kind."""

    entries_scanned: int = 0
    entry_ids: list[int] = field(default_factory=list)
    feedback_ids: list[int] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    fields: Counter[str] = field(default_factory=Counter)

    @property
    def clean(self) -> bool:
        return not self.entry_ids and not self.feedback_ids

    def summary(self) -> str:
        """One line for ``doctor``: counts only."""
        if self.clean:
            return f"no personal data in {self.entries_scanned} entries"
        kinds = ", ".join(f"{k} {n}" for k, n in self.kinds.most_common())
        where = ", ".join(f"{k} {n}" for k, n in self.fields.most_common())
        return (f"{len(self.entry_ids)} of {self.entries_scanned} entries and "
                f"{len(self.feedback_ids)} feedback rows hold personal data ({kinds}; in {where})")


def audit_storage(storage: Any, scanner: Scanner | None = None) -> PIIAudit:
    """Scan every entry's question and answer, and every feedback row's texts."""
    scanner = scanner or Scanner()
    audit = PIIAudit()
    for row in storage.iter_entries():
        audit.entries_scanned += 1
        found = False
        for name in ("query", "response"):
            findings = scanner.scan(row[name] or "")
            if findings:
                found = True
                audit.fields[name] += 1
                audit.kinds.update(f.kind for f in findings)
        if found:
            audit.entry_ids.append(int(row["id"]))
    purged = set(audit.entry_ids)
    for row in getattr(storage, "feedback_rows", list)():
        texts = (row.get("query") or "", row.get("matched_query") or "", row.get("note") or "")
        findings = [f for t in texts for f in scanner.scan(t)]
        if findings or row.get("entry_id") in purged:
            audit.feedback_ids.append(int(row["id"]))
            audit.fields["feedback"] += 1
            audit.kinds.update(f.kind for f in findings)
    return audit


def purge_storage(storage: Any, audit: PIIAudit, index_path: str | None = None) -> int:
    """Delete what ``audit`` found, then rewrite the file so the deleted text is gone from free
    pages and the WAL too (VACUUM, WAL truncated), and drop the saved index (it is rebuilt from
    SQLite on the next open). Returns the entries deleted."""
    deleted = storage.delete(audit.entry_ids)
    transaction = getattr(storage, "transaction", None)
    if transaction is not None and audit.feedback_ids:
        with transaction() as conn:
            conn.executemany("DELETE FROM feedback WHERE id = ?", [(i,) for i in audit.feedback_ids])
    conn = getattr(storage, "_conn", None)
    if conn is not None and not getattr(storage, "in_memory", False):
        conn.execute("PRAGMA secure_delete = ON")
        conn.execute("VACUUM")
        storage.checkpoint()
    if index_path and os.path.exists(index_path):
        os.remove(index_path)
    return deleted
