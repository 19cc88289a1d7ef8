"""The cached ``create``: look up, else call the upstream and store a complete answer.

``SyncCachedCall`` and ``AsyncCachedCall`` share every decision (``_CallBase``, dialects, policy,
``CacheAccess``); the async twin runs cache work in a worker thread (``asyncio.to_thread``) so
embedding a query never blocks the event loop.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Iterator
from typing import Any

from ..providers import APIError, AsyncClient, AsyncEventStream, EventStream, SyncClient
from ._access import CacheAccess
from ._assembly import StreamAssembly
from ._body import Call, split_call
from ._dialects import Dialect
from ._flight import Release, flight_key
from ._objects import ObjectFactory, attach_record
from ._policy import CachePolicy, Plan
from ._record import CacheRecord
from ._request_parts import client_parts, with_request_parts
from ._sdk_errors import raise_as_sdk
from ._streams import AsyncCachedStream, CachedStream

__all__ = ["AsyncCachedCall", "SyncCachedCall"]


class _CallBase:
    def __init__(self, access: CacheAccess, objects: ObjectFactory) -> None:
        self.access = access
        self.dialect: Dialect = access.dialect
        self.policy: CachePolicy = access.policy
        self.objects = objects

    def _prepare(self, kwargs: dict[str, Any]) -> tuple[Call, Plan]:
        call = split_call(kwargs)
        return call, self._keyed(call, self.access.prepare(call.body, call.options))

    def _keyed(self, call: Call, plan: Plan) -> Plan:
        """``plan`` with the request parts outside the body that shape the answer (headers and
        query parameters of the client and of this call) in its scope."""
        provider: Any = getattr(self, "provider", None)
        if provider is None or plan.query is None:
            return plan
        return with_request_parts(plan, client_parts(provider, call.http))

    def _replay(self, response: dict[str, Any], body: dict[str, Any]) -> Iterator[Any]:
        for event in self.dialect.spec.replay(response, body):
            yield self.objects.event(event)

    def _result(self, response: dict[str, Any], record: CacheRecord) -> Any:
        return attach_record(self.objects.response(response), record)

    @staticmethod
    def _upstream_record(plan: Plan) -> CacheRecord:
        return CacheRecord("bypass" if plan.query is None else "miss", reason=plan.reason)


class SyncCachedCall(_CallBase):
    """``create(**kwargs)`` for a blocking client."""

    def __init__(self, provider: SyncClient, access: CacheAccess, objects: ObjectFactory) -> None:
        super().__init__(access, objects)
        self.provider = provider

    def create(self, **kwargs: Any) -> Any:
        """Serve from the cache or the upstream, exactly as the SDK's ``create`` would."""
        call, plan = self._prepare(kwargs)
        served = self.access.answer(plan, call.body)
        if served is None and call.stream:
            release = self.access.flights.claim(flight_key(self.access.namespace, plan))
            if release is not None:
                return self._upstream(call, plan, release)
            served = self.access.answer(plan, call.body)
        elif served is None:
            key = flight_key(self.access.namespace, plan)
            with self.access.flights.lead_or_wait(key) as leader:
                if not leader:
                    served = self.access.answer(plan, call.body)
                if served is None and leader:
                    return self._upstream(call, plan)
        if served is not None:
            response, record = served
            if call.stream:
                return CachedStream(self._replay(response, call.body), record)
            return self._result(response, record)
        return self._upstream(call, plan)

    def _upstream(self, call: Call, plan: Plan, release: Release | None = None) -> Any:
        """Ask the upstream; a complete answer is stored before it is returned. ``release``
        ends the stream's flight once its answer is stored or the stream ends or is dropped."""
        record = self._upstream_record(plan)
        try:
            if call.stream:
                upstream = self.provider.stream(call.body, **call.http)
                stream = CachedStream(self._relay(upstream, plan, release), record,
                                      upstream.response, upstream.close)
                if release is not None:
                    weakref.finalize(stream, release)
                return stream
            response = self.provider.create(call.body, **call.http)
        except APIError as exc:
            if release is not None:
                release()
            raise_as_sdk(exc, self.dialect.sdk_module)
        except BaseException:
            if release is not None:
                release()
            raise
        self.access.finish(plan, response)
        return self._result(response, record)

    def _relay(self, upstream: EventStream, plan: Plan, release: Release | None = None
               ) -> Iterator[Any]:
        assembly = StreamAssembly(self.dialect.spec)
        kept = False
        try:
            for event in upstream:
                assembly.add(event)
                if upstream.finished:  # the API's last event: store before handing it over
                    self._keep(assembly, plan, finished=True)
                    kept = True
                    if release is not None:
                        release()
                yield self.objects.event(event)
            if not kept:
                self._keep(assembly, plan, upstream.finished)
        except APIError as exc:
            raise_as_sdk(exc, self.dialect.sdk_module)
        finally:
            if release is not None:
                release()

    def _keep(self, assembly: StreamAssembly, plan: Plan, finished: bool) -> None:
        """Store the assembled answer of a stream that ended normally, if it may be stored."""
        response = assembly.result(finished)
        if response is not None:
            self.access.finish(plan, response)


class AsyncCachedCall(_CallBase):
    """``await create(**kwargs)`` for an asyncio client."""

    def __init__(self, provider: AsyncClient, access: CacheAccess, objects: ObjectFactory) -> None:
        super().__init__(access, objects)
        self.provider = provider

    async def create(self, **kwargs: Any) -> Any:
        """Serve from the cache or the upstream, exactly as the SDK's ``create`` would."""
        call = split_call(kwargs)
        plan = self._keyed(call, await self.access.aprepare(call.body, call.options))
        served = await self.access.aanswer(plan, call.body)
        if served is None and call.stream:
            release = await self.access.aflights.claim(flight_key(self.access.namespace, plan))
            if release is not None:
                return await self._upstream(call, plan, release)
            served = await self.access.aanswer(plan, call.body)
        elif served is None:
            key = flight_key(self.access.namespace, plan)
            async with self.access.aflights.lead_or_wait(key) as leader:
                if not leader:
                    served = await self.access.aanswer(plan, call.body)
                if served is None and leader:
                    return await self._upstream(call, plan)
        if served is not None:
            response, record = served
            if call.stream:
                return AsyncCachedStream(self._areplay(response, call.body), record)
            return self._result(response, record)
        return await self._upstream(call, plan)

    async def _upstream(self, call: Call, plan: Plan, release: Release | None = None) -> Any:
        """Ask the upstream; a complete answer is stored before it is returned (``release``:
        as for the blocking twin)."""
        record = self._upstream_record(plan)
        try:
            if call.stream:
                upstream = await self.provider.stream(call.body, **call.http)
                stream = AsyncCachedStream(self._relay(upstream, plan, release), record,
                                           upstream.response, upstream.close)
                if release is not None:
                    weakref.finalize(stream, release)
                return stream
            response = await self.provider.create(call.body, **call.http)
        except APIError as exc:
            if release is not None:
                release()
            raise_as_sdk(exc, self.dialect.sdk_module)
        except BaseException:
            if release is not None:
                release()
            raise
        await self.access.afinish(plan, response)
        return self._result(response, record)

    async def _areplay(self, response: dict[str, Any], body: dict[str, Any]
                       ) -> AsyncIterator[Any]:
        for event in self._replay(response, body):
            yield event

    async def _relay(self, upstream: AsyncEventStream, plan: Plan,
                     release: Release | None = None) -> AsyncIterator[Any]:
        assembly = StreamAssembly(self.dialect.spec)
        kept = False
        try:
            async for event in upstream:
                assembly.add(event)
                if upstream.finished:  # the API's last event: store before handing it over
                    await self._keep(assembly, plan, finished=True)
                    kept = True
                    if release is not None:
                        release()
                yield self.objects.event(event)
            if not kept:
                await self._keep(assembly, plan, upstream.finished)
        except APIError as exc:
            raise_as_sdk(exc, self.dialect.sdk_module)
        finally:
            if release is not None:
                release()

    async def _keep(self, assembly: StreamAssembly, plan: Plan, finished: bool) -> None:
        """Store the assembled answer of a stream that ended normally, if it may be stored."""
        response = assembly.result(finished)
        if response is not None:
            await self.access.afinish(plan, response)
