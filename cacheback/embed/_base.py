"""The embedder interface: texts in, L2-normalised float32 vectors out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

__all__ = ["Embedder", "l2_normalise"]


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Scale each row to unit length; an all-zero row stays zero instead of becoming NaN."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


class Embedder(ABC):
    """Maps texts to unit vectors whose dot product is their cosine similarity."""

    name: str = "embedder"
    dim: int = 0

    @abstractmethod
    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts`` as a float32 array of shape ``(len(texts), dim)``, rows L2-normalised."""

    def embed(self, text: str) -> np.ndarray:
        """Embed one text as a float32 vector of shape ``(dim,)``."""
        return self.embed_batch([text])[0]

    def fits(self, text: str) -> bool:
        """Whether the model reads all of ``text``. An embedding of a truncated text stands for
        its beginning only, so two texts that differ later would look identical."""
        return True
