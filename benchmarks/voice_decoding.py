"""How Whisper tiny.en reads the spoken question sets: the measurements behind the voice path's
decoding choices and bars (docs/media.md, "Eleventh session"). Prints markdown tables.

    python benchmarks/voice_decoding.py calibrate --set tuning   # forced fit vs the beam's average
    python benchmarks/voice_decoding.py decodes --set tuning-2   # other decodings, unsure clips
    python benchmarks/voice_decoding.py rehear --set tuning-2    # re-heard hits' forced averages

``calibrate``: for every clip, the beam's mean token log-probability against the same words
forced through the decoder (``WhisperTranscriber.fits``, written as stored questions are: a
capital and "?"), and the forced fit of the question's true words: where the recovery bar on
forced fits sits against the confidence gate's -0.7 on the beam.
``decodes``: each clip decoded as shipped (0.5 s padding, beam 5) and in other ways (padding
0.25 / 1.0 / 1.5 s, beam 10, an initial prompt, no length penalty): how many transcripts are
usable and word for word, and what re-decoding only the clips the gate refuses would give.
``rehear``: the re-heard setup of ``media_quality.py`` (own answers and near pairs) with the
mean-per-token bar off; every re-heard hit with its stored words' forced average, right or wrong:
where ``rehear_min_avg`` sits.

Tuning sets only (``tuning``, ``tuning-2``): the held-out sets are never used to choose these.
Needs the [voice] extra and espeak-ng.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_common import markdown_table  # noqa: E402
from media_quality import QUESTIONS, TUNING_2, TUNING_2_VOICES  # noqa: E402

from cacheback.media import WhisperTranscriber  # noqa: E402
from cacheback.media._transcript import normalise_transcript  # noqa: E402
from cacheback.media._voice import MAX_NO_SPEECH, MIN_AVG_LOGPROB, PAD_SECONDS, Transcript, _combine  # noqa: E402
from cacheback.testing._media import VOICES, speak  # noqa: E402

_SETS = {"tuning": (QUESTIONS, VOICES), "tuning-2": (TUNING_2, TUNING_2_VOICES)}
_RATE = 16000

#: The decodings compared: padding in seconds and faster-whisper's transcribe options.
DECODES: dict[str, dict[str, Any]] = {
    "shipped (pad 0.5 s, beam 5)": {"pad": PAD_SECONDS},
    "pad 0.25 s": {"pad": 0.25},
    "pad 1.0 s": {"pad": 1.0},
    "pad 1.5 s": {"pad": 1.5},
    "beam 10": {"pad": PAD_SECONDS, "beam_size": 10},
    "prompt 'A question:'": {"pad": PAD_SECONDS, "initial_prompt": "A question:"},
    "no length penalty": {"pad": PAD_SECONDS, "length_penalty": 0.0},
}


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", normalise_transcript(text).lower())


def _usable(t: Transcript) -> bool:
    return t.usable(min_avg_logprob=MIN_AVG_LOGPROB, max_no_speech=MAX_NO_SPEECH)


#: Only the first this many questions of a set (``--limit``), for a quick look.
_LIMIT: int | None = None


def _clips(name: str) -> list[tuple[str, bytes]]:
    questions, voices = _SETS[name]
    return [(q, speak(q, *v)) for q in questions[:_LIMIT] for v in voices]


def calibrate(name: str) -> None:
    transcriber = WhisperTranscriber(memo=4)
    transcriber.load()
    beam, own, right, right_exact = [], [], [], []
    for question, wav in _clips(name):
        heard = transcriber.transcribe(wav, "wav")
        said = normalise_transcript(heard.text) or "-"
        fit_own, fit_right = transcriber.fits(wav, [said, normalise_transcript(question)], "wav")
        beam.append(heard.avg_logprob)
        own.append(fit_own.average)
        right.append(fit_right.average)
        if _words(heard.text) == _words(question):
            right_exact.append(fit_right.average)
    diff = np.asarray(own) - np.asarray(beam)
    finite = np.isfinite(diff)
    print(f"\n### {name}: {len(beam)} clips, {len(right_exact)} transcribed word for word")
    print(markdown_table(["measure", "mean", "p10", "p50", "p90", "min"], [
        ["forced fit of the transcript's own words - beam average", f"{diff[finite].mean():.3f}",
         *(f"{v:.3f}" for v in np.percentile(diff[finite], [10, 50, 90])), f"{diff[finite].min():.3f}"],
        ["forced fit of the true words, word-exact clips", f"{np.mean(right_exact):.3f}",
         *(f"{v:.3f}" for v in np.percentile(right_exact, [10, 50, 90])), f"{np.min(right_exact):.3f}"],
    ]))


def decodes(name: str) -> None:
    from faster_whisper import decode_audio

    transcriber = WhisperTranscriber(memo=4)
    transcriber.load()
    model = transcriber._model
    results: dict[str, list[tuple[Transcript, bool]]] = {label: [] for label in DECODES}
    for question, wav in _clips(name):
        raw = decode_audio(io.BytesIO(wav), sampling_rate=_RATE).astype(np.float32)
        for label, options in DECODES.items():
            options = dict(options)
            pad = np.zeros(int(options.pop("pad") * _RATE), np.float32)
            segments, info = model.transcribe(
                np.concatenate([pad, raw, pad]), **{
                    "language": "en", "beam_size": 5, "temperature": 0.0,
                    "condition_on_previous_text": False, "without_timestamps": True,
                    "vad_filter": False, **options})
            heard = _combine(list(segments), float(info.duration))
            results[label].append((heard, _words(heard.text) == _words(question)))
    shipped = next(iter(DECODES))
    gated = [i for i, (t, _) in enumerate(results[shipped]) if not _usable(t)]
    rows = []
    for label, got in results.items():
        usable = sum(_usable(t) for t, _ in got)
        exact = sum(e for _, e in got)
        sure_exact = sum(_usable(t) and e for t, e in got)
        redone = [got[i] for i in gated] if label != shipped else []
        rows.append([label, usable, exact, sure_exact, usable - sure_exact,
                     sum(_usable(t) and e for t, e in redone) if redone else "-",
                     sum(_usable(t) and not e for t, e in redone) if redone else "-",
                     f"{np.median([t.no_speech_prob for t, _ in got]):.2f}"])
    print(f"\n### {name}: {len(results[shipped])} clips, {len(gated)} refused by the gate as shipped")
    print(markdown_table(["decoding", "usable", "word-exact", "usable and word-exact",
                          "usable and not word-exact", "gated clips re-decoded: usable, exact",
                          "gated clips re-decoded: usable, not exact", "no-speech p50"], rows))


def rehear(name: str) -> None:
    import math

    import media_quality

    from cacheback import SemanticCache
    from cacheback.media import MediaResolver
    from cacheback.media._resolve import _spoken_part

    questions, voices = _SETS[name]
    questions = questions[:_LIMIT]
    transcriber = WhisperTranscriber(memo=len(questions) * len(voices) + 8)
    transcriber.load()
    logged: list[list[Any]] = []
    original = MediaResolver.rehear

    def logging_rehear(self: MediaResolver, resolved: Any, candidates: Any) -> str | None:
        got = original(self, resolved, candidates)
        if got is not None:
            said = _spoken_part(got, resolved.typed)
            (fit,) = transcriber.fits(resolved.audio.data, [said], "wav")
            logged.append([resolved.transcript, said, fit.average, fit.worst])
        return got

    MediaResolver.rehear = logging_rehear  # type: ignore[method-assign]
    clips = {(qi, vi): speak(q, *v) for qi, q in enumerate(questions) for vi, v in enumerate(voices)}
    rows = []
    with SemanticCache(":memory:") as cache:
        asker = media_quality._Asker(cache, transcriber, rehear=True, rehear_min_avg=-math.inf)
        for kind, asks in (("own", media_quality.own_asks), ("near", media_quality.near_asks)):
            before = len(logged)
            for qi, _, served, _, _ in asks(asker, clips, len(questions), len(voices)):
                if len(logged) > before:
                    rows.append([kind, served == f"answer {qi}", *logged[-1]])
                    before = len(logged)
    MediaResolver.rehear = original  # type: ignore[method-assign]
    rows.sort(key=lambda r: r[4])
    print(f"\n### {name}: every re-heard hit, the mean-per-token bar off (lowest first)")
    print(markdown_table(["asked", "right", "heard", "stored", "forced mean", "worst token"],
                         [[k, r, h, s_, f"{a:.2f}", f"{w:.2f}"] for k, r, h, s_, a, w in rows]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("calibrate", "decodes", "rehear"))
    parser.add_argument("--set", choices=tuple(_SETS), default="tuning")
    parser.add_argument("--limit", type=int, help="only the first N questions")
    args = parser.parse_args()
    global _LIMIT
    _LIMIT = args.limit
    {"calibrate": calibrate, "decodes": decodes, "rehear": rehear}[args.what](args.set)


if __name__ == "__main__":
    main()
