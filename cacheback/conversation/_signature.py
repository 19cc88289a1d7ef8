"""The context a follow-up was asked in, reduced to what decides its answer, and its JSON form.

Two views of one context exist: ``LiveContext`` is the chat being asked now (every sentence, with
vectors embedded on demand), ``StoredContext`` is what an entry keeps in its metadata (only the
sentences that carry details, plus the last assistant reply), small enough to store per entry.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._text import content_words, details, split_sentences, words

__all__ = [
    "FORMAT_VERSION",
    "Fact",
    "LiveContext",
    "StoredContext",
    "Turn",
    "ReplySentence",
    "VectorCache",
    "digest_turns",
    "reply_sentence",
]

FORMAT_VERSION = 1

Turn = tuple[str, str]
"""One earlier message as ``(role, text)``."""


class VectorCache:
    """Sentence vectors by text, least recently used dropped first; misses are embedded in one batch.

    A chat grows by appending, so each new request re-reads mostly sentences seen the turn before.
    """

    def __init__(self, embed_batch: Callable[[Sequence[str]], np.ndarray], size: int = 4096) -> None:
        self._embed_batch = embed_batch
        self._size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()

    def get(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors of ``texts``, shape ``(len(texts), dim)``."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            for text, vector in zip(missing, self._embed_batch(missing)):
                self._vectors[text] = np.asarray(vector, dtype=np.float32)
        rows = []
        for text in texts:
            self._vectors.move_to_end(text)
            rows.append(self._vectors[text])
        while len(self._vectors) > self._size:
            self._vectors.popitem(last=False)
        return np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32)


def _pack(vector: np.ndarray) -> str:
    """A unit vector as base64 int8 (a quarter of float32; cosine error about 0.01)."""
    scale = float(np.max(np.abs(vector))) or 1.0
    return base64.b64encode(np.round(vector / scale * 127).astype(np.int8).tobytes()).decode("ascii")


def _unpack(text: str) -> np.ndarray:
    vector = np.frombuffer(base64.b64decode(text), dtype=np.int8).astype(np.float32)
    return vector / max(float(np.linalg.norm(vector)), 1e-12)


def digest_turns(turns: Sequence[Turn]) -> str:
    """A digest of turns that must match exactly (those older than the analysed window)."""
    if not turns:
        return ""
    text = json.dumps([[role, " ".join(body.split()).casefold()] for role, body in turns])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Fact:
    """A sentence with details: the details in order, all its words, and its vector."""

    details: tuple[str, ...]
    words: frozenset[str]
    vector: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class ReplySentence:
    """A sentence of the assistant reply being followed up (see :func:`reply_sentence`)."""

    vector: np.ndarray = field(repr=False)
    substantive: bool = False
    asks: frozenset[str] | None = None


@dataclass(frozen=True)
class StoredContext:
    """What a stored follow-up remembers of its context."""

    follow_up: bool
    positional: bool = False
    facts: tuple[Fact, ...] = ()
    reply: tuple[ReplySentence, ...] = ()
    older: str = ""

    def to_json(self) -> dict[str, Any]:
        """The JSON-serialisable form kept in entry metadata."""
        out: dict[str, Any] = {"v": FORMAT_VERSION, "follow_up": self.follow_up}
        if self.follow_up:
            out.update(
                positional=self.positional,
                older=self.older,
                facts=[[list(f.details), sorted(f.words), _pack(f.vector)] for f in self.facts],
                reply=[[_pack(r.vector), r.substantive, None if r.asks is None else sorted(r.asks)]
                       for r in self.reply],
            )
        return out

    @classmethod
    def from_json(cls, data: Any) -> StoredContext | None:
        """Parse :meth:`to_json` output; ``None`` when it is missing, foreign or damaged."""
        if not isinstance(data, dict) or data.get("v") != FORMAT_VERSION:
            return None
        try:
            if not data["follow_up"]:
                return cls(follow_up=False)
            facts = tuple(
                Fact(tuple(map(str, d)), frozenset(map(str, w)), _unpack(v)) for d, w, v in data["facts"]
            )
            reply = tuple(
                ReplySentence(_unpack(v), bool(key), None if asks is None else frozenset(map(str, asks)))
                for v, key, asks in data["reply"]
            )
            return cls(True, bool(data["positional"]), facts, reply, str(data["older"]))
        except (KeyError, TypeError, ValueError):
            return None


class LiveContext:
    """The earlier turns of the chat being asked now, split into sentences, vectors on demand."""

    def __init__(self, turns: Sequence[Turn], vectors: VectorCache, *, follow_up: bool,
                 positional: bool, max_turns: int, recent_turns: int = 2) -> None:
        window = list(turns[-max_turns:]) if max_turns > 0 else []
        self.follow_up = follow_up
        self.positional = positional
        self.older = digest_turns(turns[: len(turns) - len(window)])
        self._vectors = vectors
        self.sentences = [s for _, body in window for s in split_sentences(body)]
        self.recent = [s for _, body in window[-recent_turns:] for s in split_sentences(body)]
        last_reply = next((body for role, body in reversed(window) if role == "assistant"), "")
        self.reply = split_sentences(last_reply)

    def vectors(self, sentences: Sequence[str]) -> np.ndarray:
        """Unit vectors of some of this context's sentences."""
        return self._vectors.get(sentences)

    def stored(self) -> StoredContext:
        """The compact form to keep with an entry made in this context."""
        if not self.follow_up:
            return StoredContext(follow_up=False)
        factual = [s for s in dict.fromkeys(self.sentences) if details(s)]
        empty = np.zeros((0, 0), dtype=np.float32)
        fact_vectors = self.vectors(factual) if factual else empty
        reply_vectors = self.vectors(self.reply) if self.reply else empty
        return StoredContext(
            follow_up=True,
            positional=self.positional,
            facts=tuple(Fact(details(s), words(s), v) for s, v in zip(factual, fact_vectors)),
            reply=tuple(reply_sentence(s, v) for s, v in zip(self.reply, reply_vectors)),
            older=self.older,
        )


def reply_sentence(sentence: str, vector: np.ndarray) -> ReplySentence:
    """A reply sentence is *substantive* when it asks something or states details (what a
    follow-up answers or relies on); a question also keeps its content words (what it offers)."""
    asks = sentence.rstrip().endswith("?")
    return ReplySentence(vector, asks or bool(details(sentence)), content_words(sentence) if asks else None)
