"""The match decision interface: given a query and its nearest stored entries, serve one or none."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from .._types import Candidate

__all__ = ["Decision", "Matcher", "ThresholdMatcher"]


@dataclass(frozen=True)
class Decision:
    """The chosen candidate (or ``None``) and the probability that serving it is right."""

    accepted: Candidate | None
    probability: float


class Matcher(ABC):
    """Decides whether any candidate's answer is right for the query."""

    @abstractmethod
    def decide(self, query: str, candidates: Sequence[Candidate]) -> Decision:
        """``candidates`` are sorted by similarity, best first, and already scope-filtered."""


class ThresholdMatcher(Matcher):
    """Plain cosine similarity against a fixed threshold: the baseline other caches use."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold

    def decide(self, query: str, candidates: Sequence[Candidate]) -> Decision:
        if candidates and candidates[0].similarity >= self.threshold:
            return Decision(candidates[0], candidates[0].similarity)
        return Decision(None, candidates[0].similarity if candidates else 0.0)
