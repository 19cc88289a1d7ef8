"""The ``.cacheback`` record attached to every response a cached client returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["CacheRecord", "Tier"]

Tier = Literal["exact", "semantic", "synthesized", "miss", "bypass"]


@dataclass(frozen=True)
class CacheRecord:
    """How a call was served: ``tier``, the match behind a hit, and what the hit saved.

    ``reason`` says why a call bypassed the cache or was limited to the exact tier. A
    ``synthesized`` answer was built from the cached entries ``source_ids`` by ``synthesizer``
    ("local", or "llm" with the cheaper model in the response's ``model``); ``requested_model``
    is the model the caller asked for. It is not a hit.
    """

    tier: Tier
    similarity: float | None = None
    matched_query: str | None = None
    entry_id: int | None = None
    probability: float | None = None
    cost_saved_usd: float = 0.0
    reason: str | None = None
    source_ids: tuple[int, ...] = ()
    synthesizer: str | None = None
    requested_model: str | None = None

    @property
    def hit(self) -> bool:
        """Whether the answer came from the cache."""
        return self.tier in ("exact", "semantic")
