"""Pair features: each trap signal fires on its trap and stays quiet on a paraphrase."""

from __future__ import annotations

from cacheback.match._features import (
    FEATURE_NAMES,
    FEATURE_RANGES,
    FEATURE_SIGNS,
    GATED_FEATURES,
    SIMILARITY_FEATURES,
    SIMILARITY_KNEE,
    SPELLING_MIN_SIMILARITY,
    has_antonym,
    has_role_swap,
    order_breaks,
    pair_features,
)
from cacheback.match._text import profile


def features(a: str, b: str, similarity: float = 0.95, best: float | None = None) -> dict[str, float]:
    values = pair_features(profile(a), profile(b), similarity, similarity if best is None else best)
    assert len(values) == len(FEATURE_NAMES)
    return dict(zip(FEATURE_NAMES, values))


def test_every_feature_has_a_sign() -> None:
    assert set(FEATURE_SIGNS) == set(FEATURE_NAMES)


def test_negation_flip_on_otherwise_identical_questions() -> None:
    f = features("Which expenses can I claim back from work?", "Which expenses can't I claim back from work?")
    assert f["negation_mismatch"] == 1.0 and f["negation_flip"] == 1.0
    assert (
        features("Can I claim this back?", "Can I not claim this back? Can't I?")["negation_mismatch"] == 0.0
    )


def test_antonyms_by_prefix_and_by_list() -> None:
    assert has_antonym(
        profile("Is ibuprofen safe with alcohol?"), profile("Is ibuprofen unsafe with alcohol?")
    )
    assert has_antonym(profile("How do I add a user?"), profile("How do I remove a user?"))
    assert has_antonym(profile("Is the fee included?"), profile("Is the fee excluded?"))
    assert not has_antonym(profile("Do you offer a discount?"), profile("Do you offer a count?"))
    assert not has_antonym(profile("How do I reset my password?"), profile("How can I reset my password?"))


def test_swapped_roles() -> None:
    assert has_role_swap(
        profile("How do I convert a Word document to PDF?"),
        profile("How do I convert a PDF to a Word document?"),
    )
    assert not has_role_swap(
        profile("What documents do I need to open a joint account?"),
        profile("To open a joint account, what documents do I need?"),
    )


def test_numbers_conflict_or_go_missing() -> None:
    assert (
        features("Can I open a Lifetime ISA at 39?", "Can I open a Lifetime ISA at 41?")["number_conflict"]
        == 1.0
    )
    one_side = features("Track my order", "Track order 48213")
    assert one_side["number_conflict"] == 0.0 and one_side["number_one_side"] == 1.0
    same = features("Do you have a table for 2 at 7pm?", "Could I get a table for two at seven pm?")
    assert same["number_conflict"] == 0.0 and same["number_one_side"] == 0.0


def test_unmentioned_names_count_but_misspelt_ones_do_not() -> None:
    assert (
        features("What's the baggage allowance on easyJet?", "What's the baggage allowance on Ryanair?")[
            "entity_unmatched"
        ]
        == 2.0
    )
    assert (
        features(
            "What time does the leisure centre open on Mondays?",
            "What time does the leisure centre open on Mondys?",
        )["entity_unmatched"]
        == 0.0
    )


def test_paraphrase_raises_no_trap_signal() -> None:
    f = features(
        "How do I set up a direct debit for my energy bill?",
        "How can I set up a direct debit for my energy bill?",
    )
    traps = (
        "negation_mismatch",
        "antonym",
        "role_swap",
        "number_conflict",
        "number_one_side",
        "entity_unmatched",
    )
    assert all(f[name] == 0.0 for name in traps)
    assert f["content_overlap"] == 1.0


def test_runner_up_candidates_carry_their_margin() -> None:
    assert abs(features("a question", "a question", similarity=0.8, best=0.9)["rank_margin"] + 0.1) < 1e-9


def test_spelling_only_when_every_difference_is_a_slip() -> None:
    slips = ("Is there step-free access at the station?", "Is there step-free acess at the staion?")
    credit = [features(*slips, similarity=s)["spelling_only"] for s in (SPELLING_MIN_SIMILARITY, 0.6, 0.8)]
    assert credit == sorted(credit, reverse=True) and credit[0] == 1.0 and credit[-1] > 0.0
    assert features(*slips, similarity=SIMILARITY_KNEE)["spelling_only"] == 0.0
    assert features(*slips, similarity=SPELLING_MIN_SIMILARITY - 0.01)["spelling_only"] == 0.0
    assert features("How do I reset my password?", "How can I reset my password?")["spelling_only"] == 0.0
    assert (
        features("Where can I find my invoice history?", "Where can I find my invioce records?")[
            "spelling_only"
        ]
        == 0.0
    )


def test_ranges_and_gates_cover_every_text_feature() -> None:
    assert FEATURE_NAMES[: len(SIMILARITY_FEATURES)] == SIMILARITY_FEATURES
    assert set(FEATURE_RANGES) == set(FEATURE_NAMES) - set(SIMILARITY_FEATURES)
    assert set(GATED_FEATURES) <= set(FEATURE_RANGES)
    pairs = [
        ("How do I add a user?", "How do I remove a user?"),
        ("Can I open a Lifetime ISA at 39?", "Can I open a Lifetime ISA at 41 or 42?"),
        (
            "What's the baggage allowance on easyJet?",
            "Is the BA and Ryanair and KLM baggage allowance bigger?",
        ),
    ]
    for a, b in pairs:
        for name, value in features(a, b, similarity=0.7).items():
            if name in FEATURE_RANGES:
                low, high = FEATURE_RANGES[name]
                assert low <= value <= high, name


def test_order_breaks_count_words_trading_places_more_than_a_moved_phrase() -> None:
    def score(a: str, b: str) -> float:
        return order_breaks(profile(a), profile(b))

    swapped = score("flights from Paris to Berlin", "flights from Berlin to Paris")
    slots = score("The episode was written by Adam Davidson and is directed by Matt Warburton.",
                  "The episode was written by Matt Warburton and is directed by Adam Davidson.")
    fronted = score("Is there a discount for students on train tickets?",
                    "On train tickets, is there a discount for students?")
    assert swapped >= 0.25
    assert score("Is Anna older than Maria?", "Is Maria older than Anna?") >= 0.25
    assert fronted == 0.0 < slots < swapped
    assert score("How do I reset my password?", "how do i reset my password") == 0.0
    assert score("How do I reset my password?", "Where can I find the nearest branch?") == 0.0
    assert score("flights from Paris to Berlin", "flights from Berlin to Paris") == score(
        "flights from Berlin to Paris", "flights from Paris to Berlin")
    assert features("flights from Paris to Berlin", "flights from Berlin to Paris")["order_breaks"] >= 0.25


def test_order_breaks_forgive_only_a_phrase_moved_to_an_end() -> None:
    def score(a: str, b: str) -> float:
        return order_breaks(profile(a), profile(b))

    assert score("Can I pay by card at the airport?", "At the airport, can I pay by card?") == 0.0
    assert score("Li Jing took over when his father Li Bian died in 943.",
                 "Li Jing took over when his father died in Li Bian in 943.") > 0.0
    assert score("Callum (born 1982 in Cambridge, New Zealand) is a professional squash player.",
                 "Callum (born 1982 in New Zealand) is a professional Cambridge squash player.") > 0.0


def test_same_words_is_case_spacing_and_sentence_punctuation_only() -> None:
    def same(a: str, b: str, similarity: float = 0.95) -> float:
        return features(a, b, similarity)["same_words"]

    assert same("What time do you open on Sundays?", "what time do you open on sundays") == 1.0
    assert same("Where is my parcel?", "where  is my parcel ?!") == 1.0
    assert same("Where is my parcel?", "where is my parcel", similarity=0.79) == 0.0
    for a, b in [("What is -5 squared?", "What is 5 squared?"), ("Use C# async", "Use C async"),
                 ("What is 1.5 + 2?", "What is 15 + 2?"), ("Meet at 5:30", "Meet at 530"),
                 ("Is 10% off better?", "Is 10 off better?"),
                 ("What is (a or b) and c?", "What is a or (b and c)?"),
                 ("Which items can't be recycled?", "Which items can be recycled?"),
                 ("What time do you open on Sundays?", "What time do you open on Sunday?"), ("?", "!")]:
        assert same(a, b) == 0.0, (a, b)
