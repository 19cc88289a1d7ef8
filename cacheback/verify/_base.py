"""The verifier interface: a second look at a (new question, cached question) pair."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

__all__ = ["Verifier"]


class Verifier(ABC):
    """Scores pairs of texts read together (a cross-encoder), where the bi-encoder's cosine
    compared two texts never seen side by side. Higher means more likely the same question."""

    name: str

    @abstractmethod
    def score(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """Raw logits, float64 of shape (len(pairs),), for (query, cached query) pairs."""

    def load(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Load the model now rather than on the first pair (a server's readiness check)."""
