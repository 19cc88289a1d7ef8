"""The local synthesizer: offline and free. It recombines the sentences of close cached answers.

The closest entry's answer is the backbone. Units (sentences, list items, code blocks) of the
other sources are added when their answer agrees with the backbone, they bear on the question
(cosine to it), and they say something not said yet (near-duplicates dropped); units are ranked
by that cosine minus a penalty for coming from a farther entry, and put back in source order, in
their original order within a source. Confidence is the closest entry's similarity times how
much the sources' answers agree with it: close entries that say different things are a reason to
ask upstream, not to blend them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .._types import Candidate
from ..conversation._signature import VectorCache
from ..embed import Embedder
from ._segment import answer_units, is_block
from ._types import SynthesisRequest, SynthesisResult, Synthesizer

__all__ = ["LocalSynthesizer", "LocalSettings"]


@dataclass(frozen=True)
class LocalSettings:
    """Knobs of the local synthesizer; ``confidence_floor`` is the one that trades quality for reach."""

    confidence_floor: float = 0.75
    max_units: int = 8
    max_chars: int = 1500
    duplicate_cosine: float = 0.9
    agreement_floor: float = 0.8
    min_relevance: float = 0.3
    distance_penalty: float = 2.0


@dataclass(frozen=True)
class _Unit:
    source: int
    position: int
    text: str


def _join(units: Sequence[_Unit]) -> str:
    """Sentences of one source run on; blocks (list items, code, headings) and sources break lines."""
    out: list[str] = []
    for i, unit in enumerate(units):
        if i == 0:
            out.append(unit.text)
        elif unit.source != units[i - 1].source:
            out.append("\n\n" + unit.text)
        else:
            out.append(("\n" if is_block(unit.text) or is_block(units[i - 1].text) else " ") + unit.text)
    return "".join(out)


class LocalSynthesizer(Synthesizer):
    """Composes an answer from cached answers' sentences; ``None`` below the confidence floor."""

    name = "local"

    def __init__(self, embedder: Embedder, settings: LocalSettings | None = None,
                 vector_cache_size: int = 8192) -> None:
        self.settings = settings or LocalSettings()
        self._vectors = VectorCache(embedder.embed_batch, vector_cache_size)

    def confidence(self, similarities: Sequence[float], answer_vectors: np.ndarray) -> float:
        """Closest similarity times the mean cosine of the other answers to the closest one."""
        if len(answer_vectors) > 1:
            agreement = float(np.mean(answer_vectors[1:] @ answer_vectors[0]))
        else:
            agreement = 1.0
        return float(np.clip(similarities[0] * agreement, 0.0, 1.0))

    def synthesize(self, request: SynthesisRequest) -> SynthesisResult | None:
        ranked = sorted(request.sources, key=lambda c: -c.similarity)
        split = [(c, parts) for c in ranked if (parts := answer_units(c.response))]
        if not split:
            return None
        sources = [c for c, _ in split]
        units = [_Unit(i, j, text) for i, (_, parts) in enumerate(split) for j, text in enumerate(parts)]
        vectors = self._vectors.get([request.query] + [u.text for u in units])
        owners = np.array([u.source for u in units])
        answers = np.stack([_unit_mean(vectors[1:][owners == i]) for i in range(len(sources))])
        confidence = self.confidence([c.similarity for c in sources], answers)
        if confidence < self.settings.confidence_floor:
            return None
        chosen = self._select(units, owners, vectors[1:], vectors[0], answers, sources)
        if not chosen:
            return None
        kept = sorted((units[k] for k in chosen), key=lambda u: (u.source, u.position))
        return SynthesisResult(
            text=_join(kept),
            source_ids=tuple(sources[i].entry_id for i in sorted({u.source for u in kept})),
            confidence=confidence,
            synthesizer=self.name,
            requested_model=request.requested_model,
        )

    def _select(self, units: Sequence[_Unit], owners: np.ndarray, vectors: np.ndarray,
                query: np.ndarray, answers: np.ndarray, sources: Sequence[Candidate]) -> list[int]:
        """Indices of the units to keep: the backbone first, then the best-ranked additions."""
        s = self.settings
        relevance = vectors @ query
        distance = np.array([sources[0].similarity - sources[u.source].similarity for u in units])
        score = relevance - s.distance_penalty * distance
        backbone = owners == 0
        agrees = answers @ answers[0] >= s.agreement_floor
        eligible = backbone | (agrees[owners] & (relevance >= s.min_relevance))
        chosen: list[int] = []
        length = 0
        for k in np.lexsort((-score, ~backbone)):
            if not eligible[k] or len(chosen) == s.max_units:
                continue
            if chosen and float(np.max(vectors[chosen] @ vectors[k])) > s.duplicate_cosine:
                continue
            if chosen and length + len(units[k].text) > s.max_chars:
                continue
            chosen.append(int(k))
            length += len(units[k].text)
        return chosen


def _unit_mean(vectors: np.ndarray) -> np.ndarray:
    mean = vectors.mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)
