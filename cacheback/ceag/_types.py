"""What a synthesizer is given, what it hands back, and the interface both synthesizers share."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from .._types import Candidate

__all__ = ["SynthesisRequest", "SynthesisResult", "Synthesizer", "Turn"]

Turn = tuple[str, str]
"""An earlier chat message as ``(role, text)``."""


@dataclass(frozen=True)
class SynthesisRequest:
    """A question no cached answer fits exactly, the close entries to build from, and the turns
    it leans on. ``requested_model`` is the model the caller asked for (never the one used)."""

    query: str
    sources: Sequence[Candidate]
    context: Sequence[Turn] = ()
    requested_model: str = ""


@dataclass(frozen=True)
class SynthesisResult:
    """A synthesized answer, where it came from, who wrote it and what it cost.

    ``model`` is the model that wrote ``text`` (``None`` for the local synthesizer), kept apart
    from ``requested_model`` so nobody mistakes a cheap model's answer for the one asked for.
    ``replaced_usd`` is the estimated price of the full call it stood in for (set by the tier).
    ``declined`` is set when the synthesizer spent tokens but judged the answer unusable.
    """

    text: str
    source_ids: tuple[int, ...]
    confidence: float
    synthesizer: str
    requested_model: str = ""
    model: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    replaced_usd: float = 0.0
    declined: str | None = None

    @property
    def usable(self) -> bool:
        """Whether the answer may be served."""
        return self.declined is None and bool(self.text.strip())


class Synthesizer(ABC):
    """Builds an answer from cached question/answer pairs, or declines with ``None``."""

    name: str = "synthesizer"

    @abstractmethod
    def synthesize(self, request: SynthesisRequest) -> SynthesisResult | None:
        """An answer for ``request``, or ``None`` when the sources do not support one."""

    async def asynthesize(self, request: SynthesisRequest) -> SynthesisResult | None:
        """The async form; by default :meth:`synthesize` runs in a worker thread."""
        return await asyncio.to_thread(self.synthesize, request)
