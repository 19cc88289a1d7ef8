"""Conversation keys: what is embedded and scoped, and which stored contexts may be served."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cacheback import Candidate, SemanticCache
from cacheback.conversation import METADATA_KEY, ContextMatcher, ConversationKey, ConversationPolicy
from cacheback.embed import Embedder
from cacheback.match import ThresholdMatcher

Chat = list[dict[str, Any]]


def chat(*turns: str) -> Chat:
    """Alternating user / assistant messages, starting with the user."""
    return [{"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(turns)]


@pytest.fixture(scope="module")
def policy(embedder: Embedder) -> ConversationPolicy:
    return ConversationPolicy(embedder)


def key_of(policy: ConversationPolicy, messages: Chat) -> ConversationKey:
    key = policy.key(messages)
    assert key is not None
    return key


def stored_as(key: ConversationKey, *, roundtrip: bool = True) -> Candidate:
    metadata = json.loads(json.dumps(key.metadata())) if roundtrip else key.metadata()
    return Candidate(entry_id=7, query=key.query, response="stored answer", similarity=1.0, metadata=metadata)


def fits(policy: ConversationPolicy, stored: Chat, asking: Chat) -> bool:
    first, second = key_of(policy, stored), key_of(policy, asking)
    return first.scope_extra == second.scope_extra and second.accepts(stored_as(first))


def test_standalone_question_hits_across_unrelated_histories(policy: ConversationPolicy) -> None:
    question = "Does Flixora offer a free trial?"
    first = chat("my phone screen is cracked, can you repair it?", "Yes, book it in the app.", question)
    second = chat("how do I check my data usage?", "Open the app's home screen.", question)
    assert key_of(policy, first).scope_extra == {"conversation": "standalone"}
    assert fits(policy, first, second)


def test_yes_please_to_a_different_offer_is_refused(policy: ConversationPolicy) -> None:
    opening = "My Flixora subscription renews tomorrow"
    cancel = chat(opening, "That's right, £12.99 will be taken tomorrow. Would you like me to cancel it?",
                  "yes please")
    switch = chat(opening, "That's right, £12.99 will be taken tomorrow. Would you like me to switch you to "
                           "annual billing instead, saving £26 a year?", "yes please")
    assert not fits(policy, cancel, switch)
    assert not fits(policy, switch, cancel)
    reason = key_of(policy, switch).why_not(stored_as(key_of(policy, cancel)))
    assert reason is not None and "26" in reason


def test_same_follow_up_with_extra_chit_chat_hits(policy: ConversationPolicy) -> None:
    plain = chat("What's the cheapest Flixora plan?", "Standard with Ads, at £5.99 a month.",
                 "does it have downloads?")
    chatty = chat("Morning! The cat knocked my coffee over lol. What's the cheapest Flixora plan?",
                  "Sorry about the coffee! Standard with Ads, at £5.99 a month.", "does it have downloads?")
    assert fits(policy, plain, chatty)


def test_a_swapped_detail_in_the_context_is_refused(policy: ConversationPolicy) -> None:
    flixora = chat("I've got a Flixora subscription I barely use.",
                   "Your Flixora Standard plan renews on the 14th at £10.99. Cancel or change it?",
                   "cancel it")
    gym = chat("My PulseFit membership costs too much.",
               "Your PulseFit Off-Peak membership is £24.99 a month. Cancel or freeze it?", "cancel it")
    reason = key_of(policy, gym).why_not(stored_as(key_of(policy, flixora)))
    assert reason is not None and "missing" in reason


def test_picking_by_position_needs_the_same_order(policy: ConversationPolicy) -> None:
    opening = "need to change my broadband plan, I'm with Nimbus"
    fibre = "Fibre 500 at £32 a month"
    tv = "the TV add-on for £10 a month"
    fibre_first = chat(opening, f"Option 1 is {fibre}, option 2 is {tv}.", "the second one")
    tv_first = chat(opening, f"Option 1 is {tv}, option 2 is {fibre}.", "the second one")
    assert fits(policy, fibre_first, fibre_first)
    assert not fits(policy, fibre_first, tv_first)


def test_follow_up_and_standalone_never_share_a_scope(policy: ConversationPolicy) -> None:
    follow_up = key_of(policy, chat("Hi", "Hello!", "how long does it take?"))
    standalone = key_of(policy, chat("How long does a Harbour Bank transfer to Spain take?"))
    assert follow_up.scope_extra != standalone.scope_extra
    assert not standalone.accepts(stored_as(follow_up))


def test_damaged_or_missing_stored_context_is_refused(policy: ConversationPolicy) -> None:
    key = key_of(policy, chat("Hi", "Hello! Shall I cancel your Flixora plan?", "yes"))
    assert not key.accepts(Candidate(entry_id=1, query="yes", response="r", similarity=1.0, metadata={}))
    broken = {METADATA_KEY: {"v": 1, "follow_up": True, "facts": [["x"]]}}
    assert not key.accepts(Candidate(entry_id=1, query="yes", response="r", similarity=1.0, metadata=broken))


def test_keys_need_a_last_user_text_turn(policy: ConversationPolicy) -> None:
    assert policy.key(chat("Hi", "Hello!")) is None
    image = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:..."}}]}]
    assert policy.key(image) is None
    parts = [{"role": "system", "content": "be brief"},
             {"role": "user", "content": [{"type": "text", "text": "Does Flixora offer a free trial?"}]}]
    assert key_of(policy, parts).query == "Does Flixora offer a free trial?"


def test_tool_calls_are_part_of_the_context(policy: ConversationPolicy) -> None:
    def with_call(city: str) -> Chat:
        return [{"role": "user", "content": "What's the weather?"},
                {"role": "assistant", "content": None,
                 "tool_calls": [{"id": "c1", "type": "function",
                                 "function": {"name": "weather", "arguments": f'{{"city": "{city}"}}'}}]},
                {"role": "tool", "tool_call_id": "c1", "content": f"Sunny in {city}"},
                {"role": "user", "content": "and tomorrow?"}]
    assert not fits(policy, with_call("Paris"), with_call("Rome"))


def test_without_an_embedder_a_follow_up_is_scoped_by_its_history() -> None:
    policy = ConversationPolicy(None)
    one = key_of(policy, chat("Shall I cancel it?", "Sure?", "yes"))
    two = key_of(policy, chat("Shall I renew it?", "Sure?", "yes"))
    assert one.scope_extra["history"] != two.scope_extra["history"]
    standalone = key_of(policy, chat("Does Flixora offer a free trial?"))
    assert standalone.scope_extra == {"conversation": "standalone"}


def test_a_real_cache_serves_only_entries_whose_context_fits(
    policy: ConversationPolicy, embedder: Embedder
) -> None:
    cache = SemanticCache(":memory:", embedder=embedder)
    offer = "Your Flixora renewal is tomorrow at £12.99. Would you like me to cancel it?"
    stored = key_of(policy, chat("My Flixora renews tomorrow", offer, "yes please"))
    cache.put(stored.query, "Done, it's cancelled.", scope=stored.scope_extra, metadata=stored.metadata())

    def served(asking: Chat) -> str | None:
        key = key_of(policy, asking)
        hit = cache.get(key.query, scope=key.scope_extra, accept=key.accepts)
        return hit.response if hit else None

    assert served(chat("my flixora renews tomorrow!", offer, "Yes please.")) == "Done, it's cancelled."
    assert served(chat("My Flixora renews tomorrow", offer.replace("cancel", "renew"), "yes please")) is None
    cache.close()


def test_context_matcher_filters_candidates_before_the_base_matcher(policy: ConversationPolicy) -> None:
    offer = "Would you like me to cancel your Flixora plan?"
    stored = stored_as(key_of(policy, chat("Hi", offer, "yes")))
    other = stored_as(key_of(policy, chat("Hi", "Would you like me to renew your Flixora plan?", "yes")))
    key = key_of(policy, chat("Hi", offer, "yes"))
    matcher = ContextMatcher(ThresholdMatcher(0.9), key)
    assert matcher.decide("yes", [other, stored]).accepted is stored
    assert matcher.decide("yes", [other]).accepted is None
