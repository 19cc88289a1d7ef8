"""The ``create`` endpoints the clients expose (``client.chat.completions``, ``client.messages``)."""

from __future__ import annotations

from typing import Any

from ._calls import AsyncCachedCall, SyncCachedCall
from ._passthrough import SDKTwin, delegate

__all__ = ["AsyncCreateResource", "CreateResource"]


class CreateResource:
    """A resource whose ``create(**kwargs)`` is the SDK's, with the cache in front.

    Its other attributes (``with_raw_response``, ``list``, ...) are the SDK resource's at ``path``.
    """

    def __init__(self, call: SyncCachedCall, sdk: SDKTwin | None = None,
                 path: tuple[str, ...] = ()) -> None:
        self._call = call
        self._sdk = sdk
        self._path = path

    def __getattr__(self, name: str) -> Any:
        return delegate(self._sdk, self._path, name, type(self).__name__)

    def create(self, **kwargs: Any) -> Any:
        """Accepts every parameter of the SDK method, plus ``cacheback=`` (``CallOptions``)."""
        return self._call.create(**kwargs)


class AsyncCreateResource:
    """The asyncio twin of ``CreateResource``."""

    def __init__(self, call: AsyncCachedCall, sdk: SDKTwin | None = None,
                 path: tuple[str, ...] = ()) -> None:
        self._call = call
        self._sdk = sdk
        self._path = path

    def __getattr__(self, name: str) -> Any:
        return delegate(self._sdk, self._path, name, type(self).__name__)

    async def create(self, **kwargs: Any) -> Any:
        """Accepts every parameter of the SDK method, plus ``cacheback=`` (``CallOptions``)."""
        return await self._call.create(**kwargs)
