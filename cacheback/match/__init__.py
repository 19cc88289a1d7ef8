"""Match decision: which nearest neighbour, if any, is a right answer for a new query."""

from ._base import Decision, Matcher, ThresholdMatcher

__all__ = ["Decision", "Matcher", "ThresholdMatcher"]
