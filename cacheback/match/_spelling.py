"""Misspellings: two words that are one slip apart (two for long words) count as the same word,
unless both are words of the lexicon ("woman" / "women", "county" / "country"): two real
words are two words, however close their spelling."""

from __future__ import annotations

import functools
import gzip
from importlib import resources

__all__ = ["known_word", "misspelled_pairs"]

_MIN_TYPO = 5
#: Whole words of the embedder's WordPiece vocabulary (BERT uncased, Apache-2.0), alphabetic and
#: at least :data:`_MIN_TYPO` letters: a general English lexicon, read off no data set.
_LEXICON = "data/lexicon.txt.gz"


@functools.lru_cache(maxsize=1)
def _lexicon() -> frozenset[str]:
    try:
        raw = resources.files(__package__).joinpath(_LEXICON).read_bytes()
        return frozenset(gzip.decompress(raw).decode("utf-8").split())
    except (OSError, ValueError):
        return frozenset()


def known_word(word: str) -> bool:
    """Whether ``word`` is a whole word of the lexicon (an unreadable lexicon knows none)."""
    return word in _lexicon()


def _edit_distance_at_most(a: str, b: str, limit: int) -> bool:
    """Damerau-Levenshtein distance (a transposition counts once) of ``a`` and ``b`` <= ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return False
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return False
        previous2, previous = previous, current
    return previous[-1] <= limit


def _looks_misspelled(a: str, b: str) -> bool:
    """Same word spelt differently: one or two slips, not a longer or shorter form of it."""
    if min(len(a), len(b)) < _MIN_TYPO or a[0] != b[0] or a.startswith(b) or b.startswith(a):
        return False
    if known_word(a) and known_word(b):
        return False
    return _edit_distance_at_most(a, b, 1 if min(len(a), len(b)) < 8 else 2)


def misspelled_pairs(only_a: frozenset[str], only_b: frozenset[str]) -> int:
    """How many words of one text look like misspellings of a word of the other."""
    found = 0
    used: set[str] = set()
    for a in only_a:
        for b in only_b:
            if b not in used and _looks_misspelled(a, b):
                found += 1
                used.add(b)
                break
    return found
