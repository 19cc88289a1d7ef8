"""Upstream errors that are also the installed SDK's exception types.

With ``openai`` installed, a ``RateLimitError`` from ``CachedOpenAI`` is an instance of both
``cacheback.providers.RateLimitError`` and ``openai.RateLimitError``, so ``except`` clauses
written for the SDK keep working after the one-word swap. Without the SDK errors pass unchanged.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any, NoReturn

from ..providers import APIError

__all__ = ["raise_as_sdk", "sdk_error"]


@cache
def _dual_class(ours: type[APIError], sdk_module: str) -> type[APIError] | None:
    try:
        module = importlib.import_module(sdk_module)
    except ImportError:
        return None
    theirs = getattr(module, ours.__name__, None)
    if not isinstance(theirs, type) or not issubclass(theirs, Exception):
        return None
    return type(ours.__name__, (ours, theirs), {"__module__": __name__, "__doc__": ours.__doc__})


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
