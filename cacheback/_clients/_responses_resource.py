"""``client.responses`` of the cached OpenAI clients: ``create`` and ``stream`` go through the
cache, everything else (``retrieve``, ``delete``, ``cancel``, ``input_items``, ``parse``,
``with_raw_response``...) is the SDK's own ``responses`` resource.

``stream(...)`` is the SDK's helper itself (``ResponseStreamManager``: events with snapshots,
``get_final_response()``, ``output_text``) run over the cached ``create``, so a hit replays the
stored answer through the SDK's own accumulator. The stream and its final response carry
``.cacheback`` / ``.cacheback_hit``.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import Any

from ..providers import AsyncClient, OpenAIResponsesSpec, SyncClient
from ._access import CacheAccess
from ._calls import AsyncCachedCall, SyncCachedCall
from ._objects import attach_record, openai_response_objects
from ._passthrough import SDKTwin, delegate
from ._responses import OpenAIResponsesDialect
from ._streams import AsyncCachedStream, CachedStream

__all__ = ["AsyncCachedResponses", "CachedResponses", "responses_access"]

_PATH = ("responses",)
#: ``stream()`` arguments that follow an existing (background) response: not a new answer.
_FOLLOW_ARGS = ("response_id", "starting_after")


def responses_access(access: CacheAccess, provider: SyncClient | AsyncClient
                     ) -> tuple[CacheAccess, Any]:
    """The cache access and the upstream client of ``client.responses``: the chat client's
    cache, namespace, policy and TTL, and its connections, under the Responses rules."""
    chat_spec: Any = provider.spec
    spec = OpenAIResponsesSpec(chat_spec.organization, chat_spec.project)
    return (CacheAccess(access.cache, OpenAIResponsesDialect(spec), access.policy,
                        access.namespace, access.ttl), provider.sibling(spec))


def _sdk_stream_helper(asynchronous: bool) -> Any:
    """The SDK's ``Responses.stream`` (or async) function, to run over the cached ``create``."""
    try:
        module = importlib.import_module("openai.resources.responses")
    except ImportError as exc:
        raise AttributeError("responses.stream() is the openai SDK's helper: pip install openai "
                             "(responses.create(stream=True) works without it)") from exc
    return (module.AsyncResponses if asynchronous else module.Responses).stream


def _given(kwargs: dict[str, Any], name: str) -> bool:
    value = kwargs.get(name)
    return value is not None and type(value).__name__ not in ("NotGiven", "Omit")


def _with_record(stream: Any, opened: CachedStream | AsyncCachedStream | None) -> Any:
    """``stream`` (the SDK's ``ResponseStream``) and its final response carrying the record."""
    if opened is None:
        return stream
    record = opened.cacheback
    stream.cacheback, stream.cacheback_hit = record, record.hit
    final = stream.get_final_response
    if opened.__class__ is AsyncCachedStream:
        async def aget_final_response() -> Any:
            return attach_record(await final(), record)

        stream.get_final_response = aget_final_response
    else:
        stream.get_final_response = lambda: attach_record(final(), record)
    return stream


class _RawStream:
    """A cached stream as the SDK's ``ResponseStream`` expects its raw stream: iterable, with a
    ``response`` whose ``close()`` ends it."""

    def __init__(self, stream: CachedStream) -> None:
        self._stream = stream
        self.response = self

    def __iter__(self) -> Iterator[Any]:
        return iter(self._stream)

    def close(self) -> None:
        self._stream.close()


class _AsyncRawStream:
    """The asyncio twin of ``_RawStream`` (``response.aclose()``)."""

    def __init__(self, stream: AsyncCachedStream) -> None:
        self._stream = stream
        self.response = self

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._stream.__aiter__()

    async def aclose(self) -> None:
        await self._stream.close()


class _StreamSource:
    """The resource the SDK's stream helper calls: the cached ``create``, the SDK's ``retrieve``."""

    def __init__(self, owner: CachedResponses | AsyncCachedResponses, options: Any) -> None:
        self._owner = owner
        self._options = options
        self.opened: Any = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._owner, name)

    def create(self, **kwargs: Any) -> Any:
        if isinstance(self._owner, AsyncCachedResponses):
            return self._acreate(kwargs)
        self.opened = self._owner.create(**kwargs, cacheback=self._options)
        return _RawStream(self.opened)

    async def _acreate(self, kwargs: dict[str, Any]) -> _AsyncRawStream:
        self.opened = await self._owner.create(**kwargs, cacheback=self._options)
        return _AsyncRawStream(self.opened)


class _StreamManager:
    """The SDK's ``ResponseStreamManager`` whose stream carries ``.cacheback``."""

    def __init__(self, manager: Any, source: _StreamSource) -> None:
        self._manager = manager
        self._source = source

    def __enter__(self) -> Any:
        return _with_record(self._manager.__enter__(), self._source.opened)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._manager.__exit__(exc_type, exc, tb)


class _AsyncStreamManager:
    """The SDK's ``AsyncResponseStreamManager`` whose stream carries ``.cacheback``."""

    def __init__(self, manager: Any, source: _StreamSource) -> None:
        self._manager = manager
        self._source = source

    async def __aenter__(self) -> Any:
        return _with_record(await self._manager.__aenter__(), self._source.opened)

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self._manager.__aexit__(exc_type, exc, tb)


class CachedResponses:
    """``client.responses`` of ``CachedOpenAI``."""

    def __init__(self, access: CacheAccess, provider: SyncClient,
                 sdk: SDKTwin | None = None) -> None:
        self._call = SyncCachedCall(provider, access, openai_response_objects())
        self._sdk = sdk

    def __getattr__(self, name: str) -> Any:
        return delegate(self._sdk, _PATH, name, type(self).__name__)

    def create(self, **kwargs: Any) -> Any:
        """The SDK's ``responses.create`` with the cache in front; accepts every parameter of
        the SDK method, plus ``cacheback=`` (``CallOptions``)."""
        return self._call.create(**kwargs)

    def stream(self, **kwargs: Any) -> Any:
        """The SDK's ``responses.stream`` helper over the cached ``create`` (a context manager
        giving a ``ResponseStream``); following an existing response (``response_id``) is the
        SDK's own call."""
        if any(_given(kwargs, name) for name in _FOLLOW_ARGS):
            return delegate(self._sdk, _PATH, "stream", type(self).__name__)(**kwargs)
        source = _StreamSource(self, kwargs.pop("cacheback", None))
        return _StreamManager(_sdk_stream_helper(False)(source, **kwargs), source)


class AsyncCachedResponses:
    """``client.responses`` of ``AsyncCachedOpenAI``."""

    def __init__(self, access: CacheAccess, provider: AsyncClient,
                 sdk: SDKTwin | None = None) -> None:
        self._call = AsyncCachedCall(provider, access, openai_response_objects())
        self._sdk = sdk

    def __getattr__(self, name: str) -> Any:
        return delegate(self._sdk, _PATH, name, type(self).__name__)

    async def create(self, **kwargs: Any) -> Any:
        """The SDK's ``responses.create`` with the cache in front; accepts every parameter of
        the SDK method, plus ``cacheback=`` (``CallOptions``)."""
        return await self._call.create(**kwargs)

    def stream(self, **kwargs: Any) -> Any:
        """The SDK's ``responses.stream`` helper over the cached ``create`` (an async context
        manager giving an ``AsyncResponseStream``)."""
        if any(_given(kwargs, name) for name in _FOLLOW_ARGS):
            return delegate(self._sdk, _PATH, "stream", type(self).__name__)(**kwargs)
        source = _StreamSource(self, kwargs.pop("cacheback", None))
        return _AsyncStreamManager(_sdk_stream_helper(True)(source, **kwargs), source)
