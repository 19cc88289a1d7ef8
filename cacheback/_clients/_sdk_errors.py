"""Upstream errors that are also the installed SDK's exception types.

With ``openai`` installed, a ``RateLimitError`` from ``CachedOpenAI`` is an instance of both
``cacheback.providers.RateLimitError`` and ``openai.RateLimitError``, so ``except`` clauses
written for the SDK keep working after the one-word swap. Without the SDK errors pass unchanged.
"""

from __future__ import annotations

import importlib
from typing import Any, NoReturn

from ..providers import APIError

__all__ = ["raise_as_sdk", "sdk_error"]


_DUAL_CLASSES: dict[tuple[str, str], type[APIError] | None] = {}


def _dual_class(ours: type[APIError], sdk_module: str) -> type[APIError] | None:
    """``class X(ours.X, sdk.X)``, made once per (class, SDK); None without the SDK."""
    key = (ours.__qualname__, sdk_module)
    if key not in _DUAL_CLASSES:
        try:
            theirs = getattr(importlib.import_module(sdk_module), ours.__name__, None)
        except ImportError:
            theirs = None
        _DUAL_CLASSES[key] = (
            type(ours.__name__, (ours, theirs), {"__module__": __name__, "__doc__": ours.__doc__})
            if isinstance(theirs, type) and issubclass(theirs, Exception) else None)
    return _DUAL_CLASSES[key]


def sdk_error(error: APIError, sdk_module: str) -> APIError:
    """``error`` re-typed as ``ours + sdk`` with the same attributes, or itself."""
    cls = _dual_class(type(error), sdk_module)
    if cls is None:
        return error
    dual: Any = Exception.__new__(cls)
    Exception.__init__(dual, *error.args)
    body = error.body if isinstance(error.body, dict) else {}
    dual.__dict__.update({"code": body.get("code"), "param": body.get("param"),
                          "type": body.get("type")}, **error.__dict__)
    return dual


def raise_as_sdk(error: APIError, sdk_module: str) -> NoReturn:
    """Raise ``error`` re-typed for the SDK, chained to the original."""
    converted = sdk_error(error, sdk_module)
    if converted is error:
        raise error
    raise converted from error
