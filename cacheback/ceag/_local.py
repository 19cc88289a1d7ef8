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

from ..conversation._signature import VectorCache
from ..embed import Embedder
from ._segment import answer_units
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
        block = "\n" in unit.text or unit.text.lstrip()[:1] in "-*+#•`~" or unit.text[:1].isdigit()
        if i == 0:
            out.append(unit.text)
        elif unit.source != units[i - 1].source:
            out.append("\n\n" + unit.text)
        else:
            out.append(("\n" if block else " ") + unit.text)
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
        s = self.settings
        ranked = sorted(request.sources, key=lambda c: -c.similarity)
        split = [(c, answer_units(c.response)) for c in ranked]
        split = [(c, parts) for c, parts in split if parts]
        if not split:
            return None
        sources = [c for c, _ in split]
        units = [_Unit(i, j, text) for i, (_, parts) in enumerate(split) for j, text in enumerate(parts)]
        vectors = self._vectors.get([request.query] + [u.text for u in units])
        query, unit_vectors = vectors[0], vectors[1:]
        owners = np.array([u.source for u in units])
        answer_vectors = np.stack([_unit_mean(unit_vectors[owners == i]) for i in range(len(sources))])
        confidence = self.confidence([c.similarity for c in sources], answer_vectors)
        if confidence < s.confidence_floor:
            return None
        relevance = unit_vectors @ query
        top = sources[0].similarity
        agrees = answer_vectors @ answer_vectors[0] >= s.agreement_floor
        score = relevance - s.distance_penalty * np.array([top - sources[u.source].similarity for u in units])
        backbone = owners == 0
        eligible = backbone | (agrees[owners] & (relevance >= s.min_relevance))
        chosen: list[int] = []
        length = 0
        for k in np.lexsort((-score, ~backbone)):
            if not eligible[k] or len(chosen) == s.max_units:
                continue
            if chosen and float(np.max(unit_vectors[chosen] @ unit_vectors[k])) > s.duplicate_cosine:
                continue
            if chosen and length + len(units[k].text) > s.max_chars:
                continue
            chosen.append(int(k))
            length += len(units[k].text)
        if not chosen:
            return None
        kept = sorted((units[k] for k in chosen), key=lambda u: (u.source, u.position))
        used = sorted({u.source for u in kept})
        return SynthesisResult(
            text=_join(kept),
            source_ids=tuple(sources[i].entry_id for i in used),
            confidence=confidence,
            synthesizer=self.name,
            requested_model=request.requested_model,
        )


def _unit_mean(vectors: np.ndarray) -> np.ndarray:
    mean = vectors.mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)
