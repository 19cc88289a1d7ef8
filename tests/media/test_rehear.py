"""Re-hearing (opt-in) through the cached client, with a scripted transcriber (no Whisper): a recording
whose transcript has a misheard word hits the stored question when its words fit the audio,
and never when they do not, or when the text differs in a number or a negation."""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from cacheback import SemanticCache
from cacheback.media import MediaPolicy, Transcriber, Transcript
from cacheback.media._voice import Fit
from cacheback.openai import CachedOpenAI, CachePolicy
from cacheback.testing import FakeUpstream


class Scripted(Transcriber):
    """Transcripts by recording, and the fit of each text (what a real model would score:
    ``fits[recording][text]``, in nats summed over 8 tokens; missing texts fit badly)."""

    name = "scripted"

    def __init__(self, heard: dict[bytes, str], fits: dict[bytes, dict[str, float]]) -> None:
        self.heard, self.scores, self.asked = heard, fits, 0

    def transcribe(self, data: bytes, format: str = "") -> Transcript:
        return Transcript(self.heard[data], -0.2, 0.1, 2.0)

    def fits(self, data: bytes, texts: Sequence[str], format: str = "") -> list[Fit]:
        self.asked += 1
        scores = self.scores.get(data, {})
        return [Fit(scores.get(t, -60.0), -2.0 if t in scores else -14.0, 8) for t in texts]


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


def _client(upstream: FakeUpstream, embedder: Any, transcriber: Transcriber,
            **policy: Any) -> CachedOpenAI:
    # the gate and reversible verbs: test_meaning_gate.py
    policy = {"rehear": True, "meaning_gate": False, "refuse_reversible": False, **policy}
    return CachedOpenAI(api_key="k", base_url=upstream.openai_base_url,
                        cache=SemanticCache(":memory:", embedder=embedder),
                        policy=CachePolicy(media=MediaPolicy(transcriber=transcriber, **policy)))


def _ask(client: CachedOpenAI, wav: bytes) -> Any:
    audio = {"data": base64.b64encode(wav).decode(), "format": "wav"}
    return client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": [{"type": "input_audio", "input_audio": audio}]}])


STORED, MISHEARD, OTHER = b"stored", b"misheard", b"other"


def test_a_misheard_word_that_fits_the_audio_hits(upstream: FakeUpstream, embedder: Any) -> None:
    transcriber = Scripted(
        {STORED: "What time does the store close on Sunday?",
         MISHEARD: "What time does the stock lose on Sunday?",
         OTHER: "What time does the stock lose on Sunday?"},
        {MISHEARD: {"what time does the stock lose on Sunday": -4.0,
                    "what time does the store close on Sunday": -5.5}})
    client = _client(upstream, embedder, transcriber)
    _ask(client, STORED)
    again = _ask(client, MISHEARD)
    assert again.cacheback.tier in ("exact", "semantic")
    assert upstream.request_count() == 1
    other = _ask(client, OTHER)  # the same words heard, but the stored ones do not fit this audio
    assert other.cacheback.tier == "miss"


def test_rehearing_off_by_default_or_failing_is_a_miss(upstream: FakeUpstream, embedder: Any) -> None:
    class Failing(Scripted):
        def fits(self, data: bytes, texts: Sequence[str], format: str = "") -> list[Fit]:
            raise RuntimeError("boom")

    heard = {STORED: "What time does the store close on Sunday?",
             MISHEARD: "What time does the stock lose on Sunday?"}
    fits = {MISHEARD: {"what time does the stock lose on Sunday": -4.0,
                       "what time does the store close on Sunday": -5.5}}
    for transcriber, policy in ((Scripted(heard, fits), {"rehear": False}), (Failing(heard, fits), {})):
        client = _client(upstream, embedder, transcriber, **policy)
        _ask(client, STORED)
        assert _ask(client, MISHEARD).cacheback.tier == "miss"


@pytest.mark.parametrize(("stored", "heard"), [
    ("Do you have a table for two people tonight?", "Do you have a table for six people tonight?"),
    ("Was my package delivered?", "Was my package not delivered?"),
    ("What is the minimum order for free delivery?", "What is the maximum order for free delivery?"),
])
def test_a_number_negation_or_antonym_apart_is_reheard_only_when_it_fits_better_than_the_transcript(
        stored: str, heard: str, upstream: FakeUpstream, embedder: Any) -> None:
    """The texts say different questions, so the transcript's reading is the stored question's
    rival: as likely (or within the usual 8-nat slack) is a miss, never a hit; only a recording
    the stored words fit better than Whisper's own reading is re-heard as it."""
    from cacheback.media import normalise_transcript
    for stored_fit, tier in ((0.0, "miss"), (-1.0, "miss"), (-7.0, "miss"), (1.0, "semantic")):
        transcriber = Scripted({STORED: stored, MISHEARD: heard},
                               {MISHEARD: {normalise_transcript(stored): stored_fit,
                                           normalise_transcript(heard): 0.0}})
        client = _client(upstream, embedder, transcriber)
        _ask(client, STORED)
        got = _ask(client, MISHEARD).cacheback.tier
        assert got in (("exact", "semantic") if tier == "semantic" else ("miss",)), (stored_fit, got)


@pytest.mark.parametrize(("stored", "heard", "rival"), [
    ("Can I upgrade my plan?", "Can I now grade my plan?", "can I downgrade my plan"),
    ("Is breakfast included in the price?", "Is breakfast hot included in the price?",
     "is breakfast not included in the price"),
])
def test_a_stored_question_whose_opposite_fits_better_is_not_reheard(
        stored: str, heard: str, rival: str, upstream: FakeUpstream, embedder: Any) -> None:
    """The stored words fit within the bounds, but the question with one meaning flipped fits
    the recording better: the likelihood-ratio test refuses it; when the opposite fits worse,
    the same recording is re-heard as the stored question."""
    from cacheback.media import normalise_transcript
    fits = {normalise_transcript(heard): -3.0, normalise_transcript(stored): -5.7}
    for rival_fit, tier in ((-4.0, "miss"), (-9.0, "semantic")):
        transcriber = Scripted({STORED: stored, MISHEARD: heard}, {MISHEARD: {**fits, rival: rival_fit}})
        client = _client(upstream, embedder, transcriber)
        _ask(client, STORED)
        assert _ask(client, MISHEARD).cacheback.tier in ((tier,) if tier == "miss" else ("exact", "semantic"))
        assert transcriber.asked == 2  # the candidates, then the stored question's rivals


def test_a_garbled_negation_does_not_let_the_opposite_verb_through(
        upstream: FakeUpstream, embedder: Any) -> None:
    """"How do I unlock my card?" heard as "oh do not unlock my card": the stored "How do I lock
    my card?" out-fits the garbled transcript, but its prefixed opposite fits the recording
    better still, so it is refused; a recording that says "lock" is re-heard as it."""
    stored, heard = "How do I lock my card?", "Oh, don't unlock my card."
    for unlock_fit, tier in ((-2.0, "miss"), (-12.0, "semantic")):
        transcriber = Scripted({STORED: stored, MISHEARD: heard},
                               {MISHEARD: {"oh do not unlock my card": -9.0,
                                           "how do I lock my card": -4.0,
                                           "how do I unlock my card": unlock_fit}})
        client = _client(upstream, embedder, transcriber)
        _ask(client, STORED)
        got = _ask(client, MISHEARD).cacheback.tier
        assert got in (("exact", "semantic") if tier == "semantic" else ("miss",)), (unlock_fit, got)


def test_garbled_words_near_a_garbled_transcript_do_not_hit(upstream: FakeUpstream, embedder: Any) -> None:
    """A recording Whisper garbles fits its own transcript badly too, so a garbled stored
    question can land within the drop of it: its words must also average -2.0 per token."""
    transcriber = Scripted(
        {STORED: "What time is your card?", MISHEARD: "Well time is rigged first?"},
        {MISHEARD: {"well time is rigged first": -14.0, "what time is your card": -18.0}})
    client = _client(upstream, embedder, transcriber)
    _ask(client, STORED)
    assert _ask(client, MISHEARD).cacheback.tier == "miss"  # -2.25 per token
    lenient = _client(upstream, embedder, transcriber, rehear_min_avg=-2.5)
    _ask(lenient, STORED)
    assert _ask(lenient, MISHEARD).cacheback.tier in ("exact", "semantic")
