"""From a message with images or audio to a cache key: the text to match and the scope to add.

* Each image becomes an id (:class:`ImageRegistry`): near-duplicates share one, so the scope
  ``{"media": {"images": [...]}}`` is equal exactly when the request is about the same images,
  in order; the text part then goes through the normal exact and semantic tiers. An image known
  only by URL is keyed by its URL (it cannot be fetched offline).
* Each audio part is transcribed (:class:`Transcriber`) and normalised
  (:func:`normalise_transcript`); the transcript joins the text as the question, so a re-spoken
  question can hit semantically. A transcript below the confidence gate, or no transcriber,
  means the request bypasses the cache, with the reason.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..match._features import has_antonym, has_role_swap
from ..match._text import profile
from ._contrast import meaning_sure, opposites, reversible_words, rivals
from ._image import ImageDecodeError, ImageRegistry, fingerprint
from ._parts import AudioPart, MediaContent, UnsupportedPart, split_content
from ._transcript import normalise_transcript
from ._voice import MAX_NO_SPEECH, MIN_AVG_LOGPROB, Transcriber, TranscriptionError, WhisperTranscriber

#: Re-hearing: a stored question is what was said when Whisper, forced to read its words off
#: this recording, finds them at most this much less likely (in nats, summed over the tokens)
#: than its own transcript, and no token of it below :data:`REHEAR_MIN_TOKEN` (docs/media.md).
REHEAR_MAX_DROP = 8.0
REHEAR_MIN_TOKEN = -8.0
#: Re-hearing: the lowest mean token log-probability of a stored question's words forced on the
#: recording. Correct re-heard hits on both tuning sets average -0.32 to -2.17; the one wrong
#: one (TUNING_2, a garbled stored transcript re-heard for a garbled near question) -2.51.
REHEAR_MIN_AVG = -2.0
#: How many of the nearest stored questions are re-heard.
REHEAR_CANDIDATES = 3
#: Re-hearing: how many nats better a stored question must fit the recording than each of its
#: opposites (a negation added or removed, a word swapped for its opposite: docs/media.md), and
#: than the transcript when the two differ in a number, a negation, an antonym or roles.
REHEAR_RIVAL_MARGIN = 0.0
#: The meaning gate: a transcript is a key only when its words fit the recording more than this
#: many nats better than each of its opposites ("mute" / "unmute": docs/media.md).
MEANING_MARGIN = 2.0
#: Recovering an unsure recording: the lowest mean token log-probability of a stored question's
#: words forced on it. The confidence gate's -0.7 is on the beam's own average; the same words
#: forced through the decoder average 0.09 lower (mean over the tuning set's 160 clips, written
#: with a capital and "?" as stored questions are scored), so -0.8 is the same bar.
RECOVER_MIN_AVG = -0.8

__all__ = ["MediaPolicy", "MediaResolver", "Resolved"]

log = logging.getLogger("cacheback.media")


@dataclass(frozen=True)
class Resolved:
    """A media message as a cache key, or the reason it cannot be one (``text`` is None)."""

    text: str | None
    scope: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    transcript: str | None = None
    #: The one recording asked (None without audio or with several), for :meth:`MediaResolver.rehear`.
    audio: AudioPart | None = None
    #: The typed text beside the recording, which a re-heard question must share.
    typed: str = ""
    #: A key's text made of a transcript the confidence gate refused (``text`` is None): used
    #: only to find the stored questions :meth:`MediaResolver.recover` re-hears, never as a key.
    unsure: str | None = None


@dataclass(frozen=True)
class MediaPolicy:
    """What the cache does with images and audio in a question.

    ``images``: key image questions by near-duplicate image ids (needs Pillow for image bytes).
    ``voice``: key spoken questions by their transcript (needs the ``[voice]`` extra).
    ``min_avg_logprob`` / ``max_no_speech``: the transcript confidence gate.
    ``normalise_transcripts``: key a transcript in one written form ("two" and "2", "What's"
    and "What is" alike: :func:`~cacheback.media.normalise_transcript`).
    ``rehear`` / ``rehear_max_drop`` / ``rehear_min_token`` / ``rehear_min_avg`` /
    ``rehear_rival_margin``: when the match decision refuses a transcript, check whether the
    recording also says one of the nearest stored questions, and says it rather than its opposite
    (:meth:`MediaResolver.rehear`). Off by default: it raises re-spoken hits a lot, but it
    trusts tiny.en's ear on synthetic speech only (docs/media.md), so it is a trade a user
    must choose.
    ``meaning_gate`` / ``meaning_margin``: before a transcript is a key (stored or looked up),
    re-hear the recording against the transcript's own opposites ("mute" -> "unmute", "lock" ->
    "unlock", "unmute" -> "mute", a negation removed) and refuse it as unsure unless its words
    fit better than each by ``meaning_margin`` nats (:meth:`MediaResolver.meaning_gate`). On by
    default: tiny.en drops "un" ("unmute" heard as "mute"), which no text check can see.
    ``refuse_reversible``: a transcript holding a verb whose meaning a prefix reverses
    ("mute" / "unmute", "lock" / "unlock", "enable" / "disable", "connect" / "disconnect":
    :data:`~cacheback.media._contrast.REVERSIBLE_VERBS`), with the prefix or without, is never
    a key (a miss, never stored). On by default: tiny.en drops and adds those prefixes, and
    an "unmute" recording heard as "mute" can out-fit "unmute" by 6 nats, more than correct
    transcripts out-fit their opposites (docs/media.md, "Reversing prefixes").
    ``recover_unsure`` / ``recover_min_avg`` (with ``rehear``): a recording whose transcript
    the confidence gate or the meaning gate refused may still be served a stored question whose
    own words pass both gates on the recording (:meth:`MediaResolver.recover`); never stored.
    ``registry_path``: where image ids persist ("auto": beside the cache's database file).
    """

    images: bool = True
    voice: bool = True
    min_avg_logprob: float = MIN_AVG_LOGPROB
    max_no_speech: float = MAX_NO_SPEECH
    normalise_transcripts: bool = True
    rehear: bool = False
    rehear_max_drop: float = REHEAR_MAX_DROP
    rehear_min_token: float = REHEAR_MIN_TOKEN
    rehear_min_avg: float = REHEAR_MIN_AVG
    rehear_rival_margin: float = REHEAR_RIVAL_MARGIN
    meaning_gate: bool = True
    meaning_margin: float = MEANING_MARGIN
    refuse_reversible: bool = True
    recover_unsure: bool = True
    recover_min_avg: float = RECOVER_MIN_AVG
    registry_path: str | os.PathLike[str] | None = "auto"
    transcriber: Transcriber | None = None


def _registry_path(policy: MediaPolicy, db_path: str | os.PathLike[str] | None) -> Path | None:
    if policy.registry_path != "auto":
        return Path(policy.registry_path) if policy.registry_path is not None else None
    if db_path is None or str(db_path) == ":memory:" or "://" in str(db_path):
        return None
    return Path(str(db_path) + ".images")


class MediaResolver:
    """Turns a message's content into a :class:`Resolved` key under one :class:`MediaPolicy`."""

    def __init__(self, policy: MediaPolicy | None = None, *,
                 db_path: str | os.PathLike[str] | None = None) -> None:
        self.policy = policy or MediaPolicy()
        self.registry = ImageRegistry(_registry_path(self.policy, db_path))
        self.transcriber: Transcriber = self.policy.transcriber or WhisperTranscriber()
        self._gate_memo: dict[tuple[str, str], str | None] = {}
        #: How many transcripts the meaning gate re-heard (had an opposite) and refused.
        self.gate_checked = 0
        self.gate_refused = 0

    def resolve(self, content: Any, namespace: str) -> Resolved:
        """The key of a message ``content`` that holds images or audio."""
        try:
            parts = split_content(content)
        except UnsupportedPart as exc:
            return Resolved(None, reason=f"last user turn has a part the cache cannot key ({exc})")
        if not parts.has_media:
            return Resolved(parts.text)
        scope: dict[str, Any] = {}
        if parts.images:
            ids = self._image_ids(parts, namespace)
            if isinstance(ids, str):
                return Resolved(None, reason=ids)
            scope["images"] = ids
        text = parts.text
        transcript = None
        if parts.audio:
            heard = self._transcripts(parts)
            if heard.text is None:
                if heard.unsure is None or len(parts.audio) != 1:
                    return dataclasses.replace(heard, unsure=None)
                scope["audio"] = 1
                return Resolved(None, {"media": scope}, reason=heard.reason, transcript=heard.unsure,
                                audio=parts.audio[0], typed=parts.text,
                                unsure="\n".join(filter(None, [text, heard.unsure])))
            transcript = heard.text
            text = "\n".join(filter(None, [text, transcript]))
            scope["audio"] = len(parts.audio)
        if not text.strip():
            return Resolved(None, reason="a media question with no text to match")
        return Resolved(text, {"media": scope}, transcript=transcript,
                        audio=parts.audio[0] if len(parts.audio) == 1 else None, typed=parts.text)

    def rehear(self, resolved: Resolved, candidates: Sequence[str]) -> str | None:
        """The stored question among ``candidates`` (nearest first) that this recording says
        too, or None.

        A transcript is one reading of the audio; Whisper tiny.en misreads a word now and then
        ("store" as "story", "account" as "count"), and the match decision rightly refuses a
        question with another content word. So the recording is asked directly: Whisper is
        forced to read each stored question's words off it, and a question whose words it finds
        nearly as likely as its own transcript (:attr:`MediaPolicy.rehear_max_drop` nats in all,
        no token below :attr:`MediaPolicy.rehear_min_token`, a mean of at least
        :attr:`MediaPolicy.rehear_min_avg`: near a garbled transcript, which itself fits badly,
        the drop alone lets garbled words through) is what was said. Another
        question's words do not fit the sound ("Paris" read off "Berlin" scores a token near
        -13). A question that differs from the transcript in a number, a negation, an antonym or
        the roles of two words says another question unless the transcript misheard: then the
        transcript is its rival, and the stored words must fit the recording better than the
        transcript's own (tiny.en adds the sounds that flip a meaning as readily as it blurs
        them: "Does the hotel ..." heard as "does not the hotel ...", "six" as "sick").
        And a stored question must fit the recording better than each of its own opposites
        (:meth:`_beats_rivals`): tiny.en blurs the short sounds that flip a meaning ("down" in
        "downgrade", "not"), so a likelihood-ratio test against them is what tells them apart.
        Failures are None (a miss).
        """
        audio, heard = resolved.audio, resolved.transcript
        if not self.policy.rehear or audio is None or heard is None:
            return None
        options = []
        for candidate in candidates[:REHEAR_CANDIDATES]:
            said = _spoken_part(candidate, resolved.typed)
            if said is not None and said != heard and not self._reversible(said):
                options.append((candidate, said, _conflicts(heard, said)))
        if not options:
            return None
        try:
            fits = self.transcriber.fits(audio.data, [heard, *(o[1] for o in options)],
                                         audio.format)
        except Exception as exc:  # noqa: BLE001 - re-hearing must never break the call
            log.debug("cacheback: re-hearing failed: %r", exc)
            return None
        if not fits:
            return None
        own = fits[0]
        margin = self.policy.rehear_rival_margin
        passing = sorted(
            ((fit.logprob, candidate, said) for (candidate, said, conflict), fit
             in zip(options, fits[1:])
             if (fit.logprob - own.logprob > margin if conflict
                 else fit.logprob - own.logprob >= -self.policy.rehear_max_drop)
             and fit.worst >= self.policy.rehear_min_token and fit.average >= self.policy.rehear_min_avg),
            key=lambda t: -t[0])
        for logprob, candidate, said in passing:
            if self._beats_rivals(audio, said, logprob, self.policy.rehear_rival_margin):
                return candidate
        return None

    def recover(self, resolved: Resolved, candidates: Sequence[str]) -> str | None:
        """The stored question among ``candidates`` (nearest first, found by the unsure
        transcript) that this recording says, when its transcript was refused as unsure.

        The confidence gate refuses a transcript Whisper is not sure of (mean token log-probability
        below -0.7, or likely silence), and the meaning gate one that an opposite fits about as
        well ("Doesn't the hotel have parking?" for a recording that says "Does"); often the
        speech is clear enough and only the decoder's own reading wavered. The stored words are
        then held to both gates on this recording: forced through the decoder, their mean token
        log-probability must reach :attr:`MediaPolicy.recover_min_avg` (the confidence gate's
        bar, moved by how much lower forced fits average), no token below
        :attr:`MediaPolicy.rehear_min_token`, and they must out-fit each of their own opposites
        by :attr:`MediaPolicy.meaning_margin` nats (:meth:`_beats_rivals`); among several that
        pass, the best fitting. A stored question with a verb a prefix reverses is never
        recovered when those are refused.
        Only with :attr:`MediaPolicy.rehear` and :attr:`MediaPolicy.recover_unsure`; any failure
        is None (a miss). A recovered question is served, never stored again.
        """
        audio = resolved.audio
        if not (self.policy.rehear and self.policy.recover_unsure) or audio is None:
            return None
        options = []
        for candidate in candidates[:REHEAR_CANDIDATES]:
            said = _spoken_part(candidate, resolved.typed)
            if said is not None and not self._reversible(said):
                options.append((candidate, said))
        if not options:
            return None
        try:
            fits = self.transcriber.fits(audio.data, [o[1] for o in options], audio.format)
        except Exception as exc:  # noqa: BLE001 - re-hearing must never break the call
            log.debug("cacheback: recovering an unsure transcript failed: %r", exc)
            return None
        if not fits or len(fits) != len(options):
            return None
        passing = sorted(
            ((fit.average, fit.logprob, candidate, said) for (candidate, said), fit in zip(options, fits)
             if fit.average >= self.policy.recover_min_avg and fit.worst >= self.policy.rehear_min_token),
            key=lambda t: -t[0])
        margin = max(self.policy.meaning_margin, self.policy.rehear_rival_margin)
        for _, logprob, candidate, said in passing:
            if self._beats_rivals(audio, said, logprob, margin):
                return candidate
        return None

    @property
    def _recovering(self) -> bool:
        """Whether an unsure transcript is kept for :meth:`recover`."""
        return self.policy.rehear and self.policy.recover_unsure

    def _reversible(self, said: str) -> bool:
        """Whether ``said`` may not be a key for holding a verb a prefix reverses (a question
        stored before :attr:`MediaPolicy.refuse_reversible` was turned on is not re-heard)."""
        return self.policy.refuse_reversible and bool(reversible_words(said))

    def _beats_rivals(self, audio: AudioPart, said: str, logprob: float, margin: float) -> bool:
        """Whether ``said`` fits the recording better than each of its opposites
        (:func:`~cacheback.media._contrast.rivals`) by ``margin`` nats: the likelihood-ratio
        test that refuses "Can I upgrade my plan?" for a recording that says "downgrade", which fits the
        sound nearly as well as "upgrade" does."""
        others = rivals(said)
        if not others:
            return True
        try:
            fits = self.transcriber.fits(audio.data, others, audio.format)
        except Exception as exc:  # noqa: BLE001 - re-hearing must never break the call
            log.debug("cacheback: re-hearing failed: %r", exc)
            return False
        if not fits:
            return False
        return all(logprob - fit.logprob > margin for fit in fits)

    def meaning_gate(self, audio: AudioPart, said: str) -> str | None:
        """Why the transcript ``said`` is not sure of its meaning, or None when it may be a key.

        Whisper tiny.en drops and blurs the short sounds that flip a meaning: "How do I unmute my
        microphone?" is transcribed "how do I mute my microphone" in most voices, and then the
        mute answer is stored for it, or served. The text cannot show it, so the recording is
        asked: the transcript's words and each of its opposites
        (:func:`~cacheback.media._contrast.opposites`) are forced through the decoder on it, and
        the transcript is a key only when it out-fits every opposite by
        :attr:`MediaPolicy.meaning_margin` nats (:func:`~cacheback.media._contrast.meaning_sure`).
        A transcript without an opposite costs nothing. A transcriber that cannot score texts,
        or any failure, refuses (a miss, never a wrong hit). Decisions are memoised per
        recording and transcript.
        """
        if not self.policy.meaning_gate:
            return None
        try:
            others = opposites(said)
            if not others:
                return None
            key = (hashlib.sha256(audio.data).hexdigest(), said)
            if key in self._gate_memo:
                return self._gate_memo[key]
            self.gate_checked += 1
            fits = self.transcriber.fits(audio.data, [said, *others], audio.format)
            sure = bool(fits) and len(fits) == len(others) + 1 and meaning_sure(
                fits[0].logprob, [f.logprob for f in fits[1:]], self.policy.meaning_margin)
            reason = None if sure else (
                "transcript not sure of its meaning (an opposite fits the recording as well)"
                if fits else "transcript meaning not checked (the transcriber cannot score texts)")
        except Exception as exc:  # noqa: BLE001 - the gate must never break the call
            log.debug("cacheback: meaning gate failed: %r", exc)
            return "transcript meaning not checked (the gate failed)"
        self.gate_refused += reason is not None
        self._gate_memo[key] = reason
        if len(self._gate_memo) > 1024:
            self._gate_memo.pop(next(iter(self._gate_memo)))
        return reason

    def _image_ids(self, parts: MediaContent, namespace: str) -> list[str] | str:
        if not self.policy.images:
            return "image questions are not cached (MediaPolicy.images=False)"
        ids = []
        for image in parts.images:
            detail = image.detail or "auto"
            if image.data is None:
                digest = hashlib.sha256(str(image.url).encode("utf-8")).hexdigest()
                ids.append(f"url:{digest}:{detail}")
                continue
            try:
                ids.append(f"{self.registry.resolve(namespace, fingerprint(image.data))}:{detail}")
            except ImageDecodeError as exc:
                return f"image not keyed: {exc}"
        return ids

    def _transcripts(self, parts: MediaContent) -> Resolved:
        if not self.policy.voice:
            return Resolved(None, reason="voice questions are not cached (MediaPolicy.voice=False)")
        texts = []
        for audio in parts.audio:
            try:
                heard = self.transcriber.transcribe(audio.data, audio.format)
            except TranscriptionError as exc:
                return Resolved(None, reason=f"audio not transcribed: {exc}")
            except Exception as exc:  # noqa: BLE001 - a transcriber must never break the call
                log.warning("cacheback: transcriber failed: %r", exc)
                return Resolved(None, reason=f"audio not transcribed: {type(exc).__name__}")
            said = normalise_transcript(heard.text) if self.policy.normalise_transcripts else heard.text
            if not heard.usable(min_avg_logprob=self.policy.min_avg_logprob,
                                max_no_speech=self.policy.max_no_speech):
                return Resolved(None, reason=(
                    f"transcript not confident enough (avg log-prob {heard.avg_logprob:.2f}, "
                    f"no-speech {heard.no_speech_prob:.2f})"),
                    unsure=said or None if self._recovering else None)
            if not said:
                return Resolved(None, reason="the audio holds no words (only fillers or noise marks)")
            if self._reversible(said):
                return Resolved(None, reason=(
                    f"transcript holds {reversible_words(said)[0]!r}, whose meaning a prefix "
                    "reverses (tiny.en does not hear those prefixes reliably)"))
            unsure = self.meaning_gate(audio, said)
            if unsure is not None:
                return Resolved(None, reason=unsure, unsure=said if self._recovering else None)
            texts.append(said)
        return Resolved(" ".join(texts))


def _spoken_part(candidate: str, typed: str) -> str | None:
    """The transcript part of a stored voice question asked with the same typed text."""
    if not typed:
        return candidate
    return candidate[len(typed) + 1:] if candidate.startswith(typed + "\n") else None


def _conflicts(a: str, b: str) -> bool:
    """Whether two questions differ in a number, a negation, an antonym or a role swap."""
    pa, pb = profile(a), profile(b)
    return (pa.numbers != pb.numbers or pa.negations % 2 != pb.negations % 2
            or has_antonym(pa, pb) or has_role_swap(pa, pb))
