"""Voice and image questions: do re-spoken questions and re-encoded photos hit, and do different
ones never hit? Prints markdown tables (docs/media.md).

    python benchmarks/media_quality.py            # both
    python benchmarks/media_quality.py --images   # images only (no Whisper)
    python benchmarks/media_quality.py --voice --set held-out   # the reported voice figure

Needs the [voice] and [image] extras, espeak-ng, scikit-image and mate-backgrounds (the photos).
"""

from __future__ import annotations

import argparse
import base64
import itertools
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_common import markdown_table, percentiles_ms  # noqa: E402

from cacheback import SemanticCache  # noqa: E402
from cacheback._clients._media import reheard  # noqa: E402
from cacheback._clients._policy import Plan  # noqa: E402
from cacheback.media import (  # noqa: E402
    MAX_DISTANCE,
    ImageRegistry,
    MediaPolicy,
    MediaResolver,
    WhisperTranscriber,
    fingerprint,
)
from cacheback.media._image import hamming  # noqa: E402
from cacheback.testing._media import VOICES, image_variants, photo_paths, speak, to_bytes  # noqa: E402

#: Forty spoken questions, in near pairs where the answer differs (office city, parcel state...).
QUESTIONS = [
    "Where is the Berlin office?", "Where is the Paris office?",
    "My parcel is late, what should I do?", "My parcel is damaged, what should I do?",
    "How do I reset my password?", "How do I change my email address?",
    "Can I cancel my order?", "Can I return my order?",
    "What time does the store open on Sunday?", "What time does the store close on Sunday?",
    "How much does express shipping cost?", "How long does express shipping take?",
    "Is the blue jacket in stock?", "Is the red jacket in stock?",
    "How do I add a new card to my account?", "How do I remove a card from my account?",
    "What will the weather be like in London tomorrow?", "What is the weather like in Madrid today?",
    "Can I pay with PayPal?", "Can I pay in cash?",
    "How do I contact customer support?", "How do I close my account?",
    "Do you ship to Canada?", "Do you ship to Mexico?",
    "What is your refund policy?", "What is your privacy policy?",
    "How do I track my order?", "How do I update my delivery address?",
    "Is there a student discount?", "Is there a discount for pensioners?",
    "Why was my payment declined?", "Why was I charged twice?",
    "How many days do I have to return an item?", "How many items can I order at once?",
    "Can I change the size of my order?", "Can I change the colour of my order?",
    "What are your opening hours?", "How do I restart my router?",
    "Where can I find my invoice?", "Do you have gift cards?",
]


#: Held-out questions, written before the transcript normaliser and the decoding options were
#: tuned on :data:`QUESTIONS`, and never used to tune them: the reported figure is measured on
#: these, in voices and speeds :data:`QUESTIONS` were not spoken in. Near pairs again, with
#: number, negation, entity and antonym traps: every hit across a pair is a wrong answer.
HELD_OUT = [
    "Can I return an item after 14 days?", "Can I return an item after 30 days?",
    "Do you have a table for two people tonight?", "Do you have a table for six people tonight?",
    "Is there a charge for a second bag?", "Is there a charge for a third bag?",
    "Can I book a room for three nights?", "Can I book a room for five nights?",
    "What if my package was delivered?", "What if my package was not delivered?",
    "Is breakfast included in the price?", "Is breakfast not included in the price?",
    "How do I get to the Munich office?", "How do I get to the Vienna office?",
    "Do you have a store in Chicago?", "Do you have a store in Boston?",
    "Can I pay with Apple Pay?", "Can I pay with Google Pay?",
    "Is the train to Oxford delayed?", "Is the train to Cambridge delayed?",
    "What is the minimum order for free delivery?", "What is the maximum order for free delivery?",
    "How do I turn on two factor authentication?", "How do I turn off two factor authentication?",
    "When does the summer sale start?", "When does the summer sale end?",
    "Can I upgrade my plan?", "Can I downgrade my plan?",
    "How do I subscribe to the newsletter?", "How do I unsubscribe from the newsletter?",
    "Can I bring my dog on the flight?", "Can I bring my cat on the flight?",
    "How much is a ticket for an adult?", "How much is a ticket for a child?",
    "How do I print a shipping label?", "How do I print a return label?",
    "Does the hotel have parking?", "Does the hotel have a pool?",
    "Where is the nearest pharmacy?", "Where is the nearest bakery?",
    "Is the gym open at 6 am?", "Is the gym open at 9 am?",
    "Why did my delivery take three weeks?", "Why did my delivery take three days?",
]

#: The held-out voices and speeds: the first is stored, the others ask again. espeak-ng's
#: American and RP voices at speeds the tuning set did not use, a female variant, and Scottish.
HELD_OUT_VOICES = (("en-us", 145), ("en-gb-x-rp", 175), ("en-us+f3", 175), ("en-gb-scotland", 145),
                   ("en-gb-x-rp", 145))


#: A second held-out set, written on 4 Dec 2026 before the decoding and matching changes of that
#: day were tried and committed before them (never looked at while tuning): other domains, near
#: pairs again (number, negation, entity, antonym, a prefix that flips the meaning).
HELD_OUT_2 = [
    "How do I enable dark mode?", "How do I disable dark mode?",
    "Can I check in online?", "Can I check out online?",
    "Is the museum open on Monday?", "Is the museum open on Friday?",
    "How do I lock my card?", "How do I unlock my card?",
    "Do you deliver to Dublin?", "Do you deliver to Glasgow?",
    "What is the speed limit on the motorway?", "What is the speed limit in the city?",
    "Can I get a refund for a cancelled flight?", "Can I get a refund for a delayed flight?",
    "How do I import my contacts?", "How do I export my contacts?",
    "Is the soup vegetarian?", "Is the soup spicy?",
    "Do I need a visa for Japan?", "Do I need a visa for Brazil?",
    "How many seats are left on the bus?", "How many stops are left on the bus?",
    "Can I park here overnight?", "Can I camp here overnight?",
    "How do I increase the font size?", "How do I decrease the font size?",
    "Is the pool heated?", "Is the pool outdoors?",
    "What is the password for the guest network?", "What is the name of the guest network?",
    "Can I bring food into the stadium?", "Can I bring a bag into the stadium?",
    "When is the next bus to the airport?", "When is the last bus to the airport?",
    "Does the phone come with a charger?", "Does the phone come with a case?",
    "How long is the warranty on this laptop?", "How long is the battery life of this laptop?",
    "Can I add a second driver to the rental?", "Can I add a child seat to the rental?",
    "Is the lecture at four pm?", "Is the lecture at eight pm?",
    "Why is my screen flickering?", "Why is my screen frozen?",
]

#: Voices and speeds for :data:`HELD_OUT_2`: the first is stored. The US and RP voices at
#: speeds no other set used, New York and West Midlands accents.
HELD_OUT_2_VOICES = (("en-us", 155), ("en-gb-x-rp", 140), ("en-us-nyc", 150), ("en-gb-x-gbcwmd", 165))


#: A third held-out set, written on 5 Dec 2026 after both others had been looked at and before
#: re-hearing's decision was changed that day (committed before it): new questions in near
#: pairs (office city, parcel state, numbers, negations, antonyms, a prefix that flips the
#: meaning), never used to tune.
HELD_OUT_3 = [
    "Where is the Berlin office?", "Where is the Paris office?",
    "My parcel arrived late, can I get a refund?", "My parcel arrived damaged, can I get a refund?",
    "How do I reset my router?", "How do I update my router?",
    "Can I pay the invoice by bank transfer?", "Can I pay the invoice by credit card?",
    "Is the library open on Saturday?", "Is the library closed on Saturday?",
    "How do I connect my printer to the wifi?", "How do I connect my phone to the wifi?",
    "Can I reschedule my appointment?", "Can I cancel my appointment?",
    "How many bags can I check in?", "How many bags can I carry on?",
    "Is parking free for guests?", "Is parking included for guests?",
    "Do you sell tickets for children under five?", "Do you sell tickets for children under ten?",
    "When does the pharmacy open tomorrow?", "When does the pharmacy close tomorrow?",
    "Can I load money onto my card?", "Can I withdraw money from my card?",
    "Is the meeting room available this afternoon?", "Is the meeting room available this morning?",
    "How do I mute my microphone?", "How do I unmute my microphone?",
    "Can I bring my bike on the train?", "Can I bring my scooter on the train?",
    "Does the apartment have a balcony?", "Does the apartment have a garden?",
    "Is the water safe to drink?", "Is the water not safe to drink?",
    "What is the fee for a late payment?", "What is the fee for an early payment?",
    "How do I join the loyalty programme?", "How do I leave the loyalty programme?",
    "Can I swap my seat for a window seat?", "Can I swap my seat for an aisle seat?",
    "Does the course start in January?", "Does the course start in March?",
    "Where do I collect my luggage?", "Where do I drop off my luggage?",
]

#: Voices and speeds for :data:`HELD_OUT_3`, none used by another set: the first is stored.
#: espeak-ng's plain British voice, Lancaster, Caribbean, and the American voice's m3 variant.
HELD_OUT_3_VOICES = (("en-gb", 150), ("en-gb-x-gbclan", 160), ("en-029", 140), ("en-us+m3", 135))

#: A second tuning set, written on 5 December 2026 (the eleventh session) to choose re-decoding
#: of unsure recordings and the recovery bar without looking at any held-out set: new
#: questions in near pairs, in voice variants (female and male timbres of the espeak-ng accents)
#: and speeds no other set uses. Tuned on, so never a reported held-out figure.
TUNING_2 = [
    "How do I book a taxi to the station?", "How do I book a taxi to the airport?",
    "Is the swimming pool open today?", "Is the swimming pool open tomorrow?",
    "Can I change my flight to Tuesday?", "Can I change my flight to Thursday?",
    "How much is a coffee?", "How much is a sandwich?",
    "Where can I charge my phone?", "Where can I charge my car?",
    "Do you have vegan options?", "Do you have gluten free options?",
    "What time is check out?", "What time is breakfast?",
    "Can I order a pizza for delivery?", "Can I order a pizza for collection?",
    "How many people fit in the van?", "How many bags fit in the van?",
    "Is the concert sold out?", "Is the concert outdoors?",
    "How do I report a lost wallet?", "How do I report a stolen wallet?",
    "Does the room have air conditioning?", "Does the room have a kettle?",
    "When is the next train to Leeds?", "When is the next train to York?",
    "Can I extend my stay by one night?", "Can I extend my stay by two nights?",
    "What is the wifi password?", "What is the door code?",
    "How do I renew my passport?", "How do I renew my licence?",
    "Is the beach safe for swimming?", "Is the beach good for surfing?",
    "Can I leave my bags at reception?", "Can I leave my car at reception?",
    "How far is the city centre?", "How far is the train station?",
    "Who do I call about a leak?", "Who do I call about a power cut?",
]

#: Voices and speeds for :data:`TUNING_2`: the first is stored. Voice variants no other set uses.
TUNING_2_VOICES = (("en-us+f4", 155), ("en-gb-x-rp+f2", 150), ("en-gb-scotland+m2", 160),
                   ("en-gb-x-gbcwmd+m4", 145), ("en-us-nyc+m5", 170))


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def _content(wav: bytes) -> list[dict[str, object]]:
    return [{"type": "input_audio",
             "input_audio": {"data": base64.b64encode(wav).decode(), "format": "wav"}}]


#: What is compared: the normalised transcript with the meaning gate, without and with reversible
#: verbs refused (the default), and the same with re-hearing (opt-in).
_SETUPS = {
    "meaning gate only (before)": {"refuse_reversible": False},
    "meaning gate + reversible refused (default)": {},
    "re-heard + meaning gate (before)": {"rehear": True, "refuse_reversible": False,
                                         "recover_unsure": False},
    "re-heard + reversible refused": {"rehear": True, "recover_unsure": False},
    "re-heard + reversible refused + unsure recovered (opt-in)": {"rehear": True},
}

class _Asker:
    """Spoken questions through the clients' voice path: resolve (transcribe, normalise), re-hear
    when the match decision refuses, then the cache's lookup."""

    def __init__(self, cache: SemanticCache, transcriber: WhisperTranscriber, **policy: bool) -> None:
        self.cache = cache
        self.resolver = MediaResolver(MediaPolicy(transcriber=transcriber, **policy))
        self.resolved = 0
        self.recovered = 0

    def store(self, wav: bytes, answer: str, namespace: str) -> bool:
        key = self.resolver.resolve(_content(wav), namespace)
        self.resolved += 1
        if key.text is not None:
            self.cache.put(key.text, answer, namespace=namespace, scope=key.scope)
        return key.text is not None

    def ask(self, wav: bytes, namespace: str) -> tuple[str | None, str | None, bool]:
        """(the answer served or None, the text heard or None when gated, whether re-heard)."""
        key = self.resolver.resolve(_content(wav), namespace)
        self.resolved += 1
        text = key.text if key.text is not None else key.unsure
        if text is None:
            return None, None, False
        plan = reheard(self.cache, self.resolver, key, Plan(text, key.scope), namespace)
        if plan.query is None:  # an unsure transcript not recovered
            return None, None, False
        hit = self.cache.get(str(plan.query), namespace=namespace, scope=key.scope)
        if key.text is None:
            self.recovered += hit is not None
        return (hit.response if hit else None), text, plan.query != key.text


Clips = dict[tuple[int, int], bytes]
Asked = tuple[int, int, "str | None", "str | None", bool]


def own_asks(asker: _Asker, clips: Clips, questions: int, voices: int) -> Iterator[Asked]:
    """Every question stored in the first voice (namespace "all"), then asked in each other
    voice: (question, voice, served, heard, re-heard) per ask; its own answer is right."""
    for qi in range(questions):
        asker.store(clips[qi, 0], f"answer {qi}", "all")
    for qi in range(questions):
        for vi in range(1, voices):
            yield (qi, vi, *asker.ask(clips[qi, vi], "all"))


def near_asks(asker: _Asker, clips: Clips, questions: int, voices: int) -> Iterator[Asked]:
    """For each near pair, one question stored (the first, then the second, in namespaces of
    their own) and the other asked in every voice: any answer served is wrong."""
    for first in (0, 1):
        namespace = f"pairs{first}"
        for qi in range(first, questions, 2):
            asker.store(clips[qi, 0], f"answer {qi}", namespace)
        for qi in range(1 - first, questions, 2):
            for vi in range(voices):
                yield (qi, vi, *asker.ask(clips[qi, vi], namespace))


def voice_set(label: str, questions: list[str], voices: tuple[tuple[str, int], ...],
              verbose: bool, setups: tuple[str, ...] = ()) -> None:
    """One question set: every question stored in the first voice and asked in the others
    (own answer or not), then each near pair's one question stored and the other asked in every
    voice (every hit is wrong), for each setup."""
    transcriber = WhisperTranscriber(memo=len(questions) * len(voices) + 8)
    transcriber.load()
    clips = {(qi, vi): speak(q, *v) for qi, q in enumerate(questions) for vi, v in enumerate(voices)}
    times, exact = [], 0
    for (qi, _), wav in clips.items():
        t0 = time.perf_counter()
        heard = transcriber.transcribe(wav, "wav")
        times.append(time.perf_counter() - t0)
        exact += _words(heard.text) == _words(questions[qi])
    print(f"\n### {label}: {len(questions)} questions x {len(voices)} voice/speeds "
          f"({', '.join(f'{v} {s}' for v, s in voices)}); first voice stored")
    print(f"transcription per clip: p50 {np.median(times) * 1e3:.0f} ms, "
          f"p90 {np.percentile(times, 90) * 1e3:.0f} ms; word-exact transcripts {exact}/{len(clips)}")
    table = []
    for setup, policy in _SETUPS.items():
        if setups and not any(word in setup for word in setups):
            continue
        with SemanticCache(":memory:") as cache:
            asker = _Asker(cache, transcriber, **policy)
            own = wrong = missed = gated = reheard_hits = 0
            for qi, vi, served, text, again in own_asks(asker, clips, len(questions), len(voices)):
                gated += text is None
                missed += text is not None and served is None
                own += served == f"answer {qi}"
                reheard_hits += again and served == f"answer {qi}"
                if served not in (None, f"answer {qi}"):
                    wrong += 1
                    print(f"  WRONG [{setup}] {questions[qi]!r} heard as {text!r} served {served}")
                elif verbose and served is None and setup.endswith("(opt-in)"):
                    print(f"  miss {voices[vi]} {questions[qi]!r} heard as {text!r}")
            asked = len(questions) * (len(voices) - 1)
            recovered = asker.recovered
            near_wrong = near_asked = 0
            for qi, _, served, text, _ in near_asks(asker, clips, len(questions), len(voices)):
                near_asked += 1
                if served is not None:
                    near_wrong += 1
                    print(f"  NEAR WRONG [{setup}] {questions[qi]!r} heard as {text!r} "
                          f"served {served}")
            checked = asker.resolver.gate_checked
            table.append([setup, asked, own, f"{own / asked:.3f}", reheard_hits, recovered, wrong,
                          missed, gated, near_asked, near_wrong,
                          f"{checked}/{asker.resolver.gate_refused}" if policy.get("meaning_gate", True)
                          else "-"])
    print(markdown_table(["setup", "re-asked", "own answer", "own-hit rate", "of which re-heard",
                          "of which recovered (unsure)", "wrong answer", "miss", "gated",
                          "near questions asked",
                          "near questions served", "gate re-heard/refused (distinct clips)"], table))


def _char_grams(text: str, n: int = 3) -> set[str]:
    padded = f" {' '.join(_words(text))} "
    return {padded[i:i + n] for i in range(len(padded) - n + 1)}


def voice_diagnose(label: str, questions: list[str], voices: tuple[tuple[str, int], ...]) -> None:
    """Why each re-spoken question the re-heard setup does not serve its own answer misses:
    (d) gated by the transcript confidence gate; (a) its stored question is not among the
    candidates re-hearing scores (its rank by embedding cosine, and by character trigrams, is
    printed); (b) re-heard but refused by the text check (number, negation, antonym, roles) or
    the likelihood bounds (drop in all, worst token); (c) refused by the opposites test. For
    (a) the same tests are run as if it had been a candidate, to show what retrieval would win."""
    from cacheback.media._contrast import rivals
    from cacheback.media._resolve import REHEAR_CANDIDATES, _conflicts

    transcriber = WhisperTranscriber(memo=len(questions) * len(voices) + 8)
    transcriber.load()
    policy = MediaPolicy(transcriber=transcriber, rehear=True)
    counts: dict[str, int] = {}
    with SemanticCache(":memory:") as cache:
        asker = _Asker(cache, transcriber, rehear=True)
        stored = {}
        for qi, q in enumerate(questions):
            wav = speak(q, *voices[0])
            key = asker.resolver.resolve(_content(wav), "all")
            if key.text is not None:
                cache.put(key.text, f"answer {qi}", namespace="all", scope=key.scope)
                stored[qi] = key.text
        grams = {qi: _char_grams(t) for qi, t in stored.items()}
        for qi, q in enumerate(questions):
            for vi in range(1, len(voices)):
                wav = speak(q, *voices[vi])
                served, text, _ = asker.ask(wav, "all")
                if served == f"answer {qi}":
                    continue
                if qi not in stored:
                    cls, note = "e: not stored (gated when stored)", ""
                elif text is None:
                    heard = transcriber.transcribe(wav, "wav")
                    cls = "d: gated"
                    note = (f"logprob {heard.avg_logprob:.2f} no-speech {heard.no_speech_prob:.2f} "
                            f"{heard.text!r}")
                else:
                    key = asker.resolver.resolve(_content(wav), "all")
                    cands = cache.candidates(text, namespace="all", scope=key.scope, k=40)
                    rank = next((i for i, c in enumerate(cands) if c.query == stored[qi]), 99)
                    g = _char_grams(text)
                    jac = sorted(((len(g & s) / len(g | s), j) for j, s in grams.items()), reverse=True)
                    grank = next(i for i, (_, j) in enumerate(jac) if j == qi)
                    said = stored[qi]
                    if _conflicts(text, said):
                        why = "text check"
                    else:
                        own, fit = transcriber.fits(wav, [text, said], "wav")
                        drop = fit.logprob - own.logprob
                        if drop < -policy.rehear_max_drop:
                            why = f"drop {drop:.1f}"
                        elif fit.worst < policy.rehear_min_token:
                            why = f"worst token {fit.worst:.1f} (drop {drop:.1f})"
                        else:
                            others = rivals(said)
                            rf = transcriber.fits(wav, others, "wav") if others else []
                            lost = [(o, fit.logprob - f.logprob) for o, f in zip(others, rf)
                                    if fit.logprob - f.logprob <= policy.rehear_rival_margin]
                            why = f"opposites {lost}" if lost else f"would pass (drop {drop:.1f})"
                    if rank >= REHEAR_CANDIDATES:
                        cls = "a: not a candidate"
                    elif why.startswith("opposites"):
                        cls = "c: opposites test"
                    elif why == "text check":
                        cls = "b: text check"
                    else:
                        cls = "b: likelihood bounds"
                    note = (f"cos rank {rank + 1} trigram rank {grank + 1}; {why}; "
                            f"heard {text!r} stored {said!r}")
                counts[cls] = counts.get(cls, 0) + 1
                print(f"  [{cls}] {voices[vi][0]} {voices[vi][1]} {q!r}: {note}")
    print(f"\n{label}: misses of the re-heard setup by class")
    print(markdown_table(["class", "misses"], sorted(counts.items())))


def voice_cost(questions: list[str]) -> None:
    """What a voice lookup costs end to end, the transcription new each time, by default and
    with re-hearing on (the refused ones pay for it too): a hit (transcribe, normalise, embed,
    match; re-hear when refused), every lookup, and the re-hearing of two texts alone."""
    transcriber = WhisperTranscriber(memo=2)
    transcriber.load()
    stored = [speak(question, "en-us", 150) for question in questions]
    asked = [speak(question, "en-gb-x-rp", 150) for question in questions]
    for setup, policy in (("default, no meaning gate", {"meaning_gate": False}),
                          ("default (meaning gate)", {}), ("re-heard + meaning gate", {"rehear": True})):
        hit_times, all_times, fit_times = [], [], []
        with SemanticCache(":memory:") as cache:
            asker = _Asker(cache, transcriber, **policy)
            for qi, wav in enumerate(stored):
                asker.store(wav, f"answer {qi}", "cost")
            for qi, (question, wav) in enumerate(zip(questions, asked)):
                transcriber._memo.clear()  # a new recording for the transcriber
                transcriber._encoded.clear()
                t0 = time.perf_counter()
                served, text, _ = asker.ask(wav, "cost")
                all_times.append(time.perf_counter() - t0)
                if served == f"answer {qi}":
                    hit_times.append(all_times[-1])
                if text is not None and policy.get("rehear"):
                    t0 = time.perf_counter()
                    transcriber.fits(wav, [text, question], "wav")
                    fit_times.append(time.perf_counter() - t0)
        p50, p99, _ = percentiles_ms(hit_times)
        a50, a99, _ = percentiles_ms(all_times)
        fits = f"; re-hearing two texts on an encoded clip: p50 {np.median(fit_times) * 1e3:.0f} ms" \
            if fit_times else ""
        gate = (f"; the meaning gate re-heard {asker.resolver.gate_checked} of "
                f"{asker.resolved} transcripts, refused {asker.resolver.gate_refused}")
        print(f"\nvoice lookup end to end, {setup}: {len(hit_times)} hits of {len(questions)}, "
              f"hit p50 {p50:.0f} ms, p99 {p99:.0f} ms; every lookup p50 {a50:.0f} ms, "
              f"p99 {a99:.0f} ms{fits}{gate}")


_SETS = {
    "tuning": ("tuning set (QUESTIONS)", QUESTIONS, VOICES),
    "held-out": ("held-out set (HELD_OUT)", HELD_OUT, HELD_OUT_VOICES),
    "held-out-2": ("second held-out set (HELD_OUT_2)", HELD_OUT_2, HELD_OUT_2_VOICES),
    "held-out-3": ("third held-out set (HELD_OUT_3)", HELD_OUT_3, HELD_OUT_3_VOICES),
    "tuning-2": ("second tuning set (TUNING_2)", TUNING_2, TUNING_2_VOICES),
}


def voice(sets: str, verbose: bool, cost: bool = True, setups: tuple[str, ...] = ()) -> None:
    if sets in ("all", "tuning"):
        voice_set("tuning set (QUESTIONS)", QUESTIONS, VOICES, verbose, setups)
    if sets in ("all", "held-out"):
        voice_set("held-out set (HELD_OUT)", HELD_OUT, HELD_OUT_VOICES, verbose, setups)
    if sets == "held-out-questions":
        voice_set("held-out questions in the tuning voices", HELD_OUT, VOICES, verbose, setups)
    if sets in ("held-out-2", "held-out-3", "tuning-2"):
        voice_set(*_SETS[sets], verbose, setups)
    if cost:
        voice_cost(QUESTIONS[:12])


def images() -> None:
    paths = photo_paths()
    originals = [p.read_bytes() for p in paths]
    registry = ImageRegistry(None)
    t0 = time.perf_counter()
    prints = [fingerprint(d) for d in originals]
    per_image = (time.perf_counter() - t0) / len(originals)
    ids = [registry.resolve("n", f) for f in prints]
    distinct_ids = len(set(ids))
    table, worst = [], {}
    hits = total = false = 0
    for i, data in enumerate(originals):
        for name, variant in image_variants(data, seed=i).items():
            fp = fingerprint(variant)
            found = registry.find("n", fp)
            total += 1
            d = int(np.min(hamming(fp.full, np.stack([prints[i].full, *prints[i].crops]))))
            worst[name] = max(worst.get(name, 0), d)
            if found == ids[i]:
                hits += 1
            elif found is not None:
                false += 1
        table = []
    for name in ("jpeg_q40", "resized_50pct", "cropped_5pct", "png"):
        table.append([name, worst[name]])
    pair_d = [int(hamming(prints[i].full, np.stack([prints[j].full, *prints[j].crops])).min())
              for i, j in itertools.permutations(range(len(prints)), 2)]
    print(f"\n{len(paths)} photos (scikit-image data + mate-backgrounds), 4 variants each; "
          f"threshold {MAX_DISTANCE} of 255 bits")
    print(markdown_table(["variant", "largest distance to its original"], table))
    print(f"\nvariants served their own photo's id: {hits}/{total} ({hits / total:.3f}); "
          f"another photo's id: {false}")
    print(f"distinct photos with distinct ids: {distinct_ids}/{len(paths)}; closest two different "
          f"photos: {min(pair_d)} bits (then {sorted(pair_d)[2]})")
    big = max(originals, key=len)
    small = to_bytes(__import__("PIL.Image", fromlist=["Image"]).open(
        __import__("io").BytesIO(originals[0])).convert("RGB"), "JPEG", quality=90)
    for label, data in (("largest photo", big), ("512 x 512 JPEG", small)):
        t = []
        for _ in range(20):
            t0 = time.perf_counter()
            fingerprint(data)
            t.append(time.perf_counter() - t0)
        p50, p99, _ = percentiles_ms(t)
        print(f"fingerprint time, {label} ({len(data) // 1024} KB): p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    print(f"mean fingerprint time over the {len(paths)} originals: {per_image * 1e3:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", action="store_true", help="images only")
    parser.add_argument("--voice", action="store_true", help="voice only")
    parser.add_argument("--set", choices=("all", "tuning", "held-out", "held-out-questions", "held-out-2",
                                          "held-out-3", "tuning-2", "none"),
                        default="all", help="which spoken question set (default: tuning and "
                        "held-out; held-out-questions: the held-out questions in the tuning voices; "
                        "none: only the end-to-end cost)")
    parser.add_argument("--no-cost", action="store_true", help="skip the end-to-end cost")
    parser.add_argument("--diagnose", action="store_true",
                        help="classify each miss of the re-heard setup on --set (not all)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each voice miss")
    parser.add_argument("--setups", nargs="+", default=(), metavar="WORD",
                        help="run only the setups whose name holds one of these words "
                        "(e.g. default recovered)")
    args = parser.parse_args()
    if args.diagnose:
        voice_diagnose(*_SETS[args.set])
        return
    if not args.voice:
        images()
    if not args.images:
        voice(args.set, args.verbose, cost=not args.no_cost, setups=tuple(args.setups))


if __name__ == "__main__":
    main()
