"""Value objects the cache hands back to callers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Candidate", "Hit"]


@dataclass(frozen=True)
class Candidate:
    """A stored entry near a query, before the match decision."""

    entry_id: int
    query: str
    response: str
    similarity: float
    payload: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    created: float = 0.0
    namespace: str = "default"
    scope_key: str = ""


@dataclass(frozen=True)
class Hit:
    """A served answer. ``probability`` is the calibrated chance it is right (1.0 when exact)."""

    response: str
    similarity: float
    tier: str
    matched_query: str
    entry_id: int
    query: str
    payload: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    probability: float = 1.0
    namespace: str = "default"
    scope_key: str = ""
    query_hash: str = ""
