"""When the synthesis tier may run: the similarity band, and the requests it never touches."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._types import Candidate

__all__ = ["SynthesisPolicy"]

_STRUCTURED_FORMATS = frozenset({"json_object", "json_schema"})


def _uses_tools(body: Mapping[str, Any]) -> bool:
    if body.get("tools") or body.get("functions"):
        return True
    choice = body.get("tool_choice") or body.get("function_call")
    return choice not in (None, "none") and not (isinstance(choice, Mapping) and choice.get("type") == "none")


def _structured(body: Mapping[str, Any]) -> bool:
    text = body.get("text")  # the Responses API's ``text.format``
    fmt = (body.get("response_format") or body.get("output_format")
           or (text.get("format") if isinstance(text, Mapping) else None) or {})
    kind = fmt.get("type") if isinstance(fmt, Mapping) else fmt
    return kind in _STRUCTURED_FORMATS or bool(body.get("output_schema"))


@dataclass(frozen=True)
class SynthesisPolicy:
    """Sources are the candidates with similarity at or
    above ``band_floor`` (the tier only runs after the match decision said "no hit"); at least
    ``min_sources`` are needed, at most ``max_sources`` used.

    Requests with tools, structured output (JSON mode / schema), ``temperature`` 0 (the usual
    sign of classification or extraction), several choices or logprobs are never synthesized
    unless the matching ``allow_*`` flag is set.
    """

    band_floor: float = 0.80
    min_sources: int = 2
    max_sources: int = 4
    allow_tools: bool = False
    allow_structured: bool = False
    allow_deterministic: bool = False

    def refusal(self, body: Mapping[str, Any] | None) -> str | None:
        """Why a request with this body may not be synthesized, or ``None`` when it may."""
        if not body:
            return None
        if _uses_tools(body) and not self.allow_tools:
            return "tools"
        if _structured(body) and not self.allow_structured:
            return "structured_output"
        if body.get("temperature") == 0 and not self.allow_deterministic:
            return "temperature_0"
        if (body.get("n") or 1) > 1 or body.get("logprobs"):
            return "several_choices_or_logprobs"
        return None

    def sources(
        self, candidates: Sequence[Candidate], accept: Callable[[Candidate], bool] | None = None
    ) -> list[Candidate]:
        """The candidates in the band (and allowed by ``accept``), best first, at most ``max_sources``;
        empty when fewer than ``min_sources`` qualify."""
        chosen = [
            c for c in sorted(candidates, key=lambda c: -c.similarity)
            if c.similarity >= self.band_floor and (accept is None or accept(c))
        ][: self.max_sources]
        return chosen if len(chosen) >= self.min_sources else []
