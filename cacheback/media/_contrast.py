"""What a stored question would say if it meant the opposite: the rivals re-hearing tests it against.

Re-hearing asks whether a recording also says a stored question. Whisper tiny.en blurs short
sounds that flip a meaning ("downgrade" read as "upgrade", "not included" heard as "hot
included"), so a stored question can fit a recording nearly as well as its transcript while
saying the opposite. The remedy is a likelihood-ratio test against the question's own
opposites: the stored words must fit the recording better than every one of these rivals, each
the stored question with one meaning flipped — a negation added or removed, a word swapped for
its opposite ("open" / "close", "upgrade" / "downgrade", "unlock" / "lock"). When the audio says
"downgrade", "Can I downgrade my plan?" fits it better than "Can I upgrade my plan?" does, and the
stored question is refused. Pure and fast; the text is a normalised transcript (lower case words).
"""

from __future__ import annotations

import functools
import math

from ..match._words import (
    ANTONYM_PAIRS,
    ANTONYM_PREFIXES,
    FALSE_ANTONYMS,
    NEGATIONS,
    QUESTION_WORDS,
    STOPWORDS,
)

__all__ = ["MAX_RIVALS", "REVERSED_PAIRS", "REVERSIBLE_VERBS", "meaning_sure", "opposites",
           "reversible_words", "rivals"]

#: At most this many rivals per stored question (each costs one alignment pass).
MAX_RIVALS = 12
#: Words after which "not" negates a question ("is breakfast not included", "can I not pay").
_AUXILIARIES = frozenset(
    "is are was were am do does did can could will would should shall may might must has have had"
    .split())
#: Words that begin compounds whose opposite begins with the other word ("upgrade" / "downgrade").
_PARTICLES = ("up", "down", "over", "under")
#: How many places after the first auxiliary "not" is tried at.
_NOT_PLACES = 4
_MIN_STEM = 4
#: Prefixes that reverse a verb when added ("lock" -> "unlock", "mute" -> "unmute", "able" ->
#: "disable"): tiny.en drops them as readily as it blurs "down" in "downgrade".
_REVERSING_PREFIXES = ("un", "dis")
#: Words after which a question's verb comes ("how do I *lock*", "how to *mute*"): only the
#: word after one of these gets a reversing prefix added.
_VERB_HEADS = frozenset("i you we they to".split())


#: Verbs that a prefix reverses into another real verb ("mute" / "unmute", "enable" /
#: "disable", "activate" / "deactivate"), by prefix: the actions people ask an assistant to do
#: and undo (settings, accounts, devices, subscriptions). A general English list, not chosen
#: from any recording: tiny.en drops and adds these prefixes unreliably, and the recording's
#: own evidence does not separate them (docs/media.md, "Reversing prefixes").
REVERSIBLE_VERBS: dict[str, frozenset[str]] = {
    "un": frozenset("""mute lock block follow friend install subscribe link pair pack load
        plug tag archive hide freeze mount register select zip publish delete flag bookmark
        wrap dock ban""".split()),
    "dis": frozenset("""connect agree approve allow continue assemble trust qualify
        mount appear embark""".split()),
    "de": frozenset("activate register select authorize compress".split()),
}
#: Reversals whose two words share a stem rather than one being the other plus a prefix.
REVERSED_PAIRS = (("enable", "disable"),)


def _inflections(stem: str) -> set[str]:
    """``stem`` and its regular inflections ("mute" -> "mutes", "muted", "muting"; "pin" ->
    "pinned", "pinning"): over-generating is harmless, every form stays tied to its stem."""
    base = stem[:-1] if stem.endswith("e") else stem
    forms = {stem, stem + "s", stem + "es", base + "ed", base + "ing", stem + "ing", stem + "d"}
    if len(stem) >= 3 and stem[-1] not in "aeiouwxy" and stem[-2] in "aeiou" and stem[-3] not in "aeiou":
        forms |= {stem + stem[-1] + "ed", stem + stem[-1] + "ing"}
    return forms


@functools.lru_cache(maxsize=1)
def _reversible_forms() -> frozenset[str]:
    forms: set[str] = set()
    for prefix, stems in REVERSIBLE_VERBS.items():
        for stem in stems:
            for form in _inflections(stem):
                forms |= {form, prefix + form}
    for pair in REVERSED_PAIRS:
        for word in pair:
            forms |= _inflections(word)
    return frozenset(forms)


def reversible_words(text: str) -> list[str]:
    """The words of ``text`` whose meaning a reversing prefix flips, with it or without it
    ("mute", "unmuted", "disable", "locking"): a transcript holding one is not trusted as a
    voice key by default (:attr:`~cacheback.media.MediaPolicy.refuse_reversible`)."""
    forms = _reversible_forms()
    return [w for w in text.lower().split() if w.strip(".,!?;:'\"") in forms]


@functools.lru_cache(maxsize=1)
def _opposite_words() -> dict[str, tuple[str, ...]]:
    table: dict[str, set[str]] = {}
    for a, b in ANTONYM_PAIRS:
        table.setdefault(a, set()).add(b)
        table.setdefault(b, set()).add(a)
    return {word: tuple(sorted(others)) for word, others in table.items()}


def _opposites(word: str) -> list[str]:
    """Words meaning the opposite of ``word``: its antonyms, the compound with the other particle
    ("upgrade" -> "downgrade"), and the word without a negating prefix ("unlock" -> "lock")."""
    lower = word.lower()
    pairs = _opposite_words()
    out = list(pairs.get(lower, ()))
    if any(lower.startswith(false) for false in FALSE_ANTONYMS):
        return out
    for particle in _PARTICLES:
        rest = lower[len(particle):]
        if lower.startswith(particle) and len(rest) >= _MIN_STEM:
            out += [other + rest for other in pairs.get(particle, ()) if other in _PARTICLES]
    for prefix in ANTONYM_PREFIXES:
        rest = lower[len(prefix):]
        if lower.startswith(prefix) and len(rest) >= _MIN_STEM:
            out.append(rest)
    return [w for w in dict.fromkeys(out) if w != lower]


def _reversed_verb(word: str) -> list[str]:
    """``word`` with each reversing prefix added, when it can be a verb that takes one."""
    if (len(word) < _MIN_STEM or not word.isalpha() or not word.islower() or word in STOPWORDS
            or word in QUESTION_WORDS or word.startswith(_REVERSING_PREFIXES)):
        return []
    return [p + word for p in _REVERSING_PREFIXES if p + word not in FALSE_ANTONYMS]


def opposites(text: str) -> list[str]:
    """``text`` with one word swapped for its opposite (an antonym, the other particle, a
    reversing prefix removed, or "un" / "dis" added to the verb after a subject) or one negation
    removed: the rivals the meaning gate re-hears every voice transcript against
    (``MediaResolver``), without the "not" insertions, which nearly every question would get and
    which would put alignment passes on every request."""
    return rivals(text, add_not=False)


def rivals(text: str, *, add_not: bool = True) -> list[str]:
    """``text`` with one meaning flipped, each way this module knows (at most :data:`MAX_RIVALS`):
    each word swapped for each of its opposites (the verb after a subject also with "un" / "dis"
    added: "how do I lock" -> "how do I unlock"), then a negation removed, or "not" added after
    the first auxiliary (at each of the next :data:`_NOT_PLACES` places before the last word)."""
    words = text.split()
    out: list[str] = []
    for i, word in enumerate(words):
        others = _opposites(word)
        if i and words[i - 1].lower() in _VERB_HEADS:
            others += _reversed_verb(word)
        for other in dict.fromkeys(others):
            out.append(" ".join(words[:i] + [other] + words[i + 1:]))
    negations = [i for i, w in enumerate(words) if w.lower() in NEGATIONS]
    for i in negations:
        out.append(" ".join(words[:i] + words[i + 1:]))
    if not negations and add_not:
        first = next((i for i, w in enumerate(words) if w.lower() in _AUXILIARIES), None)
        if first is not None:
            for j in range(first + 1, min(len(words), first + 1 + _NOT_PLACES)):
                out.append(" ".join(words[:j] + ["not"] + words[j:]))
    return [r for r in dict.fromkeys(out) if r != text][:MAX_RIVALS]


def meaning_sure(own: float, opposite_fits: list[float], margin: float) -> bool:
    """The meaning gate's decision: whether a transcript whose words score ``own`` (summed token
    log-probability, forced on the recording) out-fits each of its opposites (``opposite_fits``)
    by more than ``margin`` nats. Not sure (False) when any opposite fits about as well or better,
    or when a score is not a finite number: the transcript is then not a key (a miss)."""
    if not math.isfinite(own):
        return False
    return all(math.isfinite(fit) and own - fit > margin for fit in opposite_fits)
