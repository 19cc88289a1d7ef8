"""CEAG, the synthesis tier: when no cached answer fits exactly but several are close, build one.

Two synthesizers share one interface: :class:`LocalSynthesizer` (offline, free: recombines the
sentences of the close answers) and :class:`LLMSynthesizer` (one capped call to a cheaper model).
:class:`SynthesisTier` runs one after a miss, applies :class:`SynthesisPolicy` and keeps the cost
books. See docs/ceag.md for the measured quality (CQS) and savings.
"""

from ._ledger import TierLedger, TierTotals
from ._llm import LLMSynthesizer
from ._local import LocalSettings, LocalSynthesizer
from ._policy import SynthesisPolicy
from ._prompt import NO_ANSWER, Prompt, PromptLimits, build_prompt, estimate_tokens
from ._segment import answer_units
from ._tier import SYNTHESIZED, SynthesisTier
from ._types import SynthesisRequest, SynthesisResult, Synthesizer

__all__ = [
    "NO_ANSWER",
    "SYNTHESIZED",
    "LLMSynthesizer",
    "LocalSettings",
    "LocalSynthesizer",
    "Prompt",
    "PromptLimits",
    "SynthesisPolicy",
    "SynthesisRequest",
    "SynthesisResult",
    "SynthesisTier",
    "Synthesizer",
    "TierLedger",
    "TierTotals",
    "answer_units",
    "build_prompt",
    "estimate_tokens",
]
