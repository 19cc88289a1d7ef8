"""End to end: personal data never reaches the database, its WAL or the index file; ``redact``
serves a templated personal question to a second user without storing either user's data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cacheback import ConfigurationError, SemanticCache
from cacheback.openai import CachedOpenAI, CachePolicy
from cacheback.testing import FakeUpstream, Reply

CARD_1, CARD_2 = "4539 1488 0343 6467", "5105 1051 0510 5100"
EMAIL = "maria.rossi@example.com"
PERSONAL_PROMPT = f"My card {CARD_1} was declined, please reply to {EMAIL}"
PERSONAL_STRINGS = (CARD_1, CARD_1.replace(" ", ""), EMAIL, "maria.rossi")


def _files(db: Path) -> list[Path]:
    return [p for p in db.parent.iterdir() if p.name.startswith(db.name)]


def _assert_absent(db: Path, strings: tuple[str, ...]) -> None:
    files = _files(db)
    assert any(p.name == db.name for p in files)
    for path in files:
        data = path.read_bytes()
        for s in strings:
            for encoded in (s.encode(), s.encode("utf-16-le")):
                assert encoded not in data, (path.name, s)


@pytest.fixture
def client(tmp_path: Path, embedder: Any) -> Iterator[tuple[CachedOpenAI, FakeUpstream, Path]]:
    db = tmp_path / "cache.db"
    with FakeUpstream() as upstream:
        cache = SemanticCache(db, embedder=embedder)
        with CachedOpenAI(api_key="k", base_url=upstream.openai_base_url, cache=cache) as c:
            yield c, upstream, db
        cache.close()


def _ask(client: CachedOpenAI, text: str, **extra: Any) -> Any:
    return client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}], **extra)


def test_personal_prompt_asked_twice_goes_upstream_twice_and_is_never_written(client: Any) -> None:
    c, upstream, db = client
    first = _ask(c, PERSONAL_PROMPT)
    second = _ask(c, PERSONAL_PROMPT)
    assert upstream.request_count() == 2
    assert first.cacheback.tier == second.cacheback.tier == "bypass"
    assert "card" in second.cacheback.reason and "email" in second.cacheback.reason
    assert CARD_1 not in second.cacheback.reason
    _ask(c, "What are your opening hours?")  # an ordinary question is still stored
    c.cache.flush()
    c.cache.save_index()
    stats = c.cache.stats()
    assert stats["entries"] == 1
    assert stats["counters"]["pii.bypass"] == 2 and stats["counters"]["pii.found.card"] == 2
    assert CARD_1 not in repr(stats)
    _assert_absent(db, PERSONAL_STRINGS)
    c.cache.close()
    _assert_absent(db, PERSONAL_STRINGS)


def test_personal_data_in_an_earlier_turn_also_bypasses(client: Any) -> None:
    c, upstream, _ = client
    history = [{"role": "user", "content": f"I am at {EMAIL}"},
               {"role": "assistant", "content": "Noted."},
               {"role": "user", "content": "What are your opening hours?"}]
    for _ in range(2):
        result = c.chat.completions.create(model="gpt-4o-mini", messages=history)
    assert result.cacheback.tier == "bypass" and upstream.request_count() == 2


def test_per_call_off_and_client_policy(client: Any) -> None:
    c, upstream, _ = client
    _ask(c, PERSONAL_PROMPT, cacheback={"pii": "off"})
    assert _ask(c, PERSONAL_PROMPT, cacheback={"pii": "off"}).cacheback.tier == "exact"
    with pytest.raises(Exception, match="pii"):
        _ask(c, "hello", cacheback={"pii": "sometimes"})
    with pytest.raises(ConfigurationError, match="pii"):
        CachePolicy(pii="sometimes")


def test_redact_serves_a_second_user_without_storing_either(client: Any) -> None:
    c, upstream, db = client
    upstream.responder = lambda request: Reply(
        "A card is usually declined for insufficient funds, a wrong PIN or a fraud block.")
    first = _ask(c, f"My card {CARD_1} was declined, why?", cacheback={"pii": "redact"})
    assert first.cacheback.tier == "miss"
    second = _ask(c, f"My card {CARD_2} was declined, why?", cacheback={"pii": "redact"})
    assert second.cacheback.tier == "exact" and upstream.request_count() == 1
    assert second.cacheback.matched_query == "My card <CARD> was declined, why?"
    c.cache.flush()
    c.cache.save_index()
    strings = (CARD_1, CARD_2, CARD_1.replace(" ", ""), CARD_2.replace(" ", ""))
    _assert_absent(db, strings)


def test_redact_does_not_store_an_answer_that_repeats_the_value(client: Any) -> None:
    c, upstream, db = client
    # The fake upstream's default answer quotes the question, card number included.
    _ask(c, f"Is card {CARD_1} blocked?", cacheback={"pii": "redact"})
    assert _ask(c, f"Is card {CARD_2} blocked?", cacheback={"pii": "redact"}).cacheback.tier == "miss"
    assert c.cache.stats()["counters"]["pii.unsafe_answer"] == 2
    _assert_absent(db, (CARD_1, CARD_2))


def test_core_api_modes(tmp_path: Path) -> None:
    with SemanticCache(tmp_path / "c.db", embedder=None) as cache:
        assert cache.put(PERSONAL_PROMPT, "answer") is None
        assert cache.get(PERSONAL_PROMPT) is None
        assert cache.put(PERSONAL_PROMPT, "answer", pii="off") is not None
        assert cache.get(PERSONAL_PROMPT, pii="off") is not None
        assert cache.screen(PERSONAL_PROMPT).kinds == ("card", "email")
    with SemanticCache(tmp_path / "r.db", embedder=None, pii="redact") as cache:
        assert cache.put("call me on +44 20 7946 0958 about my order", "We will call you.") is not None
        hit = cache.get("call me on +1 212 555 0199 about my order")
        assert hit is not None and hit.matched_query == "call me on <PHONE> about my order"
    with pytest.raises(Exception, match="pii"):
        SemanticCache(":memory:", embedder=None, pii="maybe")
