"""Plain stand-ins for the SDK response types when ``openai`` / ``anthropic`` is not installed.

Nested objects read as attributes (``resp.choices[0].message.content``); an absent optional
field reads as None, as it does on the SDK models; ``model_dump`` / ``model_dump_json`` give
back the JSON. Free-form JSON members (tool ``input``, ``metadata``) stay plain dicts.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["LightObject"]

_FREE_FORM = frozenset({"input", "metadata", "parameters", "schema"})


def _wrap(value: Any, key: str = "") -> Any:
    if isinstance(value, dict) and key not in _FREE_FORM:
        return LightObject(value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _unwrap(value: Any) -> Any:
    if isinstance(value, LightObject):
        return value.model_dump()
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


class LightObject:
    """An attribute view of one JSON object."""

    def __init__(self, data: dict[str, Any], kind: str = "") -> None:
        object.__setattr__(self, "_fields", tuple(data))
        object.__setattr__(self, "_kind", kind)
        for key, value in data.items():
            object.__setattr__(self, key, _wrap(value, key))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return None

    def model_dump(self, **_: Any) -> dict[str, Any]:
        """The object as a JSON-ready dict (keyword options of the SDK method are accepted)."""
        return {key: _unwrap(getattr(self, key)) for key in self._fields}

    def model_dump_json(self, *, indent: int | None = None, **_: Any) -> str:
        """The object as JSON text."""
        return json.dumps(self.model_dump(), indent=indent, ensure_ascii=False)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LightObject) and self.model_dump() == other.model_dump()

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._fields)
        return f"{self._kind or 'LightObject'}({fields})"
