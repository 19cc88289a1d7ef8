"""What a demo run measured, and the sums the table and the HTML report are made of."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ._stream import KINDS, StreamItem

__all__ = ["DemoConfig", "DemoReport", "Outcome", "TierSummary"]

MISS = "upstream"


@dataclass(frozen=True)
class DemoConfig:
    """The knobs of ``cacheback demo``."""

    queries: int = 400
    seed: int = 7
    model: str = "gpt-4o"
    latency: float = 0.8
    real_latency: bool = False
    daily_queries: int = 10_000


@dataclass(frozen=True)
class Outcome:
    """One message: which tier answered it, how long it took, whether the answer was right, and
    what the upstream call cost (or would have cost, for a hit)."""

    item: StreamItem
    tier: str
    seconds: float
    input_tokens: int
    output_tokens: int
    usd: float
    correct: bool | None = None
    similarity: float | None = None
    matched_query: str | None = None

    @property
    def hit(self) -> bool:
        return self.tier != MISS


@dataclass(frozen=True)
class TierSummary:
    """Queries a tier answered, how many were wrong, and its latency percentiles in ms."""

    tier: str
    queries: int
    wrong: int
    p50_ms: float
    p99_ms: float


@dataclass
class DemoReport:
    """Every outcome of a run plus the facts needed to state it honestly."""

    config: DemoConfig
    outcomes: list[Outcome]
    matcher: str
    upstream_requests: int
    wall_seconds: float
    latency_note: str
    source: str
    tiers: list[TierSummary] = field(init=False)

    def __post_init__(self) -> None:
        order = ["exact", "semantic", *sorted({o.tier for o in self.outcomes} - {"exact", "semantic", MISS}),
                 MISS]
        self.tiers = []
        for tier in order:
            rows = [o for o in self.outcomes if o.tier == tier]
            if not rows and tier not in ("exact", "semantic", MISS):
                continue
            ms = np.array([o.seconds * 1e3 for o in rows]) if rows else np.zeros(1)
            self.tiers.append(TierSummary(
                tier, len(rows), sum(1 for o in rows if o.correct is False),
                float(np.percentile(ms, 50)) if rows else float("nan"),
                float(np.percentile(ms, 99)) if rows else float("nan"),
            ))

    @property
    def kinds(self) -> dict[str, int]:
        counts = Counter(o.item.kind for o in self.outcomes)
        return {kind: counts.get(kind, 0) for kind in KINDS}

    @property
    def hits(self) -> int:
        return sum(1 for o in self.outcomes if o.hit)

    @property
    def wrong_hits(self) -> int:
        return sum(1 for o in self.outcomes if o.correct is False)

    @property
    def upstream_calls(self) -> int:
        return len(self.outcomes) - self.hits

    def totals(self, with_cache: bool) -> tuple[int, int, float]:
        """(input tokens, output tokens, USD) paid to the upstream, with or without the cache."""
        paid = [o for o in self.outcomes if not (with_cache and o.hit)]
        return (sum(o.input_tokens for o in paid), sum(o.output_tokens for o in paid),
                sum(o.usd for o in paid))

    def per_day(self, with_cache: bool) -> float:
        """USD a day at ``config.daily_queries`` queries with this stream's mix."""
        return self.totals(with_cache)[2] / max(len(self.outcomes), 1) * self.config.daily_queries

    def cumulative_usd(self) -> tuple[list[float], list[float]]:
        """Running spend without and with the cache, one point per query (for the chart)."""
        without = np.cumsum([o.usd for o in self.outcomes]).tolist()
        with_cache = np.cumsum([0.0 if o.hit else o.usd for o in self.outcomes]).tolist()
        return without, with_cache
