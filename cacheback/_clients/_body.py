"""Turn SDK-style ``create(**kwargs)`` into a JSON body, transport options and cache options."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .._errors import InvalidInputError
from ..providers._api import USE_DEFAULT
from ._policy import CallOptions

__all__ = ["Call", "jsonable", "split_call"]

_SDK_PACKAGES = frozenset({"openai", "anthropic"})
_SENTINEL_TYPES = frozenset({"NotGiven", "Omit"})
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _is_sentinel(value: Any) -> bool:
    """``NOT_GIVEN`` / ``omit`` from either SDK: the parameter was not given."""
    kind = type(value)
    if kind in _SCALARS:
        return False
    return kind.__name__ in _SENTINEL_TYPES and kind.__module__.split(".")[0] in _SDK_PACKAGES


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data: models dumped as the SDKs send them, sentinels dropped."""
    kind = type(value)
    if kind in _SCALARS:  # exact types first: what a request is made of, without ABC checks
        return value
    if kind is dict:
        return {str(k): jsonable(v) for k, v in value.items() if not _is_sentinel(v)}
    if kind is list:
        return [jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items() if not _is_sentinel(v)}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return jsonable(dump(mode="json", exclude_unset=True))
        except TypeError:
            return jsonable(dump())
    if isinstance(value, Iterable) and not isinstance(value, (bytes, bytearray)):
        return [jsonable(v) for v in value]
    raise TypeError(f"cannot send a {type(value).__name__} to the API as JSON")


@dataclass(frozen=True)
class Call:
    """One ``create`` call, split up."""

    body: dict[str, Any]
    http: dict[str, Any] = field(default_factory=dict)
    options: CallOptions = CallOptions()

    @property
    def stream(self) -> bool:
        """Whether the caller asked for a stream."""
        return bool(self.body.get("stream"))


def split_call(kwargs: dict[str, Any]) -> Call:
    """Separate the request body from ``extra_headers`` / ``extra_query`` / ``extra_body`` /
    ``timeout`` (as the SDKs treat them) and from ``cacheback=``."""
    kwargs = {k: v for k, v in kwargs.items() if not _is_sentinel(v)}
    options = CallOptions.parse(kwargs.pop("cacheback", None))
    extra_body = kwargs.pop("extra_body", None) or {}
    try:
        http: dict[str, Any] = {
            "extra_headers": jsonable(kwargs.pop("extra_headers", None) or {}),
            "extra_query": jsonable(kwargs.pop("extra_query", None) or {}),
            "timeout": kwargs.pop("timeout", USE_DEFAULT)}
        body = jsonable({**kwargs, **extra_body})
    except RecursionError as exc:
        raise InvalidInputError("the request is nested too deeply to send as JSON") from exc
    return Call(body, http, options)
