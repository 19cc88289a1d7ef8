"""Everything the cache does not answer goes to a real SDK client built from the same arguments.

The cached clients answer ``chat.completions.create`` / ``messages.create``,
``responses.create`` / ``stream``, ``embeddings.create`` and ``audio`` transcriptions themselves.
Every other public attribute (``models``, ``files``, ``responses.retrieve``, ``with_options``,
``with_raw_response`` of a cached resource, ...) is looked up on an ``openai.OpenAI`` /
``anthropic.Anthropic`` (or async twin) built lazily on first use, so it behaves exactly as the
SDK's. Raw and streaming-response wrappers therefore bypass the cache: they promise the upstream's
own HTTP response, which a cached answer does not have. Without the SDK installed, the cached calls
keep working over httpx and any other attribute raises ``AttributeError`` saying why.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Mapping
from typing import Any

__all__ = ["SDKTwin", "attach_sdk", "delegate"]

_SDK_ARGS = ("api_key", "organization", "project", "base_url", "timeout", "max_retries",
             "default_headers", "default_query", "http_client")


class SDKTwin:
    """A real SDK client, built once on first use from the cached client's own arguments."""

    def __init__(self, module: str, cls: str, kwargs: dict[str, Any]) -> None:
        self._module = module
        self._cls = cls
        self._kwargs = {k: v for k, v in kwargs.items() if v is not None}
        self._client: Any = None
        self._lock = threading.Lock()

    @property
    def built(self) -> Any:
        """The SDK client if it was ever built, else None (nothing to close then)."""
        return self._client

    def get(self) -> Any:
        """The SDK client; ``AttributeError`` if the SDK is not installed."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    try:
                        module = importlib.import_module(self._module)
                    except ImportError as exc:
                        raise AttributeError(
                            f"only the cached calls work without the {self._module!r} package; "
                            f"pip install {self._module} for the rest of its API") from exc
                    self._client = _build(module, getattr(module, self._cls), self._kwargs)
        return self._client


def _build(module: Any, cls: Any, kwargs: dict[str, Any]) -> Any:
    """The SDK client; an ``httpx`` timeout or client the SDK cannot take is left to its defaults."""
    kwargs = dict(kwargs)
    timeout = kwargs.get("timeout")
    if timeout is not None and not isinstance(timeout, (int, float)):
        sdk_timeout = getattr(module, "Timeout", None)
        if sdk_timeout is not None and not isinstance(timeout, sdk_timeout):
            kwargs["timeout"] = sdk_timeout(connect=timeout.connect, read=timeout.read,
                                            write=timeout.write, pool=timeout.pool)
    try:
        return cls(**kwargs)
    except TypeError:
        if "http_client" not in kwargs:
            raise
        del kwargs["http_client"]
        return cls(**kwargs)


def delegate(twin: SDKTwin | None, path: tuple[str, ...], name: str,
             owner: str) -> Any:
    """``name`` looked up on the SDK client's object at ``path`` (the ``__getattr__`` fallback)."""
    if twin is None or name.startswith("_"):
        raise AttributeError(f"{owner!r} object has no attribute {name!r}")
    target = twin.get()
    for step in path:
        target = getattr(target, step)
    return getattr(target, name)


def attach_sdk(client: Any, module: str, cls: str, arguments: Mapping[str, Any]) -> SDKTwin:
    """Give a cached client its SDK twin, and remember its arguments for ``copy``.

    ``arguments`` are the cached client's constructor arguments (its ``locals()``).
    """
    sdk_args = {name: arguments[name] for name in _SDK_ARGS if name in arguments}
    client._sdk = SDKTwin(module, cls, sdk_args)
    client._init = {**sdk_args, "ttl": arguments.get("ttl"), "policy": arguments.get("policy")}
    return client._sdk
