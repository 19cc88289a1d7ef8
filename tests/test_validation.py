"""Caller errors raise InvalidInputError (or ConfigurationError) and are never cache faults: the
breaker stays closed, no fault is counted, and the next valid call still hits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cacheback import ConfigurationError, InvalidInputError, SemanticCache


def _deep(n: int) -> Any:
    value: Any = []
    for _ in range(n):
        value = [value]
    return value


CALLER_ERRORS: list[tuple[str, Callable[[SemanticCache], Any]]] = [
    ("delete a str id", lambda c: c.delete("x")),
    ("delete a negative id", lambda c: c.delete(-1)),
    ("delete a bool", lambda c: c.delete(True)),
    ("clear an int namespace", lambda c: c.clear(namespace=123)),
    ("clear an empty namespace", lambda c: c.clear(namespace="")),
    ("get semantic='yes'", lambda c: c.get("q", semantic="yes")),
    ("get semantic=1", lambda c: c.get("q", semantic=1)),
    ("get accept=42", lambda c: c.get("q", accept=42)),
    ("get a 100 MB namespace", lambda c: c.get("q", namespace="n" * 100_000_000)),
    ("put a namespace with a tab", lambda c: c.put("q", "a", namespace="a\tb")),
    ("put a namespace with NUL", lambda c: c.put("q", "a", namespace="a\0b")),
    ("put a deep scope", lambda c: c.put("q", "a", scope=_deep(100_000))),
    ("get a deep scope", lambda c: c.get("q", scope=_deep(100_000))),
    ("put deep metadata", lambda c: c.put("q", "a", metadata={"x": _deep(10_000)})),
    ("put a deep payload", lambda c: c.put("q", "a", payload=_deep(10_000))),
    ("put a non-JSON scope", lambda c: c.put("q", "a", scope={1, 2})),
    ("put ttl='1'", lambda c: c.put("q", "a", ttl="1")),
    ("put ttl=nan", lambda c: c.put("q", "a", ttl=float("nan"))),
    ("put a bytes query", lambda c: c.put(b"q", "a")),
    ("put a blank response", lambda c: c.put("q", "  ")),
    ("candidates k=0", lambda c: c.candidates("q", k=0)),
    ("candidates k='5'", lambda c: c.candidates("q", k="5")),
    ("report a dict", lambda c: c.report({"entry_id": 1})),
    # more of each class: sizes past what a number type holds, per-call modes, screen()
    ("put ttl=10**400", lambda c: c.put("q", "a", ttl=10**400)),
    ("put ttl=-inf", lambda c: c.put("q", "a", ttl=float("-inf"))),
    ("delete 10**30", lambda c: c.delete(10**30)),
    ("delete 2**63", lambda c: c.delete(2**63)),
    ("get pii='maybe'", lambda c: c.get("q", pii="maybe")),
    ("get pii=3", lambda c: c.get("q", pii=3)),
    ("put pii='nope'", lambda c: c.put("q", "a", pii="nope")),
    ("candidates pii='x'", lambda c: c.candidates("q", pii="x")),
    ("screen None", lambda c: c.screen(None)),
    ("screen bytes", lambda c: c.screen(b"q")),
    ("screen pii='x'", lambda c: c.screen("q", pii="x")),
    ("screen context=5", lambda c: c.screen("q", context=5)),
    ("screen context of bytes", lambda c: c.screen("q", context=[b"x"])),
    ("screen instructions='abc'", lambda c: c.screen("q", instructions="abc")),
    ("get scope=10**5000", lambda c: c.get("q", scope=10**5000)),
    ("get a cyclic scope", lambda c: c.get("q", scope=_cyclic())),
    ("put cyclic metadata", lambda c: c.put("q", "a", metadata={"self": _cyclic()})),
    ("put a NaN payload", lambda c: c.put("q", "a", payload={"x": float("nan")})),
    ("get a deep dict scope", lambda c: c.get("q", scope=_deep_dict(50_000))),
]


def _cyclic() -> list[Any]:
    loop: list[Any] = []
    loop.append(loop)
    return loop


def _deep_dict(n: int) -> Any:
    value: Any = {}
    for _ in range(n):
        value = {"a": value}
    return value


@pytest.mark.parametrize("call", [c for _, c in CALLER_ERRORS], ids=[n for n, _ in CALLER_ERRORS])
def test_caller_errors_raise_and_are_not_cache_faults(call: Callable[[SemanticCache], Any]) -> None:
    with SemanticCache(":memory:", embedder=None) as cache:
        cache.put("How do I reset my password?", "Settings > Security.")
        for _ in range(10):
            with pytest.raises(InvalidInputError):
                call(cache)
        hit = cache.get("How do I reset my password?")
        assert hit is not None and hit.tier == "exact"
        stats = cache.stats()
        assert not any(k.startswith(("errors.", "put_failures", "get_failures")) and v
                       for k, v in stats.get("counters", stats).items() if isinstance(v, int))
        assert stats["breaker"] == "closed" and stats.get("last_error") is None


@pytest.mark.parametrize("options", [
    {"candidates_k": 0}, {"max_query_chars": -1}, {"max_entries": "10"}, {"max_bytes": True},
    {"path": 12},
])
def test_bad_constructor_options_are_configuration_errors(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        SemanticCache(**{"path": ":memory:", "embedder": None, **options})
