"""Rule-made pairs from general English grammar, applied to a question: traps (same words, a
different question: must miss) and harmless rewrites (the same question: should hit).

Nothing here is read off an evaluation set: the rules name auxiliaries, quantifiers, months,
weekdays and a handful of textbook antonyms, and the entities they swap come from the question
being rewritten or from other questions of the same data set. Each rule returns ``None`` when it
does not apply, so a question only yields the traps its grammar allows.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence

__all__ = ["TRAP_RULES", "SAME_RULES", "make_fronted", "make_repeats", "make_traps"]

_AUX = ("do", "does", "did", "is", "are", "was", "were", "can", "could", "will", "would",
        "should", "have", "has", "must", "may", "might")
_NEG = {"don't": "do", "doesn't": "does", "didn't": "did", "isn't": "is", "aren't": "are",
        "wasn't": "was", "weren't": "were", "can't": "can", "cannot": "can", "couldn't": "could",
        "won't": "will", "wouldn't": "would", "shouldn't": "should", "haven't": "have",
        "hasn't": "has", "mustn't": "must"}
_SUBJECTS = ("i", "you", "we", "they", "he", "she", "it", "this", "that", "there")
_STOP = frozenset(",.;:?!") | {"on", "in", "at", "for", "by", "with", "and", "or", "before", "after"}
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SCOPE = {"all": "only some", "every": "only one", "only": "also", "first": "last", "last": "first",
          "before": "after", "after": "before", "more": "less", "less": "more", "most": "least",
          "least": "most", "maximum": "minimum", "minimum": "maximum", "always": "never",
          "never": "always", "increase": "decrease", "decrease": "increase", "above": "below",
          "below": "above", "earliest": "latest", "latest": "earliest", "highest": "lowest",
          "lowest": "highest", "cheapest": "most expensive", "add": "remove", "remove": "add",
          "open": "close", "close": "open", "buy": "sell", "sell": "buy", "send": "receive",
          "receive": "send", "enable": "disable", "disable": "enable", "start": "stop",
          "stop": "start", "in": "out of", "from": "to", "to": "from", "with": "without",
          "without": "with", "yesterday": "tomorrow", "tomorrow": "yesterday", "today": "tomorrow"}
_SCOPE_SAFE = ("all", "every", "only", "first", "last", "before", "after", "more", "less", "most",
               "least", "maximum", "minimum", "always", "never", "increase", "decrease", "above",
               "below", "earliest", "latest", "highest", "lowest", "cheapest", "add", "remove",
               "buy", "sell", "send", "receive", "enable", "disable", "yesterday", "tomorrow")
_WORD = re.compile(r"[A-Za-z']+|\d+(?:[.,]\d+)?|\S")


def _join(tokens: Sequence[str]) -> str:
    out = ""
    for tok in tokens:
        if out and (tok[0].isalnum() or tok[0] in "$#(\"") and not out.endswith(("$", "#", "(")):
            out += " "
        out += tok
    return out


def _case(word: str, like: str) -> str:
    return word.capitalize() if like[:1].isupper() else word


def negate(text: str, rng: random.Random) -> str | None:
    """Remove a negation if there is one, otherwise put ``not`` after the first auxiliary."""
    toks = _WORD.findall(text)
    low = [t.lower() for t in toks]
    for i, t in enumerate(low):
        if t in _NEG:
            toks[i] = _case(_NEG[t], toks[i])
            return _join(toks)
        if t in ("not", "never") and i > 0:
            return _join(toks[:i] + toks[i + 1:])
    for i, t in enumerate(low):
        if t in _AUX and i + 1 < len(toks) and toks[i + 1][:1].isalpha():
            at = i + 2 if low[i + 1] in _SUBJECTS else i + 1
            return _join(toks[:at] + ["not"] + toks[at:])
    return None


def change_number(text: str, rng: random.Random) -> str | None:
    """Another value for a number, month or weekday."""
    toks = _WORD.findall(text)
    spots = [i for i, t in enumerate(toks) if t[0].isdigit() or t.lower() in _MONTHS + _DAYS]
    if not spots:
        return None
    i = rng.choice(spots)
    t = toks[i]
    if t[0].isdigit():
        digits = re.sub(r"\D", "", t)
        value = int(digits) if digits else 1
        new = str(value + rng.choice([1, 2, 3, 5, 10, 7, 100]) if value < 1000 else value * 2 + 1)
        toks[i] = new if "." not in t else f"{new}.{rng.randint(0, 99):02d}"
    else:
        pool = _MONTHS if t.lower() in _MONTHS else _DAYS
        toks[i] = _case(rng.choice([w for w in pool if w != t.lower()]), t)
    return _join(toks)


def _capitalised(toks: Sequence[str]) -> list[int]:
    return [i for i, t in enumerate(toks) if i > 0 and t[:1].isupper() and t.isalpha()
            and t not in ("I", "I'm", "I've") and toks[i - 1] not in (".", "?", "!")]


def swap_entities(text: str, rng: random.Random) -> str | None:
    """Two capitalised names trade places, or ``from X to Y`` / ``X to Y`` trade roles."""
    toks = _WORD.findall(text)
    low = [t.lower() for t in toks]
    for i in range(1, len(toks) - 1):
        if low[i] == "to" and (toks[i - 1][:1].isupper() or toks[i - 1][0].isdigit()) \
                and (toks[i + 1][:1].isupper() or toks[i + 1][0].isdigit()) and toks[i - 1] != toks[i + 1]:
            toks[i - 1], toks[i + 1] = toks[i + 1], toks[i - 1]
            return _join(toks)
    if "from" in low and "to" in low[low.index("from"):]:
        f = low.index("from")
        t = f + low[f:].index("to")
        end = t + 1
        while end < len(toks) and low[end] not in _STOP and end - t <= 4:
            end += 1
        first, second = toks[f + 1:t], toks[t + 1:end]
        if 0 < len(first) <= 4 and 0 < len(second) <= 4 and not _STOP & set(map(str.lower, first)) \
                and [w.lower() for w in first] != [w.lower() for w in second]:
            return _join(toks[:f + 1] + second + ["to"] + first + toks[end:])
    caps = _capitalised(toks)
    if len(caps) >= 2:
        i, j = rng.sample(caps, 2)
        if low[i] != low[j]:
            toks[i], toks[j] = toks[j], toks[i]
            return _join(toks)
    return None


def replace_entity(text: str, rng: random.Random, names: Sequence[str]) -> str | None:
    """A capitalised name replaced by another one seen in the same data set."""
    toks = _WORD.findall(text)
    caps = _capitalised(toks)
    if not caps or not names:
        return None
    i = rng.choice(caps)
    other = rng.choice(names)
    if other.lower() == toks[i].lower():
        return None
    toks[i] = other
    return _join(toks)


def change_scope(text: str, rng: random.Random) -> str | None:
    """A quantifier, order word or direction word replaced by its opposite."""
    toks = _WORD.findall(text)
    spots = [i for i, t in enumerate(toks) if t.lower() in _SCOPE_SAFE]
    if not spots:
        return None
    i = rng.choice(spots)
    toks[i] = _case(_SCOPE[toks[i].lower()], toks[i])
    return _join(toks)


_FUNCTION_WORDS = frozenset(_AUX) | frozenset(_SUBJECTS) | frozenset(
    "a an the my your our their his her its me him us them what which who whom whose when where why "
    "how not no and or but if of to in on at for by with from as into about than then so".split())


def swap_words(text: str, rng: random.Random) -> str | None:
    """Two content words trade places ("the dog bit the man" -> "the man bit the dog"): the same
    words in another order, which says who does what to whom."""
    toks = _WORD.findall(text)
    spots = [i for i, t in enumerate(toks)
             if t.isalpha() and len(t) >= 3 and t.lower() not in _FUNCTION_WORDS]
    pairs = [(i, j) for i in spots for j in spots if j - i >= 2 and toks[i].lower() != toks[j].lower()]
    if not pairs:
        return None
    i, j = rng.choice(pairs)
    toks[i], toks[j] = _case(toks[j].lower(), toks[i]), _case(toks[i].lower(), toks[j])
    return _join(toks)


_SLOT_WORDS = frozenset("by of for from to with at in on the a an my your our their his her".split())


def _phrase_end(low: Sequence[str], start: int) -> int:
    end = start
    while end < len(low) and end - start < 3 and low[end].isalnum() and low[end] not in _FUNCTION_WORDS:
        end += 1
    return end


def swap_slots(text: str, rng: random.Random) -> str | None:
    """The phrases after two uses of the same slot word trade places ("written by A and directed
    by B" -> "written by B and directed by A"; "from my savings to my checking" -> "from my
    checking to my savings"): every word pair around each slot survives, yet the roles swap.
    Skipped when only "and"/"or" stands between them, where the order is usually free."""
    toks = _WORD.findall(text)
    low = [t.lower() for t in toks]
    pairs = []
    for i in range(1, len(toks)):
        if low[i - 1] not in _SLOT_WORDS:
            continue
        end_i = _phrase_end(low, i)
        for j in range(end_i + 1, len(toks)):
            if low[j - 1] != low[i - 1]:
                continue
            end_j = _phrase_end(low, j)
            between = [w for w in low[end_i : j - 1] if w.isalnum()]
            if end_i > i and end_j > j and low[i:end_i] != low[j:end_j] and set(between) - {"and", "or"}:
                pairs.append((i, end_i, j, end_j))
    if not pairs:
        return None
    i, end_i, j, end_j = rng.choice(pairs)
    return _join(toks[:i] + toks[j:end_j] + toks[end_i:j] + toks[i:end_i] + toks[end_j:])


_FRONTABLE = ("on", "in", "at", "for", "with", "from", "during", "using", "via", "through")


def front_phrase(text: str, rng: random.Random) -> str | None:
    """A closing phrase of place, time or means moved to the front ("how do I pay with my card?"
    -> "with my card, how do I pay?"): the same question in another word order."""
    body = text.rstrip("?.! ")
    end = text[len(body):].strip()
    toks = _WORD.findall(body)
    for start in range(max(1, len(toks) - 5), len(toks) - 1):
        if toks[start].lower() in _FRONTABLE and all(t.isalnum() for t in toks[start:]):
            phrase, rest = toks[start:], toks[:start]
            return _join([phrase[0].capitalize(), *phrase[1:], ",", rest[0][:1].lower() + rest[0][1:],
                          *rest[1:]]) + end
    return None


TRAP_RULES: dict[str, Callable[[str, random.Random], str | None]] = {
    "negation": negate,
    "number_date": change_number,
    "entity_swap": swap_entities,
    "slot_swap": swap_slots,
    "scope": change_scope,
    "word_swap": swap_words,
}

_OPENERS = ("hi, ", "hey, ", "hello, ", "excuse me, ", "")
_CLOSERS = (", please", ", thanks", ", thank you", "")
_CONTRACT = {"do not": "don't", "does not": "doesn't", "is not": "isn't", "can not": "can't",
             "i am": "i'm", "what is": "what's", "it is": "it's", "i have": "i've", "how is": "how's"}


def repeat(text: str, rng: random.Random) -> str | None:
    """The same question written differently: case, punctuation, a greeting or a contraction."""
    out = text
    choice = rng.randrange(4)
    if choice == 0:
        out = out.lower().rstrip("?.! ")
    elif choice == 1:
        out = rng.choice(_OPENERS[:-1]) + out[:1].lower() + out[1:]
    elif choice == 2:
        out = out.rstrip("?.! ") + rng.choice(_CLOSERS[:-1]) + ("?" if out.endswith("?") else "")
    else:
        low = out.lower()
        for long, short in _CONTRACT.items():
            if long in low:
                out = re.sub(long, short, out, count=1, flags=re.IGNORECASE)
                break
            if short in low:
                out = re.sub(re.escape(short), long, out, count=1, flags=re.IGNORECASE)
                break
        else:
            out = out.rstrip("?.! ") if out[-1:] in "?.!" else out + "?"
    return out if out != text else None


SAME_RULES: dict[str, Callable[[str, random.Random], str | None]] = {"repeat": repeat}


def make_traps(texts: Sequence[str], rng: random.Random, per_rule: int) -> list[tuple[str, str, str]]:
    """Up to ``per_rule`` (question, trap, rule) triples per rule, plus named-entity replacements."""
    names = sorted({t for text in texts for t in (_WORD.findall(text)[i] for i in
                    _capitalised(_WORD.findall(text)))})
    out: list[tuple[str, str, str]] = []
    order = list(texts)
    for rule, fn in [*TRAP_RULES.items(), ("entity_replace", lambda s, r: replace_entity(s, r, names))]:
        rng.shuffle(order)
        made = 0
        for text in order:
            trap = fn(text, rng)
            if trap and trap.strip().lower() != text.strip().lower():
                out.append((text, trap, rule))
                made += 1
                if made >= per_rule:
                    break
    return out


def make_fronted(texts: Sequence[str], rng: random.Random, count: int) -> list[tuple[str, str, str]]:
    """Up to ``count`` (question, the same question with its closing phrase fronted, "fronted")."""
    order = list(texts)
    rng.shuffle(order)
    out = []
    for text in order:
        new = front_phrase(text, rng)
        if new and new.lower() != text.lower():
            out.append((text, new, "fronted"))
            if len(out) >= count:
                break
    return out


def make_repeats(texts: Sequence[str], rng: random.Random, count: int) -> list[tuple[str, str, str]]:
    """``count`` (question, harmless rewrite, "repeat") triples."""
    order = list(texts)
    rng.shuffle(order)
    out = []
    for text in order:
        new = repeat(text, rng)
        if new:
            out.append((text, new, "repeat"))
            if len(out) >= count:
                break
    return out
