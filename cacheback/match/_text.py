"""What one text says, as cheap regex facts: content words, numbers, names, negations, question
type. Profiles are cached by text, since stored candidates come back again and again."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ._words import (
    DATE_WORDS,
    MODALS,
    NEGATIONS,
    NEGATIVE_WORDS,
    NUMBER_WORDS,
    PERSONS,
    QUESTION_HEADS,
    QUESTION_WORDS,
    ROLE_PREPOSITIONS,
    SCOPE_WORDS,
    STOPWORDS,
)

__all__ = ["TextProfile", "profile", "stem"]

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'"})
_NEGATED_CONTRACTIONS = (
    (re.compile(r"\bcan'?t\b|\bcannot\b", re.I), "can n't"),
    (re.compile(r"\bwon'?t\b", re.I), "will n't"),
    (re.compile(r"\bshan'?t\b", re.I), "shall n't"),
    (re.compile(r"\b(\w+)n't\b", re.I), r"\1 n't"),
    (
        re.compile(r"\b(do|does|did|is|are|was|were|has|have|had|should|would|could|must|need)nt\b", re.I),
        r"\1 n't",
    ),
)
_WORD = re.compile(r"n't|[^\W_]+(?:'[^\W\d_]+)?")
_NUMBER = re.compile(r"(?<![\w.])[#£$€¥]?(\d[\d,]*(?:[.:]\d+)?)(?:%|[a-zA-Z]{1,3})?(?![\w])")
_PLAIN_NUMBER_WORD = re.compile(r"\d+(?:am|pm|st|nd|rd|th|s|k)")
_LETTER_WORD = re.compile(r"[^\W\d_][^\W_]*")
_SENTENCE_BREAK = re.compile(r"[.!?:;\"(\[]\s*$")
_AUX_OPENERS = frozenset(
    "is are was were am do does did can could should would will shall may might must have has".split()
)


def _stem_all(words: frozenset[str]) -> frozenset[str]:
    return frozenset(stem(w) for w in words)


def stem(word: str) -> str:
    """A crude suffix stripper: enough to let "cards"/"card" and "charged"/"charges" agree."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("ss"):
        return word
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            if suffix in ("ing", "ed") and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]
            break
    return word[:-1] if len(word) > 3 and word.endswith("e") else word


def _number_value(raw: str) -> str:
    value = raw.replace(",", "")
    if "." in value:
        value = value.rstrip("0").rstrip(".")
    return value.lstrip("0") or "0"


@dataclass(frozen=True, slots=True)
class TextProfile:
    """The facts about one text that the pair features compare.

    ``words`` are lower-cased tokens, ``content`` the stems of the non-stopwords, ``roles`` the
    (preposition, stem) pairs of role prepositions and their objects, ``negations`` the number of
    negating words (parity decides whether the text is negated).
    """

    words: frozenset[str]
    stems: frozenset[str]
    content: frozenset[str]
    roles: frozenset[tuple[str, str]]
    numbers: frozenset[str]
    entities: frozenset[str]
    question: frozenset[str]
    modals: frozenset[str]
    persons: frozenset[str]
    scope: frozenset[str]
    negations: int
    length: int


def _entities(text: str) -> set[str]:
    """Capitalised words that are not sentence-initial, inner-capital words and acronyms.

    Text written all in capitals or in title case carries no such signal and yields none.
    """
    found: set[str] = set()
    words = _LETTER_WORD.findall(text)
    capitalised = sum(w[0].isupper() for w in words)
    if len(words) >= 3 and capitalised > 0.6 * len(words):
        return found
    for match in _LETTER_WORD.finditer(text):
        word = match.group()
        lower = word.lower()
        if word == lower or lower in STOPWORDS or stem(lower) in _DATE_STEMS or lower == "i":
            continue
        inner_capitals = any(ch.isupper() for ch in word[1:])
        initial = match.start() == 0 or bool(_SENTENCE_BREAK.search(text[: match.start()]))
        if inner_capitals or not initial:
            found.add(stem(lower))
    return found


def _question(tokens: list[str]) -> set[str]:
    kinds: set[str] = set()
    for i, token in enumerate(tokens):
        if token in QUESTION_WORDS:
            following = tokens[i + 1] if i + 1 < len(tokens) else ""
            kinds.add(f"how_{following}" if token == "how" and following in QUESTION_HEADS else token)
    if not kinds and tokens and tokens[0] in _AUX_OPENERS:
        kinds.add("yes_no")
    return kinds


def _roles(tokens: list[str]) -> set[tuple[str, str]]:
    """Each role preposition with the first content word within the next three tokens."""
    roles: set[tuple[str, str]] = set()
    for i, token in enumerate(tokens):
        if token in ROLE_PREPOSITIONS:
            for following in tokens[i + 1 : i + 4]:
                if following not in STOPWORDS:
                    roles.add((token, stem(following)))
                    break
    return roles


def _modals(tokens: list[str]) -> set[str]:
    found = {MODALS[t] for t in tokens if t in MODALS}
    for first, second in zip(tokens, tokens[1:]):
        if second == "to" and first in ("have", "has", "had"):
            found.add("must")
    return found


_DATE_STEMS = _stem_all(DATE_WORDS)


@lru_cache(maxsize=8192)
def profile(text: str) -> TextProfile:
    """The :class:`TextProfile` of ``text`` (memoised: candidates repeat across queries)."""
    text = text.translate(_APOSTROPHES)
    expanded = text
    for pattern, replacement in _NEGATED_CONTRACTIONS:
        expanded = pattern.sub(replacement, expanded)
    tokens = [t.removesuffix("'s") for t in _WORD.findall(expanded.lower())]
    numbers = {_number_value(m.group(1)) for m in _NUMBER.finditer(text)}
    numbers |= {
        t
        for t in tokens
        if any(c.isdigit() for c in t) and any(c.isalpha() for c in t) and not _PLAIN_NUMBER_WORD.fullmatch(t)
    }
    numbers |= {NUMBER_WORDS[t] for t in tokens if t in NUMBER_WORDS}
    numbers |= {stem(t) for t in tokens if stem(t) in _DATE_STEMS}
    content = frozenset(
        stem(t)
        for t in tokens
        if t not in STOPWORDS and t not in NUMBER_WORDS and not t.isdigit() and stem(t) not in _DATE_STEMS
    )
    stems = [stem(t) for t in tokens]
    return TextProfile(
        words=frozenset(tokens),
        stems=frozenset(stems),
        content=content,
        roles=frozenset(_roles(tokens)),
        numbers=frozenset(numbers),
        entities=frozenset(_entities(text)),
        question=frozenset(_question(tokens)),
        modals=frozenset(_modals(tokens)),
        persons=frozenset(PERSONS[t] for t in tokens if t in PERSONS),
        scope=frozenset(t for t in tokens if t in SCOPE_WORDS),
        negations=sum(t in NEGATIONS for t in tokens) + sum(s in NEGATIVE_WORDS for s in stems),
        length=len(tokens),
    )
