"""The PII policy for the drop-in clients and the proxy: screen a request's question and its
other turns before it touches the cache (see cacheback/pii and docs/pii.md)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from ..cache import SemanticCache
from ..conversation import message_text
from ..pii import Screening
from ._policy import Plan

__all__ = ["UNSCREENED", "screened"]

#: The mark of a plan whose screening failed: looked up only through the cache's own guard,
#: never stored.
UNSCREENED = Screening("bypass", "bypass", "", ("unscreened",))


_INSTRUCTION_ROLES = frozenset({"system", "developer"})


def _other_texts(body: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(earlier user/assistant/tool turns, system and developer prompts) of a request."""
    turns: list[str] = []
    instructions: list[str] = []
    if isinstance(body.get("instructions"), str):  # the Responses API's system prompt
        instructions.append(body["instructions"])
    system = body.get("system")
    if isinstance(system, str):
        instructions.append(system)
    elif isinstance(system, list):
        instructions.extend(str(b.get("text", "")) for b in system if isinstance(b, dict))
    for message in (body.get("messages") or [])[:-1]:
        if isinstance(message, dict):
            try:
                text = message_text(message)
            except ValueError:
                continue
            (instructions if message.get("role") in _INSTRUCTION_ROLES else turns).append(text)
    return turns, instructions


def screened(cache: SemanticCache, plan: Plan, body: Mapping[str, Any], mode: str | None) -> Plan:
    """``plan`` after the PII policy: a bypass naming the kinds found, the question with
    placeholders (``redact``), or unchanged. ``mode`` None means the cache's own mode."""
    try:
        if plan.query is None or (mode or cache.pii) == "off":
            return plan
        turns, instructions = _other_texts(body)
        screening = cache.screen(plan.query, pii=mode, context=turns, instructions=instructions)
    except Exception:  # noqa: BLE001 - a broken cache must not break the call
        # Not screened: the lookup screens again inside the cache, and nothing is stored.
        return dataclasses.replace(plan, pii=UNSCREENED)
    if screening.bypass:
        return Plan.bypass(screening.reason or "personal data")
    return dataclasses.replace(plan, query=screening.text, pii=screening,
                               reason=plan.reason or screening.reason)
