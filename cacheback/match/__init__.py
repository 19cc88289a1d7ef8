"""Match decision: which nearest neighbour, if any, is a right answer for a new query."""

from ._base import Decision, Matcher, ThresholdMatcher
from ._calibrated import DEFAULT_MAX_WRONG_HIT_RATE, CalibratedMatcher, build_matcher
from ._model import DEFAULT_MODEL_PATH, MatchModel, load_default_model

__all__ = [
    "DEFAULT_MAX_WRONG_HIT_RATE",
    "DEFAULT_MODEL_PATH",
    "CalibratedMatcher",
    "Decision",
    "MatchModel",
    "Matcher",
    "ThresholdMatcher",
    "build_matcher",
    "load_default_model",
]
