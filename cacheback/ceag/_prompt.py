"""The compact prompt of the LLM synthesizer: k cached Q/A pairs, the turns that matter, the question."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ._types import SynthesisRequest

__all__ = ["NO_ANSWER", "Prompt", "PromptLimits", "build_prompt", "estimate_tokens"]

#: What the model must reply when the references do not answer the question.
NO_ANSWER = "NO_ANSWER"

_SYSTEM = (
    "You answer a user's question using only the reference answers below, which were written "
    "earlier for similar questions, and the conversation excerpt if there is one. Adapt them to "
    "this exact question; do not mention that references exist. If they do not contain the "
    f"answer, reply with exactly {NO_ANSWER}."
)


def estimate_tokens(text: str) -> int:
    """About four characters per token: the usual rule of thumb for English with GPT/Claude BPEs."""
    return max(1, math.ceil(len(text) / 4))


@dataclass(frozen=True)
class PromptLimits:
    """Caps that keep the synthesis call small (characters of prompt pieces, tokens of answer)."""

    answer_chars: int = 1500
    turn_chars: int = 400
    context_turns: int = 6
    max_tokens: int = 512
    min_tokens: int = 64
    answer_growth: float = 1.5


@dataclass(frozen=True)
class Prompt:
    """The system text, the user text and the answer cap of one synthesis call."""

    system: str
    user: str
    max_tokens: int


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split()) if "```" not in text else text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def build_prompt(request: SynthesisRequest, limits: PromptLimits) -> Prompt:
    """The prompt for ``request``. The answer cap is the longest reference's estimated tokens
    times ``answer_growth``, kept within ``[min_tokens, max_tokens]``."""
    parts: list[str] = []
    turns = list(request.context)[-limits.context_turns:] if limits.context_turns > 0 else []
    if turns:
        parts.append("Conversation excerpt:\n" + "\n".join(
            f"{role}: {_clip(text, limits.turn_chars)}" for role, text in turns))
    references = [
        f"[{i}] Q: {_clip(c.query, limits.turn_chars)}\nA: {_clip(c.response, limits.answer_chars)}"
        for i, c in enumerate(request.sources, 1)
    ]
    parts.append("Reference answers:\n" + "\n\n".join(references))
    parts.append(f"Question: {request.query}")
    longest = max((estimate_tokens(c.response) for c in request.sources), default=limits.min_tokens)
    cap = min(limits.max_tokens, max(limits.min_tokens, math.ceil(longest * limits.answer_growth)))
    return Prompt(_SYSTEM, "\n\n".join(parts), cap)
