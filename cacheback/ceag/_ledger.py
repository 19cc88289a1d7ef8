"""Cost accounting per tier: what each tier spent, and what the full calls it replaced would have."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["TierLedger", "TierTotals"]


@dataclass
class TierTotals:
    """Running totals of one tier. ``replaced_usd`` is the estimated price of the upstream calls
    the tier stood in for, at the caller's requested model; ``spent_usd`` what the tier paid."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    spent_usd: float = 0.0
    replaced_input_tokens: int = 0
    replaced_output_tokens: int = 0
    replaced_usd: float = 0.0

    @property
    def saved_usd(self) -> float:
        return self.replaced_usd - self.spent_usd


class TierLedger:
    """Thread-safe totals by tier name ("exact", "semantic", "synthesized", "upstream", ...)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tiers: dict[str, TierTotals] = {}

    def record(
        self,
        tier: str,
        *,
        input_tokens: int = 0,
        output_tokens: int = 0,
        spent_usd: float = 0.0,
        replaced_input_tokens: int = 0,
        replaced_output_tokens: int = 0,
        replaced_usd: float = 0.0,
    ) -> None:
        """Add one request served (or attempted) by ``tier``."""
        with self._lock:
            totals = self._tiers.setdefault(tier, TierTotals())
            totals.requests += 1
            totals.input_tokens += input_tokens
            totals.output_tokens += output_tokens
            totals.spent_usd += spent_usd
            totals.replaced_input_tokens += replaced_input_tokens
            totals.replaced_output_tokens += replaced_output_tokens
            totals.replaced_usd += replaced_usd

    def stats(self) -> dict[str, dict[str, Any]]:
        """A snapshot: one dict per tier, with ``saved_usd`` worked out."""
        with self._lock:
            return {
                tier: {**asdict(t), "saved_usd": t.saved_usd} for tier, t in sorted(self._tiers.items())
            }
