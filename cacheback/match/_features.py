"""Pair features: how a stored question differs from a new one, as numbers a logistic model weighs.

Every feature is a generic linguistic signal (no domain vocabulary), computed from the two
:class:`TextProfile` objects and the embedding similarity in a few microseconds.
"""

from __future__ import annotations

import functools
import math

from ._spelling import misspelled_pairs
from ._text import TextProfile, stem
from ._words import ANTONYM_PAIRS, ANTONYM_PREFIXES, FALSE_ANTONYMS

__all__ = [
    "FEATURE_NAMES",
    "FEATURE_RANGES",
    "FEATURE_SIGNS",
    "GATED_FEATURES",
    "SIMILARITY_FEATURES",
    "SIMILARITY_KNEE",
    "SAME_WORDS_MIN_SIMILARITY",
    "SPELLING_MIN_SIMILARITY",
    "has_antonym",
    "has_role_swap",
    "order_breaks",
    "pair_features",
    "similarity_features",
]

#: Above this cosine the similarity gets a second, steeper weight (a hinge).
SIMILARITY_KNEE = 0.85

#: Below this cosine two texts are too far apart for spelling slips to be all that differs.
SPELLING_MIN_SIMILARITY = 0.5

#: Below this cosine, case, spacing and sentence punctuation are not all that differs
#: (the lowest seen for such a pair is about 0.95); a floor keeps the probability bound tight.
SAME_WORDS_MIN_SIMILARITY = 0.8

FEATURE_NAMES: tuple[str, ...] = (
    "similarity",
    "similarity_above_knee",
    "rank_margin",
    "content_overlap",
    "spelling_only",
    "substitution_shift",
    "content_added",
    "negation_mismatch",
    "negation_flip",
    "antonym",
    "role_swap",
    "number_conflict",
    "number_one_side",
    "entity_unmatched",
    "question_conflict",
    "modal_conflict",
    "person_conflict",
    "scope_mismatch",
    "length_ratio",
    "order_breaks",
    "same_words",
)

#: The direction each feature may push the probability (+1 up, -1 down, 0 either), so that a
#: fit cannot learn that, say, a number conflict makes a match *more* likely.
FEATURE_SIGNS: dict[str, int] = {
    "similarity": 1,
    "similarity_above_knee": 1,
    "rank_margin": 1,
    "content_overlap": 1,
    "spelling_only": 1,
    "substitution_shift": -1,
    "content_added": -1,
    "negation_mismatch": -1,
    "negation_flip": -1,
    "antonym": -1,
    "role_swap": -1,
    "number_conflict": -1,
    "number_one_side": -1,
    "entity_unmatched": -1,
    "question_conflict": -1,
    "modal_conflict": -1,
    "person_conflict": -1,
    "scope_mismatch": -1,
    "length_ratio": -1,
    "order_breaks": -1,
    "same_words": 1,
}

#: The features that depend on the two similarities alone, first in :data:`FEATURE_NAMES`;
#: each is non-decreasing in the candidate's similarity.
SIMILARITY_FEATURES: tuple[str, ...] = FEATURE_NAMES[:3]

#: The smallest and largest value each text feature can take (``math.inf`` when unbounded),
#: so that a model's probability can be bounded from the similarity alone.
FEATURE_RANGES: dict[str, tuple[float, float]] = {
    **dict.fromkeys(FEATURE_NAMES[3:], (0.0, 1.0)),
    "substitution_shift": (0.0, math.inf),
    "entity_unmatched": (0.0, 3.0),
    "length_ratio": (0.0, math.inf),
}

#: Text features that are 0 whenever the similarity is below the given value.
GATED_FEATURES: dict[str, float] = {
    "spelling_only": SPELLING_MIN_SIMILARITY,
    "same_words": SAME_WORDS_MIN_SIMILARITY,
}

_MIN_STEM = 4


def _opposites() -> dict[str, frozenset[str]]:
    table: dict[str, set[str]] = {}
    for a, b in ANTONYM_PAIRS:
        table.setdefault(stem(a), set()).add(stem(b))
        table.setdefault(stem(b), set()).add(stem(a))
    return {word: frozenset(others) for word, others in table.items()}


_OPPOSITES = _opposites()


@functools.lru_cache(maxsize=1 << 16)
def _unprefixed(word: str) -> tuple[str, ...]:
    """The words ``word`` is the prefixed opposite of ("unsafe" -> ["safe"]); memoised, as the
    same stored questions' words come back lookup after lookup."""
    if word in FALSE_ANTONYMS:
        return ()
    bases = []
    for prefix in ANTONYM_PREFIXES:
        if word.startswith(prefix):
            base = word[len(prefix) :].lstrip("-")
            if len(base) >= _MIN_STEM:
                bases.append(base)
    return tuple(bases)


def has_antonym(a: TextProfile, b: TextProfile) -> bool:
    """Whether a word found only in one text is the opposite of a word found only in the other."""
    only_a, only_b = a.stems - b.stems, b.stems - a.stems
    if any(not _OPPOSITES.get(x, frozenset()).isdisjoint(only_b) for x in only_a):
        return True
    words_a, words_b = a.words - b.words, b.words - a.words
    return any(base in words_b for x in words_a for base in _unprefixed(x)) or any(
        base in words_a for y in words_b for base in _unprefixed(y)
    )


def has_role_swap(a: TextProfile, b: TextProfile) -> bool:
    """Whether two words both texts mention trade a role ("from A to B" vs "from B to A"):
    one text gives a role to ``x`` and the other gives that role to ``y`` instead."""
    for role, x in a.roles - b.roles:
        if x in b.content:
            for other_role, y in b.roles - a.roles:
                if other_role == role and y != x and y in a.content:
                    return True
    return False


def _backward_steps(seq_a: tuple[str, ...], seq_b: tuple[str, ...]) -> float:
    """The steps through ``seq_a``'s words found in ``seq_b`` that go backward in ``seq_b``,
    beyond the one step a phrase moved to the front or the back leaves, over the square root of
    all steps: one word put in another slot still counts in a long sentence, where a plain
    share would fade with its length. A word found more than once goes to the copy nearest its
    relative position.

    One backward step is forgiven only when it splits the walk into two runs that are the two
    halves of ``seq_b`` swapped (every word of the second run before every word of the first):
    that is a phrase moved to the front or the back. The same single step in the middle ("his
    father Li Bian died" / "his father died in Li Bian") moves a word into another slot."""
    places: dict[str, list[int]] = {}
    for k, word in enumerate(seq_b):
        places.setdefault(word, []).append(k)
    scale = len(seq_b) / len(seq_a)
    walk: list[int] = []
    for k, word in enumerate(seq_a):
        found = places.get(word)
        if found is not None:
            target = k * scale
            walk.append(min(found, key=lambda c: abs(c - target)))
    steps = len(walk) - 1
    if steps <= 0:
        return 0.0
    back = [k for k in range(1, len(walk)) if walk[k] < walk[k - 1]]
    forgiven = len(back) == 1 and max(walk[back[0] :]) < min(walk[: back[0]])
    return (len(back) - forgiven) / math.sqrt(steps)


def order_breaks(a: TextProfile, b: TextProfile) -> float:
    """How often reading one text's words in order jumps backward in the other, beyond the one
    jump a phrase moved to an end makes, averaged over both directions: 0 for the same order or
    a phrase moved to the front ("on train tickets, is there a discount for students?"), higher
    the more words trade places ("from Paris to Berlin" / "from Berlin to Paris": 1.0; names
    trading places in a 13-word sentence: 0.58).

    Every word counts, function words too: names trading places in the same slots ("written by
    A and directed by B" for "... by B and ... by A") keep every word pair around each name, yet
    the steps through the other text go back twice."""
    if a.sequence == b.sequence or not a.sequence or not b.sequence:
        return 0.0
    return (_backward_steps(a.sequence, b.sequence) + _backward_steps(b.sequence, a.sequence)) / 2


def _unmentioned(entities: frozenset[str], other: TextProfile) -> int:
    """Names of one text that the other neither mentions nor misspells."""
    missing = entities - other.stems
    return len(missing) - misspelled_pairs(missing, other.stems - entities) if missing else 0


def _conflict(a: frozenset[str], b: frozenset[str]) -> float:
    """1.0 when both texts state something of a kind and share none of it."""
    return 1.0 if a and b and a.isdisjoint(b) else 0.0


def _spelling_credit(similarity: float) -> float:
    """For texts that differ only by misspellings, the share of the cosine the slips may have
    cost: 1 at :data:`SPELLING_MIN_SIMILARITY`, down to 0 at the knee, where the cosine alone
    already speaks; 0 below the minimum."""
    if similarity < SPELLING_MIN_SIMILARITY:
        return 0.0
    return max(0.0, SIMILARITY_KNEE - similarity) / (SIMILARITY_KNEE - SPELLING_MIN_SIMILARITY)


def similarity_features(similarity: float, best: float) -> list[float]:
    """The :data:`SIMILARITY_FEATURES`: cosine, its part above the knee, and its margin to ``best``."""
    return [
        similarity,
        max(0.0, similarity - SIMILARITY_KNEE) / (1.0 - SIMILARITY_KNEE),
        similarity - best,
    ]


def pair_features(query: TextProfile, stored: TextProfile, similarity: float, best: float) -> list[float]:
    """The feature vector (in :data:`FEATURE_NAMES` order) for serving ``stored`` for ``query``.

    ``best`` is the highest similarity among the candidates, so that a runner-up is told apart.
    """
    union = query.content | stored.content
    shared = query.content & stored.content
    typos = misspelled_pairs(query.content - shared, stored.content - shared)
    overlap = (len(shared) + typos) / (len(union) - typos) if union else 1.0
    unmatched = len(union) - len(shared) - 2 * typos
    minimal_edit = 0 < unmatched <= 2 and overlap >= 0.5
    negation_mismatch = 1.0 if query.negations % 2 != stored.negations % 2 else 0.0
    added = bool(shared) and (shared == query.content) != (shared == stored.content)
    entity_misses = _unmentioned(query.entities, stored) + _unmentioned(stored.entities, query)
    numbers_differ = query.numbers != stored.numbers
    return [
        *similarity_features(similarity, best),
        overlap,
        _spelling_credit(similarity) if typos and not unmatched else 0.0,
        (1.0 - similarity) * (query.length + stored.length) / 2 if minimal_edit else 0.0,
        1.0 if added else 0.0,
        negation_mismatch,
        negation_mismatch * overlap,
        1.0 if has_antonym(query, stored) else 0.0,
        1.0 if has_role_swap(query, stored) else 0.0,
        1.0 if numbers_differ and query.numbers and stored.numbers else 0.0,
        1.0 if numbers_differ and not (query.numbers and stored.numbers) else 0.0,
        float(min(entity_misses, 3)),
        _conflict(query.question, stored.question),
        _conflict(query.modals, stored.modals),
        _conflict(query.persons, stored.persons),
        1.0 if query.scope != stored.scope else 0.0,
        abs(math.log((query.length + 1) / (stored.length + 1))),
        order_breaks(query, stored),
        1.0 if query.surface == stored.surface != "" and similarity >= SAME_WORDS_MIN_SIMILARITY else 0.0,
    ]
