"""Chat text as sentences, normalised words and *details*: the numbers and names a reply hangs on.

A detail is a number, amount, date or time, or a capitalised word inside a sentence (a brand, a
plan, a place). Two chats that establish different details (a £10.99 plan vs a £34 one) can give
the same follow-up a different answer, however alike their wording.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["content_words", "details", "split_sentences", "token_sequence", "words"]

_BREAK = re.compile(r"(?<=[.!?…])[\"')\]]*\s+|\n+")
_ABBREVIATIONS = frozenset("e.g i.e etc mr mrs ms dr st vs approx no nos ref inc ltd co".split())
_TOKEN = re.compile(r"[£$€¥#]?\d+(?:[.,:]\d+)*[A-Za-z%]*|[^\W\d_]+(?:['’][^\W\d_]+)*")
_NUMBER = re.compile(r"[£$€¥#]?(\d+(?:[.,:]\d+)*)")
_NUMBER_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
    "first": "1", "second": "2", "third": "3", "fourth": "4", "fifth": "5", "sixth": "6",
}
_MONTHS = {
    "jan": "january", "feb": "february", "mar": "march", "apr": "april", "jun": "june",
    "jul": "july", "aug": "august", "sep": "september", "sept": "september", "oct": "october",
    "nov": "november", "dec": "december",
}
#: Function words and the politeness frame of offers ("would you like me to", "shall I"): two
#: offers that differ only in these make the same proposal.
_FRAME_WORDS = frozenset(
    """a an the and or but if so as at by for from of to in on with is are was were be been am
    do does did have has had i me my we us our you your it its this that these those there here
    can could should would will shall may might want wish like please just now then today ok okay
    sure great right yes no not what which how when where who why let let's i'll i'd i'm you'd
    you'll you're we'll we'd""".split()
)
_ORDINAL_SUFFIXES = frozenset({"st", "nd", "rd", "th"})
_NOT_NAMES = frozenset({"i", "i'm", "i'll", "i've", "i'd", "ok", "okay"})


def split_sentences(text: str) -> list[str]:
    """Sentences and lines of ``text``; a break after a known abbreviation ("e.g.") is undone."""
    pieces: list[str] = []
    for piece in _BREAK.split(text):
        piece = piece.strip()
        if not piece:
            continue
        last_word = pieces[-1].rsplit(None, 1)[-1].rstrip(".").casefold() if pieces else ""
        if pieces and pieces[-1].endswith(".") and last_word in _ABBREVIATIONS:
            pieces[-1] = f"{pieces[-1]} {piece}"
        else:
            pieces.append(piece)
    return pieces


def _raw_tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.replace("-", " ").replace("/", " "))


def _number(raw: str) -> str:
    value = raw.replace(",", "").replace(":", ".")
    if value.endswith(".00"):
        value = value[:-3]
    return value


def _normal(token: str) -> list[str]:
    """A raw token as the comparable forms it stands for ("30GB" -> 30, gb; "Sept" -> september)."""
    number = _NUMBER.match(token)
    if number:
        unit = token[number.end():].casefold()
        keep_unit = unit.isalpha() and unit not in _ORDINAL_SUFFIXES
        return [_number(number.group(1))] + ([unit] if keep_unit else [])
    word = token.casefold().replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    word = _NUMBER_WORDS.get(word, word)
    return [_MONTHS.get(word, word)]


@lru_cache(maxsize=8192)
def token_sequence(text: str) -> tuple[str, ...]:
    """The normalised words and numbers of ``text`` in order (hyphen and slash parts split)."""
    return tuple(t for token in _raw_tokens(text) for t in _normal(token))


@lru_cache(maxsize=8192)
def words(text: str) -> frozenset[str]:
    """Every normalised word and number of ``text``."""
    return frozenset(token_sequence(text))


@lru_cache(maxsize=8192)
def details(sentence: str) -> tuple[str, ...]:
    """The details of one sentence, normalised, in order of first appearance."""
    found: dict[str, None] = {}
    tokens = _raw_tokens(sentence)
    for index, token in enumerate(tokens):
        if token[0].isdigit() or token[0] in "£$€¥#":
            found.setdefault(_normal(token)[0], None)
        elif token[0].isupper() and token.casefold() not in _NOT_NAMES and (
            index > 0 or (token.isupper() and len(token) > 1)
        ):
            found.setdefault(_normal(token)[0], None)
    return tuple(found)


@lru_cache(maxsize=8192)
def content_words(sentence: str) -> frozenset[str]:
    """The words of ``sentence`` that say what it is about or proposes (frame words dropped)."""
    return frozenset(w for w in words(sentence) if w not in _FRAME_WORDS)
