"""The cache as the drop-in clients use it: fail-open, hits turned back into responses."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import Mapping
from typing import Any

from .._types import Candidate, Hit
from ..cache import SemanticCache
from ..ceag import SynthesisResult, SynthesisTier
from ..conversation import ConversationPolicy, message_text
from ._dialects import Dialect, Verdict
from ._flight import AsyncFlights, Flights
from ._media import has_media, media_body, reheard, resolver_for
from ._pii import UNSCREENED, screened
from ._policy import CachePolicy, CallOptions, Plan
from ._record import CacheRecord

__all__ = ["CacheAccess"]

log = logging.getLogger("cacheback.clients")

#: The ``model`` of a response the local synthesizer wrote (no model did).
LOCAL_SYNTHESIS_MODEL = "cacheback-local-synthesis"
_KEPT_IN_SCOPE = frozenset({"system", "developer"})


def _recent_turns(body: Mapping[str, Any], limit: int = 6) -> list[tuple[str, str]]:
    """The last text turns before the question, for a synthesis prompt."""
    turns = []
    for message in (body.get("messages") or [])[:-1]:
        if isinstance(message, dict) and message.get("role") in ("user", "assistant"):
            try:
                turns.append((str(message["role"]), message_text(message)))
            except ValueError:
                continue
    return turns[-limit:]


class CacheAccess:
    """Looks up and stores answers for one client; a cache failure becomes a miss, logged once."""

    def __init__(self, cache: SemanticCache, dialect: Dialect, policy: CachePolicy,
                 namespace: str, ttl: float | None) -> None:
        self.cache = cache
        self.dialect = dialect
        self.policy = policy
        self.namespace = namespace
        self.ttl = ttl
        self.conversation = ConversationPolicy(cache.embedder) if policy.conversation_aware else None
        self.media = resolver_for(cache, policy.media)
        self.flights = Flights()
        self.aflights = AsyncFlights()
        self._warned = False

    def _failed(self, action: str, exc: BaseException) -> None:
        level = logging.DEBUG if self._warned else logging.WARNING
        self._warned = True
        log.log(level, "cacheback: cache %s failed, calling the upstream instead: %r", action, exc)

    def keyed(self, plan: Plan, body: Mapping[str, Any]) -> Plan:
        """``plan`` under the conversation-aware policy: earlier turns leave the scope (system
        and developer messages stay) and the context is compared per entry instead."""
        if self.conversation is None or plan.query is None:
            return plan
        try:
            key = self.conversation.key(body.get("messages") or [])
        except Exception as exc:  # noqa: BLE001 - the cache must never break the call
            self._failed("conversation key", exc)
            return plan
        if key is None:
            return plan
        scope = dict(plan.scope)
        scope["messages"] = [m for m in scope.get("messages") or []
                             if isinstance(m, dict) and m.get("role") in _KEPT_IN_SCOPE]
        scope.update(key.scope_extra)
        return dataclasses.replace(plan, scope=scope, conversation=key)

    def prepare(self, body: Mapping[str, Any], options: CallOptions) -> Plan:
        """How a request body uses the cache: images and audio keyed (``cacheback.media``),
        the dialect's rules, the PII policy, then the conversation key, all on the dialect's
        chat-shaped view of the body."""
        return self._prepare_view(self.dialect.view(body), options)

    def _prepare_view(self, body: Mapping[str, Any], options: CallOptions) -> Plan:
        keyed_body: Mapping[str, Any] = body
        media_scope: dict[str, Any] = {}
        resolved = None
        if self.media is not None and not options.bypass and has_media(body):
            keyed_body, resolved = media_body(body, self.media, self.namespace)
            if resolved.text is None and resolved.unsure is None:
                return Plan.bypass(str(resolved.reason))
            media_scope = resolved.scope
        plan = self.dialect.plan(keyed_body, self.policy, options)
        if plan.query is not None and media_scope:
            plan = dataclasses.replace(plan, scope={**plan.scope, **media_scope})
        plan = screened(self.cache, plan, keyed_body, options.pii or self.policy.pii)
        if plan.pii is not None and plan.pii.redacted:
            # The context signature reads the raw turns; a redacted question keeps the whole
            # history in its (hashed) scope instead, the conversation policy's safe fallback.
            return plan if resolved is None or resolved.text is not None else \
                Plan.bypass(str(resolved.reason))
        return reheard(self.cache, self.media, resolved, self.keyed(plan, keyed_body), self.namespace)

    async def aprepare(self, body: Mapping[str, Any], options: CallOptions) -> Plan:
        """:meth:`prepare` for asyncio: a request with media (which may be transcribed or
        decoded) is keyed in a worker thread."""
        view = self.dialect.view(body)
        if self.media is not None and not options.bypass and has_media(view):
            return await asyncio.to_thread(self._prepare_view, view, options)
        return self._prepare_view(view, options)

    def answer(self, plan: Plan, body: Mapping[str, Any]
               ) -> tuple[dict[str, Any], CacheRecord] | None:
        """The cached answer to return and its record (a hit, else a synthesized answer), or
        None to call the upstream."""
        hit = self.lookup(plan) if plan.lookup else None
        return self.served(hit, body, plan) if hit is not None else self.synthesize(plan, body)

    async def aanswer(self, plan: Plan, body: Mapping[str, Any]
                      ) -> tuple[dict[str, Any], CacheRecord] | None:
        """:meth:`answer` for asyncio: the lookup, which may embed, runs in a worker thread."""
        hit = await asyncio.to_thread(self.lookup, plan) if plan.lookup else None
        if hit is not None:
            return self.served(hit, body, plan)
        return await self.asynthesize(plan, body)

    def served(self, hit: Hit, body: Mapping[str, Any], plan: Plan
               ) -> tuple[dict[str, Any], CacheRecord]:
        """A hit as the provider response to return and its ``.cacheback`` record."""
        response = self.response_for(hit, body)
        return response, self.record_for(hit, response, plan)

    def finish(self, plan: Plan, response: dict[str, Any]) -> int | None:
        """Store a complete upstream answer if the rules allow it; the entry id, or None."""
        return self.store(plan, response, self.verdict(plan, response))

    async def afinish(self, plan: Plan, response: dict[str, Any]) -> int | None:
        """:meth:`finish` for asyncio: the store, which embeds, runs in a worker thread."""
        verdict = self.verdict(plan, response)
        if not verdict.store:
            return None
        return await asyncio.to_thread(self.store, plan, response, verdict)

    def lookup(self, plan: Plan) -> Hit | None:
        """The hit for ``plan``; an exact-only entry is never served semantically."""
        if not plan.lookup or plan.query is None:
            return None
        try:
            hit = self.cache.get(plan.query, namespace=self.namespace, scope=plan.scope,
                                 semantic=not plan.exact_only,
                                 pii=None if plan.pii is UNSCREENED else "off",
                                 accept=plan.conversation.accepts if plan.conversation else None)
        except Exception as exc:  # noqa: BLE001 - the cache must never break the call
            self._failed("lookup", exc)
            return None
        if hit is not None and hit.tier != "exact" and (hit.metadata or {}).get("exact_only"):
            return None
        return hit

    def _synthesis_args(self, plan: Plan, body: Mapping[str, Any]
                        ) -> tuple[SynthesisTier, list[Candidate], dict[str, Any]] | None:
        tier = self.policy.synthesis
        if tier is None or plan.query is None or not plan.lookup or plan.exact_only:
            return None
        candidates = self.cache.candidates(plan.query, namespace=self.namespace, scope=plan.scope,
                                           k=tier.policy.max_sources + 1,
                                           pii=None if plan.pii is UNSCREENED else "off")
        key = plan.conversation
        return tier, candidates, {"body": body, "requested_model": str(body.get("model") or ""),
                                  "context": (key.relevant_turns() if key
                                              else _recent_turns(self.dialect.view(body))),
                                  "accept": key.accepts if key else None}

    def synthesize(self, plan: Plan, body: Mapping[str, Any]
                   ) -> tuple[dict[str, Any], CacheRecord] | None:
        """A response built by the synthesis tier from close entries, or None to go upstream."""
        try:
            args = self._synthesis_args(plan, body)
            if args is None:
                return None
            tier, candidates, options = args
            result = tier.try_synthesize(str(plan.query), candidates, **options)
        except Exception as exc:  # noqa: BLE001 - the cache must never break the call
            self._failed("synthesis", exc)
            return None
        return None if result is None else self._synthesized(result, body)

    async def asynthesize(self, plan: Plan, body: Mapping[str, Any]
                          ) -> tuple[dict[str, Any], CacheRecord] | None:
        """The async form of :meth:`synthesize` (cache work in a worker thread, none at all
        without a synthesis tier)."""
        if self.policy.synthesis is None:
            return None
        try:
            args = await asyncio.to_thread(self._synthesis_args, plan, body)
            if args is None:
                return None
            tier, candidates, options = args
            result = await tier.atry_synthesize(str(plan.query), candidates, **options)
        except Exception as exc:  # noqa: BLE001 - the cache must never break the call
            self._failed("synthesis", exc)
            return None
        return None if result is None else self._synthesized(result, body)

    def _synthesized(self, result: SynthesisResult, body: Mapping[str, Any]
                     ) -> tuple[dict[str, Any], CacheRecord]:
        response = self.dialect.synthesize(result.text, body, result.source_ids[0])
        response["model"] = result.model or LOCAL_SYNTHESIS_MODEL
        record = CacheRecord("synthesized", entry_id=result.source_ids[0],
                             probability=result.confidence,
                             cost_saved_usd=result.replaced_usd - result.cost_usd,
                             source_ids=result.source_ids, synthesizer=result.synthesizer,
                             requested_model=result.requested_model)
        return response, record

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

    def store(self, plan: Plan, response: dict[str, Any], verdict: Verdict) -> int | None:
        """Store a complete answer; the entry id, or None when not stored (failures are logged
        and swallowed)."""
        if not verdict.store or plan.query is None:
            return None
        try:
            metadata = {"api": self.dialect.name, "model": response.get("model"),
                        "exact_only": verdict.exact_only}
            if plan.conversation is not None:
                metadata.update(plan.conversation.metadata())
            return self.cache.put(
                plan.query, self.dialect.answer_text(response), namespace=self.namespace,
                scope=plan.scope, ttl=plan.ttl or self.ttl, payload=response, metadata=metadata,
                pii=plan.pii or "off")
        except Exception as exc:  # noqa: BLE001 - the cache must never break the call
            self._failed("store", exc)
            return None

