"""The default matcher: a calibrated probability per candidate, served only within a wrong-hit budget."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

from .._errors import ConfigurationError
from .._types import Candidate
from ._base import Decision, Matcher, ThresholdMatcher
from ._features import pair_features
from ._model import BOUND_SLACK, MatchModel, load_default_model, logit, sigmoid
from ._text import TextProfile, case_conflict, profile

__all__ = ["DEFAULT_MAX_WRONG_HIT_RATE", "CalibratedMatcher", "build_matcher"]

logger = logging.getLogger("cacheback")

#: Leave one data set out, at most 1.7% wrong hits on every set at this setting (docs/matching.md).
DEFAULT_MAX_WRONG_HIT_RATE = 0.02


class CalibratedMatcher(Matcher):
    """Scores candidates with the logistic model and serves the likeliest one when its
    probability of being right clears the threshold that ``max_wrong_hit_rate`` maps to.

    A candidate whose similarity alone bounds its probability below the threshold (every text
    feature at its most favourable value) is rejected without looking at its text.
    """

    def __init__(
        self, max_wrong_hit_rate: float = DEFAULT_MAX_WRONG_HIT_RATE, *, model: MatchModel | None = None
    ) -> None:
        self.model = model or load_default_model()
        self.threshold = self.model.threshold_for(max_wrong_hit_rate)
        self.max_wrong_hit_rate = max_wrong_hit_rate
        largest = self.model.budgets[-1][0]
        if max_wrong_hit_rate > largest:
            logger.warning(
                "cacheback: max_wrong_hit_rate=%s is above the largest budget the match model "
                "keeps on data it never saw (%s); serving with that budget's threshold",
                max_wrong_hit_rate, largest)
        self._floor = logit(self.threshold) - BOUND_SLACK
        self._min_similarity = self.model.min_similarity(self.threshold)

    def min_similarity(self) -> float:
        return self._min_similarity

    def probabilities(self, query: str, candidates: Sequence[Candidate]) -> list[float]:
        """The probability that each candidate's answer is right for ``query``, in input order."""
        if not candidates:
            return []
        asked = profile(query)
        best = max(c.similarity for c in candidates)
        return [self._probability(asked, profile(c.query), c.similarity, best) for c in candidates]

    def _probability(self, asked: TextProfile, stored: TextProfile, similarity: float, best: float) -> float:
        """The model's probability, or 0 when a case-sensitive word differs in case (never served)."""
        if case_conflict(asked, stored):
            return 0.0
        return self.model.probability(pair_features(asked, stored, similarity, best))

    def decide(self, query: str, candidates: Sequence[Candidate]) -> Decision:
        """The likeliest candidate if it clears the threshold; the same decision as scoring all
        of them (:meth:`probabilities`), with hopeless candidates' texts never looked at."""
        if not candidates:
            return Decision(None, 0.0)
        best = max(c.similarity for c in candidates)
        asked = None
        chosen: Candidate | None = None
        top = pruned = 0.0
        beaten = -math.inf  # a candidate bounded below this cannot beat the likeliest so far
        for c in candidates:
            ceiling = self.model.max_logit(c.similarity, best)
            if ceiling < self._floor:
                pruned = max(pruned, sigmoid(ceiling))
                continue
            if ceiling < beaten:
                continue
            if asked is None:
                asked = profile(query)
            probability = self._probability(asked, profile(c.query), c.similarity, best)
            if chosen is None or probability > top:
                chosen, top = c, probability
                beaten = logit(top) - BOUND_SLACK if 0.0 < top < 1.0 else beaten
        if chosen is not None and top >= self.threshold:
            return Decision(chosen, top)
        return Decision(None, max(top, pruned))

    def __repr__(self) -> str:
        budget, threshold = self.max_wrong_hit_rate, self.threshold
        return f"CalibratedMatcher(max_wrong_hit_rate={budget}, threshold={threshold:.4f})"


def build_matcher(
    *, similarity_threshold: float | None, max_wrong_hit_rate: float | None, fallback_threshold: float
) -> Matcher:
    """The cache's matcher from its knobs: a plain cosine threshold when one is given, else the
    calibrated matcher at ``max_wrong_hit_rate`` (default :data:`DEFAULT_MAX_WRONG_HIT_RATE`).

    A missing or unreadable shipped model falls back to ``fallback_threshold`` with a warning,
    so a broken install degrades the cache instead of breaking the app.
    """
    if similarity_threshold is not None and max_wrong_hit_rate is not None:
        raise ConfigurationError("give either similarity_threshold or max_wrong_hit_rate, not both")
    if similarity_threshold is not None:
        return ThresholdMatcher(similarity_threshold)
    budget = DEFAULT_MAX_WRONG_HIT_RATE if max_wrong_hit_rate is None else max_wrong_hit_rate
    try:
        model = load_default_model()
    except ConfigurationError as exc:
        logger.warning("cacheback: match model unavailable (%s); using cosine >= %s", exc, fallback_threshold)
        return ThresholdMatcher(fallback_threshold)
    return CalibratedMatcher(budget, model=model)
