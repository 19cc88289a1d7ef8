"""The context check on the short chats of fow-cache/conversations_dev.jsonl (both directions).

The full table, long chats and held-out figures come from benchmarks/conversation_quality.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cacheback import Candidate
from cacheback.conversation import ConversationPolicy
from cacheback.embed import Embedder

TRAPS = {"context_swap", "detail_swap", "intent_flip"}


def accepted(policy: ConversationPolicy, stored: list[dict[str, Any]], asking: list[dict[str, Any]]) -> bool:
    first, second = policy.key(stored), policy.key(asking)
    assert first is not None and second is not None
    if first.scope_extra != second.scope_extra:
        return False
    entry = Candidate(entry_id=1, query=first.query, response="", similarity=1.0, metadata=first.metadata())
    return second.accepts(entry)


def test_short_dev_chats_no_trap_served_and_standalone_questions_hit(shared_data: Path,
                                                                     embedder: Embedder) -> None:
    path = shared_data / "fow-cache" / "conversations_dev.jsonl"
    if not path.exists():
        pytest.skip("conversations_dev.jsonl is not present")
    pairs = [p for p in map(json.loads, path.read_text(encoding="utf-8").splitlines()) if len(p["a"]) <= 7]
    policy = ConversationPolicy(embedder)
    runs = [(p["subtype"], s, a) for p in pairs for s, a in ((p["a"], p["b"]), (p["b"], p["a"]))]
    outcome = [(subtype, accepted(policy, s, a)) for subtype, s, a in runs]
    assert not [subtype for subtype, hit in outcome if hit and subtype in TRAPS]
    assert all(hit for subtype, hit in outcome if subtype == "irrelevant_history")
    assert sum(hit for subtype, hit in outcome if subtype == "same_context_extra_chatter") >= 4
