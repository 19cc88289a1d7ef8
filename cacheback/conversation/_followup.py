"""Does the last message lean on earlier turns? Generic English cues, no domain vocabulary.

A message is a *follow-up* when a sentence of it opens like a reply ("yes", "ok so", "and"), points back
("it", "that one", "them"), picks by position ("the second one"), or is too short to carry its
own subject (no name, or, when ``min_words`` is given, fewer words than that and no name).
Everything else is *standalone*: its answer does not depend on what was said before. Mistakes
are lopsided on purpose: calling a standalone question a follow-up only costs a miss, the other
way round could serve a wrong answer.
"""

from __future__ import annotations

import re

from ._text import details, split_sentences

__all__ = ["DEFAULT_MIN_STANDALONE_WORDS", "is_follow_up", "is_positional"]

#: Length alone never makes a question standalone by default: only a name does (``None``). A
#: length rule (say 10 words) serves more follow-ups but was read off the conversation pairs it
#: was measured on, and leave one pair out it let 2 of 80 traps through (docs/ceag.md).
DEFAULT_MIN_STANDALONE_WORDS: int | None = None

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_OPENERS = frozenset(
    "and so also but then or yes yeah yep yup no nope nah ok okay sure alright right fine".split()
)
_OPENING_PHRASES = re.compile(
    r"^\s*(?:what|how) about\b|^\s*(?:go ahead|do it|do that|sounds good|please do|let'?s)\b", re.I
)
_POINTERS = frozenset(
    """it its itself that this those these them they their theirs he him his she her hers there
    then one ones else other others former latter such above previous aforementioned""".split()
)
_POSITIONS = frozenset("first second third fourth fifth last former latter".split())
_OPTION_NUMBER = re.compile(r"\b(?:option|number|no\.?|choice|plan)\s*#?\d+\b", re.I)


def _words(text: str) -> list[str]:
    return [w.casefold().replace("’", "'") for w in _WORD.findall(text)]


def is_positional(text: str) -> bool:
    """True when ``text`` picks something by its place in a list ("the second one", "option 2")."""
    return any(w in _POSITIONS for w in _words(text)) or bool(_OPTION_NUMBER.search(text))


def is_follow_up(text: str, min_words: int | None = DEFAULT_MIN_STANDALONE_WORDS) -> bool:
    """True when the answer to ``text`` may depend on the earlier turns of the conversation:
    it opens like a reply, points back or picks by position, or names nothing (and, with
    ``min_words``, is shorter than that)."""
    tokens = _words(text)
    if not tokens:
        return True
    for sentence in split_sentences(text):
        opening = _words(sentence)[:1]
        if (opening and opening[0] in _OPENERS) or _OPENING_PHRASES.match(sentence):
            return True
    if any(w in _POINTERS for w in tokens) or is_positional(text):
        return True
    has_name = any(not d[0].isdigit() for d in details(text))
    if has_name:
        return False
    return min_words is None or len(tokens) < min_words
