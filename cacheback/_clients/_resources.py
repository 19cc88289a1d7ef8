"""The ``create`` endpoints the clients expose (``client.chat.completions``, ``client.messages``)."""

from __future__ import annotations

from typing import Any

from ._calls import AsyncCachedCall, SyncCachedCall

__all__ = ["AsyncCreateResource", "CreateResource"]


class CreateResource:
    """A resource whose ``create(**kwargs)`` is the SDK's, with the cache in front."""

    def __init__(self, call: SyncCachedCall) -> None:
        self._call = call

    def create(self, **kwargs: Any) -> Any:
        """Accepts every parameter of the SDK method, plus ``cacheback=`` (``CallOptions``)."""
        return self._call.create(**kwargs)


class AsyncCreateResource:
    """The asyncio twin of ``CreateResource``."""

    def __init__(self, call: AsyncCachedCall) -> None:
        self._call = call

    async def create(self, **kwargs: Any) -> Any:
        """Accepts every parameter of the SDK method, plus ``cacheback=`` (``CallOptions``)."""
        return await self._call.create(**kwargs)
