"""Recovering an unsure transcript (with re-hearing on): a recording whose transcript the
confidence gate or the meaning gate refused is served the stored question whose own words pass
both gates on the recording (forced mean token log-probability >= -0.8, no token below -8,
better than each of its opposites by the meaning margin), and is never stored; anything else
bypasses as before. A scripted transcriber (no Whisper)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from test_rehear import _ask

from cacheback import SemanticCache
from cacheback.media import MediaPolicy, Transcriber, Transcript
from cacheback.media._voice import Fit
from cacheback.openai import CachedOpenAI, CachePolicy
from cacheback.testing import FakeUpstream

STORED, UNSURE = b"stored", b"unsure"
QUESTION = "Where is the Berlin office?"


class Unsure(Transcriber):
    """``STORED`` transcribed surely, ``UNSURE`` with a mean log-probability of -0.9 (gated);
    each text forced on ``UNSURE`` scores ``per_token`` per token over 8 tokens, its worst token
    ``worst`` (unknown texts fit badly)."""

    name = "unsure"

    def __init__(self, heard: str, scores: dict[str, tuple[float, float]]) -> None:
        self.heard, self.scores, self.asked = heard, scores, 0

    def transcribe(self, data: bytes, format: str = "") -> Transcript:
        if data == STORED:
            return Transcript(QUESTION, -0.2, 0.1, 2.0)
        return Transcript(self.heard, -0.9, 0.1, 2.0)

    def fits(self, data: bytes, texts: Sequence[str], format: str = "") -> list[Fit] | None:
        self.asked += 1
        return [Fit(self.scores.get(t, (-6.0, -14.0))[0] * 8, self.scores.get(t, (-6.0, -14.0))[1], 8)
                for t in texts]


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


def _client(upstream: FakeUpstream, embedder: Any, transcriber: Transcriber, **policy: Any) -> CachedOpenAI:
    return CachedOpenAI(api_key="k", base_url=upstream.openai_base_url,
                        cache=SemanticCache(":memory:", embedder=embedder),
                        policy=CachePolicy(media=MediaPolicy(transcriber=transcriber,
                                                             **{"rehear": True, **policy})))


def test_an_unsure_recording_whose_stored_words_pass_the_gate_is_served_never_stored(
        upstream: FakeUpstream, embedder: Any) -> None:
    transcriber = Unsure("Where is the Berlin office?", {"where is the Berlin office": (-0.3, -2.0)})
    client = _client(upstream, embedder, transcriber)
    _ask(client, STORED)
    served = _ask(client, UNSURE)
    assert served.cacheback.tier == "exact"
    assert upstream.request_count() == 1

    empty = _client(upstream, embedder, transcriber)
    assert _ask(empty, UNSURE).cacheback.tier == "bypass"  # nothing stored to recover as
    assert _ask(empty, STORED).cacheback.tier == "miss"  # and the unsure recording stored nothing
    assert upstream.request_count() == 3


@pytest.mark.parametrize(("scores", "policy"), [
    ({"where is the Berlin office": (-0.85, -2.0)}, {}),  # the stored words are unsure too
    ({"where is the Berlin office": (-0.75, -2.0)}, {"recover_min_avg": -0.7}),
    ({"where is the Berlin office": (-0.3, -2.0), "where is not the Berlin office": (-0.5, -2.0)},
     {}),  # an opposite within the meaning margin (1.6 nats worse over 8 tokens)
    ({"where is the Berlin office": (-0.3, -9.0)}, {}),  # one token does not fit the sound
    ({"where is the Berlin office": (-0.3, -2.0), "where is the Berlin office not": (-0.1, -2.0),
      "where is not the Berlin office": (-0.1, -2.0)}, {}),  # an opposite fits better
    ({"where is the Berlin office": (-0.3, -2.0)}, {"rehear": False}),
    ({"where is the Berlin office": (-0.3, -2.0)}, {"recover_unsure": False}),
])
def test_otherwise_an_unsure_recording_bypasses(
        scores: dict[str, tuple[float, float]], policy: dict[str, Any],
        upstream: FakeUpstream, embedder: Any) -> None:
    client = _client(upstream, embedder, Unsure("Where is the Berlin office?", scores), **policy)
    _ask(client, STORED)
    assert _ask(client, UNSURE).cacheback.tier == "bypass"
    assert upstream.request_count() == 2


def test_the_bar_is_the_forced_fits_own(upstream: FakeUpstream, embedder: Any) -> None:
    """Forced fits average lower than the beam's: stored words at -0.75 pass the -0.8 bar."""
    transcriber = Unsure("Where is the Berlin office?", {"where is the Berlin office": (-0.75, -2.0)})
    client = _client(upstream, embedder, transcriber)
    _ask(client, STORED)
    assert _ask(client, UNSURE).cacheback.tier == "exact"


class Negated(Unsure):
    """``UNSURE`` transcribed surely but with a spurious "not" ("Doesn't the hotel have
    parking?"), which the meaning gate refuses: the words without it fit better."""

    def transcribe(self, data: bytes, format: str = "") -> Transcript:
        if data == STORED:
            return Transcript("Does the hotel have parking?", -0.2, 0.1, 2.0)
        return Transcript(self.heard, -0.3, 0.1, 2.0)


def test_a_transcript_the_meaning_gate_refused_is_recovered(upstream: FakeUpstream, embedder: Any) -> None:
    transcriber = Negated("Doesn't the hotel have parking?",
                          {"does not the hotel have parking": (-0.6, -4.0),
                           "does the hotel have parking": (-0.3, -2.0)})
    client = _client(upstream, embedder, transcriber)
    _ask(client, STORED)
    assert _ask(client, UNSURE).cacheback.tier == "exact"
    assert upstream.request_count() == 1
    for policy in ({"recover_unsure": False}, {"rehear": False}):
        off = _client(upstream, embedder, transcriber, **policy)
        _ask(off, STORED)
        assert _ask(off, UNSURE).cacheback.tier == "bypass"


def test_a_near_question_is_not_recovered(upstream: FakeUpstream, embedder: Any) -> None:
    """An unsure "Paris" recording: the stored "Berlin" words do not fit it (a token near -13),
    so it bypasses rather than being served Berlin's answer."""
    transcriber = Unsure("Where is the Paris office?", {"where is the Berlin office": (-1.6, -13.0)})
    client = _client(upstream, embedder, transcriber)
    _ask(client, STORED)
    assert _ask(client, UNSURE).cacheback.tier == "bypass"


def test_a_failure_while_recovering_is_a_bypass(upstream: FakeUpstream, embedder: Any) -> None:
    class Broken(Unsure):
        def fits(self, data: bytes, texts: Sequence[str], format: str = "") -> list[Fit] | None:
            if data == UNSURE:
                raise RuntimeError("boom")
            return super().fits(data, texts, format)

    client = _client(upstream, embedder, Broken("Where is the Berlin office?", {}))
    _ask(client, STORED)
    assert _ask(client, UNSURE).cacheback.tier == "bypass"
