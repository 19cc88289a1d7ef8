"""Images and audio in the last user turn, for the engine: one resolver per cache and policy.

A request whose last turn holds images or audio is rewritten, for keying only, into a text turn
(its text plus any transcript), planned by the dialect as usual, and its scope gains the media
ids (``cacheback.media``). The body sent upstream is never changed.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import weakref
from collections.abc import Mapping
from typing import Any

from ..cache import SemanticCache
from ..media import MediaPolicy, MediaResolver, Resolved
from ..media._resolve import REHEAR_CANDIDATES
from ._policy import Plan

__all__ = ["has_media", "media_body", "reheard", "resolver_for"]

log = logging.getLogger("cacheback.clients")
_TEXT_TYPES = frozenset({"text", "input_text"})
_resolvers: weakref.WeakKeyDictionary[SemanticCache, dict[MediaPolicy, MediaResolver]] = \
    weakref.WeakKeyDictionary()
_lock = threading.Lock()


def resolver_for(cache: SemanticCache, policy: MediaPolicy | None) -> MediaResolver | None:
    """The resolver shared by every client and proxy request on ``cache`` under ``policy``
    (so the image registry and the Whisper model exist once per cache)."""
    if policy is None:
        return None
    with _lock:
        per_cache = _resolvers.setdefault(cache, {})
        resolver = per_cache.get(policy)
        if resolver is None:
            resolver = per_cache[policy] = MediaResolver(policy, db_path=cache.path)
        return resolver


def _last_content(body: Mapping[str, Any]) -> Any:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not isinstance(messages[-1], Mapping):
        return None
    return messages[-1].get("content")


def has_media(body: Mapping[str, Any]) -> bool:
    """Whether the last turn has a non-text part (cheap: no decoding)."""
    content = _last_content(body)
    if not isinstance(content, list):
        return False
    return any(not (isinstance(p, Mapping) and p.get("type") in _TEXT_TYPES) for p in content)


def media_body(body: Mapping[str, Any], resolver: MediaResolver, namespace: str
               ) -> tuple[dict[str, Any], Resolved]:
    """``body`` with its last turn's content replaced by the resolved text, and the resolution
    (whose ``text`` is None when the request must bypass the cache)."""
    resolved = resolver.resolve(_last_content(body), namespace)
    text = resolved.text if resolved.text is not None else resolved.unsure
    if text is None:
        return dict(body), resolved
    messages = list(body["messages"])
    messages[-1] = {**messages[-1], "content": text}
    return {**body, "messages": messages}, resolved



def reheard(cache: SemanticCache, resolver: MediaResolver | None, resolved: Resolved | None,
            plan: Plan, namespace: str) -> Plan:
    """``plan`` for a spoken question, its query replaced by the stored question the
    recording also says when the match decision would refuse every nearest one
    (:meth:`MediaResolver.rehear`); unchanged otherwise, and on any failure. A recording
    whose transcript was refused as unsure is served only the stored question it is recovered
    as (:meth:`MediaResolver.recover`), never stored; otherwise it bypasses."""
    if resolved is not None and resolved.text is None:
        return _recovered(cache, resolver, resolved, plan, namespace)
    if (resolver is None or resolved is None or resolved.audio is None or not resolver.policy.rehear
            or plan.query is None or not plan.lookup or plan.exact_only):
        return plan
    try:
        candidates = cache.candidates(plan.query, namespace=namespace, scope=plan.scope,
                                      k=REHEAR_CANDIDATES)
        if not candidates or cache.matcher.decide(plan.query, candidates).accepted is not None:
            return plan
        query = resolver.rehear(resolved, [c.query for c in candidates])
    except Exception as exc:  # noqa: BLE001 - the cache must never break the call
        log.warning("cacheback: re-hearing a spoken question failed: %r", exc)
        return plan
    return plan if query is None else dataclasses.replace(plan, query=query)


def _recovered(cache: SemanticCache, resolver: MediaResolver | None, resolved: Resolved,
               plan: Plan, namespace: str) -> Plan:
    """``plan`` (keyed on an unsure transcript) as a lookup of the stored question the recording
    is recovered as, which is never stored; a bypass with the confidence gate's reason otherwise."""
    bypass = Plan.bypass(str(resolved.reason))
    if resolver is None or plan.query is None or not plan.lookup or plan.exact_only:
        return bypass
    try:
        candidates = cache.candidates(plan.query, namespace=namespace, scope=plan.scope,
                                      k=REHEAR_CANDIDATES)
        query = resolver.recover(resolved, [c.query for c in candidates]) if candidates else None
    except Exception as exc:  # noqa: BLE001 - the cache must never break the call
        log.warning("cacheback: recovering a spoken question failed: %r", exc)
        return bypass
    return bypass if query is None else dataclasses.replace(plan, query=query, keep=False)
