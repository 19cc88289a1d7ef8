"""The match decision interface: given a query and its nearest stored entries, serve one or none."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from .._types import Candidate

__all__ = ["Decision", "Matcher", "ThresholdMatcher"]


@dataclass(frozen=True)
class Decision:
    """The chosen candidate (or ``None``) and the probability that serving it is right.

    On a miss ``probability`` is the likeliest candidate's, or an upper bound of it when a
    matcher rejected some candidates on their similarity alone.
    """

    accepted: Candidate | None
    probability: float


class Matcher(ABC):
    """Decides whether any candidate's answer is right for the query."""

    @abstractmethod
    def decide(self, query: str, candidates: Sequence[Candidate]) -> Decision:
        """``candidates`` are sorted by similarity, best first, and already scope-filtered."""

    def min_similarity(self) -> float:
        """The lowest cosine similarity this matcher could ever serve: candidates below it can be
        left out before ``decide`` (and need not be fetched). ``-1.0`` when there is no bound."""
        return -1.0

    def status(self) -> dict[str, str] | None:
        """Degraded modes of the matcher itself (a second stage that failed), for ``stats()``."""
        return None


class ThresholdMatcher(Matcher):
    """Plain cosine similarity against a fixed threshold: the baseline other caches use."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold

    def min_similarity(self) -> float:
        return self.threshold

    def decide(self, query: str, candidates: Sequence[Candidate]) -> Decision:
        if candidates and candidates[0].similarity >= self.threshold:
            return Decision(candidates[0], candidates[0].similarity)
        return Decision(None, candidates[0].similarity if candidates else 0.0)
