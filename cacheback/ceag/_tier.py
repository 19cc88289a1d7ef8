"""The synthesis tier: between "no hit" and the upstream call. Best-effort: any failure is a miss."""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .._types import Candidate
from ..pricing import PRICES, Price, price_for, usage_tokens
from ._ledger import TierLedger
from ._policy import SynthesisPolicy
from ._prompt import estimate_tokens
from ._types import SynthesisRequest, SynthesisResult, Synthesizer, Turn

__all__ = ["SYNTHESIZED", "SynthesisTier"]

logger = logging.getLogger("cacheback")

#: The tier name callers see (``resp.cacheback.tier``) and the ledger key.
SYNTHESIZED = "synthesized"


def _source_usage(candidate: Candidate) -> tuple[int, int] | None:
    """(input, output) tokens of the upstream call that made this entry, from its stored payload."""
    try:
        payload = json.loads(candidate.payload) if candidate.payload else None
    except ValueError:
        return None
    usage = payload.get("usage") if isinstance(payload, dict) else None
    tokens = usage_tokens(usage) if isinstance(usage, dict) else (0, 0)
    return tokens if any(tokens) else None


def _mean(values: Iterable[int]) -> int:
    values = list(values)
    return round(sum(values) / len(values)) if values else 0


class SynthesisTier:
    """Runs a :class:`Synthesizer` on the close entries of a missed query and keeps the books.

    Giving a client a tier is the opt-in: without one, nothing is ever synthesized. ``prices``
    (USD per million tokens by model, overridable) price the full call each synthesis replaced.
    """

    def __init__(
        self,
        synthesizer: Synthesizer,
        policy: SynthesisPolicy | None = None,
        *,
        ledger: TierLedger | None = None,
        prices: Mapping[str, Price] = PRICES,
    ) -> None:
        self.synthesizer = synthesizer
        self.policy = policy or SynthesisPolicy()
        self.ledger = ledger or TierLedger()
        self.prices = prices
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def _count(self, name: str) -> None:
        with self._lock:
            self._counts[name] = self._counts.get(name, 0) + 1

    def prepare(
        self,
        query: str,
        candidates: Sequence[Candidate],
        *,
        body: Mapping[str, Any] | None = None,
        context: Sequence[Turn] = (),
        requested_model: str = "",
        accept: Callable[[Candidate], bool] | None = None,
    ) -> SynthesisRequest | None:
        """The request to synthesize, or ``None`` (counted) when the policy says no."""
        self._count("attempts")
        refusal = self.policy.refusal(body)
        if refusal is not None:
            self._count(f"skipped.{refusal}")
            return None
        sources = self.policy.sources(candidates, accept)
        if not sources:
            self._count("skipped.too_few_sources")
            return None
        return SynthesisRequest(query, tuple(sources), tuple(context), requested_model)

    def settle(self, request: SynthesisRequest, result: SynthesisResult | None) -> SynthesisResult | None:
        """Record the outcome; the result when it may be served, else ``None``."""
        if result is None:
            self._count("skipped.low_confidence")
            return None
        if not result.usable:
            self._count("declined")
            self.ledger.record("synthesis_declined", input_tokens=result.input_tokens,
                               output_tokens=result.output_tokens, spent_usd=result.cost_usd)
            return None
        replaced_in, replaced_out = self.replaced_tokens(request)
        price = price_for(request.requested_model, self.prices)
        replaced_usd = price.cost(replaced_in, replaced_out) if price else 0.0
        self._count("served")
        self.ledger.record(
            SYNTHESIZED, input_tokens=result.input_tokens, output_tokens=result.output_tokens,
            spent_usd=result.cost_usd, replaced_input_tokens=replaced_in,
            replaced_output_tokens=replaced_out, replaced_usd=replaced_usd,
        )
        return dataclasses.replace(result, replaced_usd=replaced_usd)

    def replaced_tokens(self, request: SynthesisRequest) -> tuple[int, int]:
        """Estimated (input, output) tokens of the full call a synthesis stands in for: the mean
        usage recorded in the sources' payloads, else the texts' length in tokens."""
        recorded = [u for u in map(_source_usage, request.sources) if u is not None]
        if recorded:
            return _mean(u[0] for u in recorded), _mean(u[1] for u in recorded)
        prompt = request.query + "".join(text for _, text in request.context)
        return estimate_tokens(prompt), _mean(estimate_tokens(c.response) for c in request.sources)

    def _failed(self, exc: Exception) -> None:
        self._count("errors")
        logger.warning("cacheback: synthesis failed, asking upstream instead: %s", exc)

    def try_synthesize(self, query: str, candidates: Sequence[Candidate], **kwargs: Any
                       ) -> SynthesisResult | None:
        """An answer built from ``candidates`` (the nearest entries of a missed query), or ``None``
        to go upstream. Keyword arguments are those of :meth:`prepare`."""
        request = self.prepare(query, candidates, **kwargs)
        if request is None:
            return None
        try:
            result = self.synthesizer.synthesize(request)
        except Exception as exc:  # noqa: BLE001 - the tier is best-effort
            self._failed(exc)
            return None
        return self.settle(request, result)

    async def atry_synthesize(self, query: str, candidates: Sequence[Candidate], **kwargs: Any
                              ) -> SynthesisResult | None:
        """The async form of :meth:`try_synthesize`."""
        request = self.prepare(query, candidates, **kwargs)
        if request is None:
            return None
        try:
            result = await self.synthesizer.asynthesize(request)
        except Exception as exc:  # noqa: BLE001 - the tier is best-effort
            self._failed(exc)
            return None
        return self.settle(request, result)

    def stats(self) -> dict[str, Any]:
        """Attempt counters (served, declined, skipped by reason, errors) and the cost ledger."""
        with self._lock:
            counts = dict(self._counts)
        return {"synthesizer": self.synthesizer.name, "counters": counts, "tiers": self.ledger.stats()}
