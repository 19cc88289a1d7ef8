"""The PII policy for the drop-in clients and the proxy: screen a request's question and its
other turns before it touches the cache (see cacheback/pii and docs/pii.md)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from ..cache import SemanticCache
from ..conversation import message_text
from ._policy import Plan

__all__ = ["screened"]


def _other_turns(body: Mapping[str, Any]) -> list[str]:
    """The text of every turn but the last (the question), system prompts included."""
    texts = []
    system = body.get("system")
    if isinstance(system, str):
        texts.append(system)
    elif isinstance(system, list):
        texts.extend(str(b.get("text", "")) for b in system if isinstance(b, dict))
    for message in (body.get("messages") or [])[:-1]:
        if isinstance(message, dict):
            try:
                texts.append(message_text(message))
            except ValueError:
                continue
    return texts


def screened(cache: SemanticCache, plan: Plan, body: Mapping[str, Any], mode: str | None) -> Plan:
    """``plan`` after the PII policy: a bypass naming the kinds found, the question with
    placeholders (``redact``), or unchanged. ``mode`` None means the cache's own mode."""
    if plan.query is None or (mode or cache.pii) == "off":
        return plan
    screening = cache.screen(plan.query, pii=mode, context=_other_turns(body))
    if screening.bypass:
        return Plan.bypass(screening.reason or "personal data")
    return dataclasses.replace(plan, query=screening.text, pii=screening,
                               reason=plan.reason or screening.reason)
