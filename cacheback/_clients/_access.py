"""The cache as the drop-in clients use it: fail-open, hits turned back into responses."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from .._types import Hit
from ..cache import SemanticCache
from ._dialects import Dialect, Verdict
from ._policy import CachePolicy, Plan
from ._record import CacheRecord

__all__ = ["CacheAccess"]

log = logging.getLogger("cacheback.clients")


class CacheAccess:
    """Looks up and stores answers for one client; a cache failure becomes a miss, logged once."""

    def __init__(self, cache: SemanticCache, dialect: Dialect, policy: CachePolicy,
                 namespace: str, ttl: float | None) -> None:
        self.cache = cache
        self.dialect = dialect
        self.policy = policy
        self.namespace = namespace
        self.ttl = ttl
        self._warned = False

    def _failed(self, action: str, exc: BaseException) -> None:
        level = logging.DEBUG if self._warned else logging.WARNING
        self._warned = True
        log.log(level, "cacheback: cache %s failed, calling the upstream instead: %r", action, exc)

    def lookup(self, plan: Plan) -> Hit | None:
        """The hit for ``plan``; an exact-only entry is never served semantically."""
        if not plan.lookup or plan.query is None:
            return None
        try:
            hit = self.cache.get(plan.query, namespace=self.namespace, scope=plan.scope,
                                 semantic=not plan.exact_only)
        except Exception as exc:  # noqa: BLE001 - the cache must never break the call
            self._failed("lookup", exc)
            return None
        if hit is not None and hit.tier != "exact" and (hit.metadata or {}).get("exact_only"):
            return None
        return hit

    def response_for(self, hit: Hit, body: Mapping[str, Any]) -> dict[str, Any]:
        """The stored provider response, or one built around the stored text."""
        if hit.payload:
            try:
                payload = json.loads(hit.payload)
                if isinstance(payload, dict):
                    return payload
            except ValueError:
                pass
        return self.dialect.synthesize(hit.response, body, hit.entry_id)

    def record_for(self, hit: Hit, response: Mapping[str, Any], plan: Plan) -> CacheRecord:
        """The ``.cacheback`` record of a hit."""
        return CacheRecord(tier="exact" if hit.tier == "exact" else "semantic",
                           similarity=hit.similarity, matched_query=hit.matched_query,
                           entry_id=hit.entry_id, probability=hit.probability,
                           cost_saved_usd=self.dialect.cost(response, plan.query or ""),
                           reason=plan.reason)

    def verdict(self, plan: Plan, response: Mapping[str, Any]) -> Verdict:
        """Whether ``response`` to ``plan`` may be stored (never for a bypassed call)."""
        if not plan.store:
            return Verdict(False)
        try:
            return self.dialect.verdict(response, self.policy)
        except (AttributeError, TypeError, ValueError) as exc:
            self._failed("verdict", exc)
            return Verdict(False)

    def store(self, plan: Plan, response: dict[str, Any], verdict: Verdict) -> None:
        """Store a complete answer; failures are logged and swallowed."""
        if not verdict.store or plan.query is None:
            return
        try:
            self.cache.put(
                plan.query, self.dialect.answer_text(response), namespace=self.namespace,
                scope=plan.scope, ttl=plan.ttl or self.ttl, payload=response,
                metadata={"api": self.dialect.name, "model": response.get("model"),
                          "exact_only": verdict.exact_only})
        except Exception as exc:  # noqa: BLE001 - the cache must never break the call
            self._failed("store", exc)

