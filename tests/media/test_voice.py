"""Spoken questions through Whisper tiny.en: re-spoken questions share a key, near ones do not,
and noise is never a key."""

from __future__ import annotations

import base64
import io
import wave
from collections.abc import Callable

import numpy as np
import pytest

from cacheback import SemanticCache
from cacheback.media import MediaResolver, Transcript, WhisperTranscriber
from cacheback.media._resolve import MediaPolicy

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def resolver() -> MediaResolver:
    transcriber = WhisperTranscriber()
    if not transcriber.available:
        pytest.skip("the [voice] extra is not installed")
    return MediaResolver(MediaPolicy(transcriber=transcriber))


def _audio(wav: bytes) -> list[dict[str, object]]:
    return [{"type": "input_audio",
             "input_audio": {"data": base64.b64encode(wav).decode(), "format": "wav"}}]


def test_respoken_question_hits_and_near_question_misses(
        resolver: MediaResolver, say: Callable[..., bytes], embedder: object) -> None:
    with SemanticCache(":memory:", embedder=embedder) as cache:
        stored = resolver.resolve(_audio(say("Where is the Berlin office?", "en-us", 150)), "ns")
        assert stored.text is not None and "berlin" in stored.text.lower()
        cache.put(stored.text, "Berlin: Friedrichstrasse 1.", namespace="ns", scope=stored.scope)
        again = resolver.resolve(_audio(say("Where is the Berlin office?", "en-gb", 185)), "ns")
        assert again.text is not None
        hit = cache.get(again.text, namespace="ns", scope=again.scope)
        assert hit is not None and hit.response.startswith("Berlin")
        other = resolver.resolve(_audio(say("Where is the Paris office?", "en-gb", 150)), "ns")
        assert other.text is None or cache.get(other.text, namespace="ns", scope=other.scope) is None


def _noise_wav(seconds: float = 2.0, rate: int = 16000) -> bytes:
    samples = (np.random.default_rng(0).normal(0, 0.3, int(seconds * rate)) * 32767)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.clip(samples, -32768, 32767).astype("<i2").tobytes())
    return buf.getvalue()


def test_noise_is_never_a_key(resolver: MediaResolver) -> None:
    key = resolver.resolve(_audio(_noise_wav()), "ns")
    assert key.text is None and key.reason


def test_same_recording_is_transcribed_once(resolver: MediaResolver,
                                            say: Callable[..., bytes]) -> None:
    wav = say("How do I reset my password?", "en-us", 160)
    first = resolver.transcriber.transcribe(wav, "wav")
    assert resolver.transcriber.transcribe(wav, "wav") is first


@pytest.mark.parametrize("transcript", [
    Transcript("", -0.1, 0.0, 1.0),
    Transcript("where is it", -1.5, 0.1, 1.0),
    Transcript("where is it", -0.2, 0.9, 1.0),
])
def test_unsure_transcripts_are_not_usable(transcript: Transcript) -> None:
    assert not transcript.usable()


def test_the_recording_fits_its_own_words_not_a_near_questions(
        resolver: MediaResolver, say: Callable[..., bytes]) -> None:
    """Re-hearing's evidence: forced to read a text off the recording, Whisper finds the words
    said nearly as likely as its own transcript, and a near question's words far less likely."""
    from cacheback.media import normalise_transcript
    from cacheback.media._resolve import REHEAR_MAX_DROP, REHEAR_MIN_TOKEN

    wav = say("What time does the store close on Sunday?", "en-gb-x-rp", 160)
    heard = normalise_transcript(resolver.transcriber.transcribe(wav, "wav").text)
    own, said, near = resolver.transcriber.fits(wav, [
        heard, "what time does the store close on Sunday",
        "what time does the store open on Sunday"], "wav") or []
    assert said.logprob - own.logprob >= -REHEAR_MAX_DROP and said.worst >= REHEAR_MIN_TOKEN
    assert near.logprob - own.logprob < -REHEAR_MAX_DROP or near.worst < REHEAR_MIN_TOKEN
    assert near.logprob < said.logprob - REHEAR_MAX_DROP


def test_respoken_question_hits_through_the_client_and_a_near_one_misses(
        resolver: MediaResolver, say: Callable[..., bytes], embedder: object) -> None:
    from cacheback.openai import CachedOpenAI, CachePolicy
    from cacheback.testing import FakeUpstream

    with FakeUpstream() as upstream:
        client = CachedOpenAI(api_key="k", base_url=upstream.openai_base_url,
                              cache=SemanticCache(":memory:", embedder=embedder),
                              policy=CachePolicy(media=MediaPolicy(
                                  transcriber=resolver.transcriber, rehear=True)))

        def ask(question: str, voice: str, speed: int) -> str:
            reply = client.chat.completions.create(model="gpt-4o-mini", messages=[
                {"role": "user", "content": _audio(say(question, voice, speed))}])
            return str(reply.cacheback.tier)

        assert ask("What time does the store close on Sunday?", "en-us", 130) == "miss"
        assert ask("What time does the store close on Sunday?", "en-gb-x-rp", 160) != "miss"
        assert ask("What time does the store open on Sunday?", "en-gb-x-rp", 130) == "miss"
        assert upstream.request_count() == 2


def test_the_meaning_gate_refuses_unmute_heard_as_mute(
        resolver: MediaResolver, say: Callable[..., bytes]) -> None:
    """tiny.en transcribes "unmute" as "mute" (docs/media.md, HELD_OUT_3): the meaning gate
    (reversible verbs allowed, so the gate itself decides) re-hears the recording against
    "unmute" and refuses the transcript; a recording that says "mute" out-fits "unmute" and is
    a key. By default neither is a key (``refuse_reversible``)."""
    gate = MediaResolver(MediaPolicy(transcriber=resolver.transcriber, refuse_reversible=False))
    unmute_wav = say("How do I unmute my microphone?", "en-gb", 150)
    mute_wav = say("How do I mute my microphone?", "en-gb", 150)
    unmute = gate.resolve(_audio(unmute_wav), "ns")
    assert unmute.text is None or "unmute" in unmute.text
    mute = gate.resolve(_audio(mute_wav), "ns")
    assert mute.text is not None and "mute" in mute.text and "unmute" not in mute.text
    assert gate.gate_checked == 2
    for wav in (unmute_wav, mute_wav):
        refused = resolver.resolve(_audio(wav), "ns")
        assert refused.text is None and "prefix" in str(refused.reason)


def test_the_gate_aligns_on_the_transcriptions_encoder_pass(
        resolver: MediaResolver, say: Callable[..., bytes]) -> None:
    """The transcription keeps its encoder output per recording, so the meaning gate's (and
    re-hearing's) alignment passes do not encode the audio again; the fits agree with those on a
    separately encoded clip to a fraction of a nat (only the last feature frame differs)."""
    transcriber = WhisperTranscriber()
    wav = say("How do I mute my microphone?", "en-gb", 150)
    heard = transcriber.transcribe(wav, "wav")
    model = transcriber._model
    calls: list[int] = []
    model.encode = lambda features, _encode=model.encode: calls.append(1) or _encode(features)
    try:
        shared = transcriber.fits(wav, [heard.text, "How do I unmute my microphone?"], "wav")
        assert calls == []
        transcriber._encoded.clear()
        own = transcriber.fits(wav, [heard.text, "How do I unmute my microphone?"], "wav")
        assert calls == [1]
    finally:
        del model.encode
    assert shared is not None and own is not None
    for a, b in zip(shared, own):
        assert abs(a.logprob - b.logprob) < 0.5
