"""List prices of common chat models, to estimate what a cache hit saved.

Prices are USD per million tokens (input, output) as published by OpenAI and Anthropic in 2025;
they are estimates for reporting, not billing. A dated model id (``gpt-4o-2024-08-06``) uses the
price of its longest matching prefix; unknown models price at zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["PRICES", "Price", "estimate_cost", "price_for", "usage_tokens"]


@dataclass(frozen=True)
class Price:
    """USD per million input and output tokens."""

    input_per_m: float
    output_per_m: float

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """USD for the given token counts."""
        return (input_tokens * self.input_per_m + output_tokens * self.output_per_m) / 1e6


PRICES: Mapping[str, Price] = {
    "gpt-5": Price(1.25, 10.0),
    "gpt-5-mini": Price(0.25, 2.0),
    "gpt-5-nano": Price(0.05, 0.40),
    "gpt-4.1": Price(2.0, 8.0),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "gpt-4o": Price(2.50, 10.0),
    "gpt-4o-mini": Price(0.15, 0.60),
    "gpt-4-turbo": Price(10.0, 30.0),
    "gpt-4": Price(30.0, 60.0),
    "gpt-3.5-turbo": Price(0.50, 1.50),
    "o1": Price(15.0, 60.0),
    "o1-mini": Price(1.10, 4.40),
    "o3": Price(2.0, 8.0),
    "o3-mini": Price(1.10, 4.40),
    "o4-mini": Price(1.10, 4.40),
    "claude-opus-4": Price(15.0, 75.0),
    "claude-opus-4-1": Price(15.0, 75.0),
    "claude-sonnet-4": Price(3.0, 15.0),
    "claude-sonnet-4-5": Price(3.0, 15.0),
    "claude-haiku-4-5": Price(1.0, 5.0),
    "claude-3-7-sonnet": Price(3.0, 15.0),
    "claude-3-5-sonnet": Price(3.0, 15.0),
    "claude-3-5-haiku": Price(0.80, 4.0),
    "claude-3-opus": Price(15.0, 75.0),
    "claude-3-haiku": Price(0.25, 1.25),
}


def price_for(model: str, prices: Mapping[str, Price] = PRICES) -> Price | None:
    """The price of ``model`` or of its longest known prefix ending at a ``-`` boundary."""
    if model in prices:
        return prices[model]
    best = max((name for name in prices if model.startswith(name + "-")), key=len, default=None)
    return prices[best] if best is not None else None


def usage_tokens(usage: Mapping[str, Any] | None) -> tuple[int, int]:
    """(input, output) tokens from an OpenAI or Anthropic ``usage`` object (cache reads included)."""
    if not usage:
        return 0, 0
    if "prompt_tokens" in usage or "completion_tokens" in usage:
        return int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
    inputs = sum(int(usage.get(k) or 0) for k in (
        "input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"))
    return inputs, int(usage.get("output_tokens") or 0)


def estimate_cost(model: str, usage: Mapping[str, Any] | None,
                  prices: Mapping[str, Price] = PRICES) -> float:
    """Estimated USD of one call to ``model`` with ``usage``; 0.0 when the model is unknown."""
    price = price_for(model, prices)
    return price.cost(*usage_tokens(usage)) if price is not None else 0.0
