"""What one text says, as cheap regex facts: content words, numbers, names, negations, question
type. Profiles are cached by text, since stored candidates come back again and again."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .._normalize import case_kept_words
from ._words import (
    DATE_WORDS,
    DETERMINERS,
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

__all__ = ["TextProfile", "case_conflict", "profile", "stem"]

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'"})
_IRREGULAR_NEGATIONS = {"can": "can", "cannot": "can", "won": "will", "shan": "shall"}
_NEGATED = re.compile(
    r"\b(can|won|shan)'?t\b|\b(cannot)\b|\b(\w+?)n't\b"
    r"|\b(do|does|did|is|are|was|were|has|have|had|should|would|could|must|need)nt\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"n't|[^\W_]+(?:'[^\W\d_]+)?")
_NUMBER = re.compile(r"(?<![\w.])[#£$€¥]?(\d[\d,]*(?:[.:]\d+)?)(?:%|[a-zA-Z]{1,3})?(?![\w])")
_PLAIN_NUMBER_WORD = re.compile(r"\d+(?:am|pm|st|nd|rd|th|s|k)")
_BREAKS = frozenset('.!?:;"([')
_WORD_OR_BREAK = re.compile(r"[^\W\d_][^\W_]*|[.!?:;\"(\[]")
_AUX_OPENERS = frozenset(
    "is are was were am do does did can could should would will shall may might must have has".split()
)


@lru_cache(maxsize=65536)
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


_DATE_STEMS = frozenset(stem(w) for w in DATE_WORDS)
_WORD_RUN = re.compile(r"\w+")
#: Units of time that make a number another quantity: "3 days" is not "3 weeks".
_TIME_UNIT_STEMS = frozenset(stem(w) for w in
                             "second minute hour day night week fortnight month year decade".split())


def _split_negation(match: re.Match[str]) -> str:
    """Rewrite a negated verb as the verb and a separate ``n't`` token (can't -> can n't)."""
    irregular = match.group(1) or match.group(2)
    verb = _IRREGULAR_NEGATIONS[irregular.lower()] if irregular else match.group(3) or match.group(4)
    return f"{verb} n't"


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
    negating words (parity decides whether the text is negated), ``sequence`` every token's stem
    in order (word order: the same words in another order may say something else),
    ``surface`` the lower-cased text without sentence punctuation (``. , ? ! ; :`` and double
    quotes) and with single spaces: two texts with the same surface differ only in case,
    spacing and sentence punctuation. Symbols that can change meaning (``- + # % ( ) '``) stay.
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
    sequence: tuple[str, ...] = ()
    cased: frozenset[str] = frozenset()
    folded: frozenset[str] = frozenset()
    surface: str = ""


def case_conflict(a: TextProfile, b: TextProfile) -> bool:
    """Whether a word whose case is part of it ("getUser", "Hunter2", "MAX_RETRIES") stands in
    the other text in another case: an identifier, token or password, not the same question,
    though the uncased embedder sees one text (cosine 1.0)."""
    return any(w.lower() in b.folded and w not in b.cased for w in a.cased) or any(
        w.lower() in a.folded and w not in a.cased for w in b.cased)


def _entities(text: str) -> set[str]:
    """Capitalised words that are not sentence-initial, inner-capital words and acronyms.

    Text written all in capitals or in title case carries no such signal and yields none.
    """
    pieces = _WORD_OR_BREAK.findall(text)
    words = [p for p in pieces if p not in _BREAKS]
    if len(words) >= 3 and sum(w[0].isupper() for w in words) > 0.6 * len(words):
        return set()
    found: set[str] = set()
    initial = True
    for piece in pieces:
        if piece in _BREAKS:
            initial = True
            continue
        lower = piece.lower()
        named = piece != lower and (not initial or any(ch.isupper() for ch in piece[1:]))
        initial = False
        if named and lower not in STOPWORDS and lower != "i" and stem(lower) not in _DATE_STEMS:
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


def _roles(tokens: list[str], stems: list[str]) -> set[tuple[str, str]]:
    """Each role preposition's role with its object: the next word past any determiners."""
    roles: set[tuple[str, str]] = set()
    for i, token in enumerate(tokens):
        role = ROLE_PREPOSITIONS.get(token)
        if role is None:
            continue
        j = i + 1
        while j < len(tokens) and tokens[j] in DETERMINERS:
            j += 1
        if j < len(tokens) and tokens[j] not in STOPWORDS:
            roles.add((role, stems[j]))
    return roles


def _modals(tokens: list[str]) -> set[str]:
    found = {MODALS[t] for t in tokens if t in MODALS}
    for first, second in zip(tokens, tokens[1:]):
        if second == "to" and first in ("have", "has", "had"):
            found.add("must")
    return found


#: Punctuation that ends or splits a sentence; removing it leaves the same words in the same
#: order (a decimal point or a clock's colon splits its number, which then no longer matches).
_SENTENCE_PUNCTUATION = re.compile(r'[.,?!;:"\u201c\u201d]+')


@lru_cache(maxsize=8192)
def profile(text: str) -> TextProfile:
    """The :class:`TextProfile` of ``text`` (memoised: candidates repeat across queries)."""
    text = text.translate(_APOSTROPHES)
    tokens = [t.removesuffix("'s") for t in _WORD.findall(_NEGATED.sub(_split_negation, text).lower())]
    stems = [stem(t) for t in tokens]
    numbers = {_number_value(m.group(1)) for m in _NUMBER.finditer(text)}
    content = set()
    for i, (token, stemmed) in enumerate(zip(tokens, stems)):
        if stemmed in _TIME_UNIT_STEMS and i and (tokens[i - 1] in NUMBER_WORDS or tokens[i - 1].isdigit()):
            numbers.add(stemmed)
        if token in NUMBER_WORDS:
            numbers.add(NUMBER_WORDS[token])
        elif stemmed in _DATE_STEMS:
            numbers.add(stemmed)
        elif not token.isalpha() and any(c.isdigit() for c in token):
            if not token.isdigit() and not _PLAIN_NUMBER_WORD.fullmatch(token):
                numbers.add(token)
        elif token not in STOPWORDS:
            content.add(stemmed)
    return TextProfile(
        words=frozenset(tokens),
        stems=frozenset(stems),
        content=frozenset(content),
        roles=frozenset(_roles(tokens, stems)),
        numbers=frozenset(numbers),
        entities=frozenset(_entities(text)),
        question=frozenset(_question(tokens)),
        modals=frozenset(_modals(tokens)),
        persons=frozenset(PERSONS[t] for t in tokens if t in PERSONS),
        scope=frozenset(t for t in tokens if t in SCOPE_WORDS),
        negations=sum(t in NEGATIONS for t in tokens) + sum(s in NEGATIVE_WORDS for s in stems),
        length=len(tokens),
        sequence=tuple(stems),
        cased=case_kept_words(text),
        folded=frozenset(w.lower() for w in _WORD_RUN.findall(text)),
        surface=" ".join(_SENTENCE_PUNCTUATION.sub(" ", text.lower()).split()),
    )
