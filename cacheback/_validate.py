"""Checks of every public argument of ``SemanticCache``: a caller error raises
:class:`InvalidInputError` (or :class:`ConfigurationError` in the constructor) before the cache
touches its storage, so it is never counted as a cache fault and never opens the breaker."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from ._errors import ConfigurationError, InvalidInputError
from ._normalize import clean_text, normalise_query, query_hash, validate_text

__all__ = [
    "MAX_DEPTH",
    "MAX_NAMESPACE_CHARS",
    "check_bool",
    "check_callable",
    "check_depth",
    "check_entry_id",
    "check_namespace",
    "check_optional_namespace",
    "check_positive_int",
    "check_texts",
    "check_ttl",
    "query_and_hash",
]

#: The deepest nesting of a scope, metadata or payload value (JSON encoders recurse).
MAX_DEPTH = 64
#: The largest entry id (SQLite's and PostgreSQL's largest integer).
MAX_ENTRY_ID = 2**63 - 1
#: The longest namespace name (a tenant label, not a document).
MAX_NAMESPACE_CHARS = 512
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_ttl(ttl: object, what: str) -> float | None:
    """A positive finite number of seconds, or None."""
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not _finite(ttl):
        raise InvalidInputError(f"{what} must be a finite number of seconds or None")
    if ttl <= 0:
        raise InvalidInputError(f"{what} must be positive, got {ttl}")
    return float(ttl)


def _finite(number: float) -> bool:
    """Whether ``number`` is finite as a float (an int too large for a float is not)."""
    try:
        return math.isfinite(number)
    except OverflowError:
        return False


def check_namespace(namespace: object) -> str:
    """A non-empty name of valid Unicode, at most :data:`MAX_NAMESPACE_CHARS` characters, with
    no control characters."""
    if not isinstance(namespace, str):
        raise InvalidInputError(f"namespace must be a str, not {type(namespace).__name__}")
    if not namespace or len(namespace) > MAX_NAMESPACE_CHARS:
        raise InvalidInputError(f"namespace must be 1-{MAX_NAMESPACE_CHARS} characters")
    if clean_text(namespace) != namespace or _CONTROL.search(namespace):
        raise InvalidInputError("namespace must be valid Unicode without control characters")
    return namespace


def check_optional_namespace(namespace: object) -> str | None:
    """None (every namespace) or a valid namespace."""
    return None if namespace is None else check_namespace(namespace)


def check_entry_id(entry_id: object) -> int:
    """An entry id as ``put`` returned it: a non-negative int that fits a database integer."""
    if (isinstance(entry_id, bool) or not isinstance(entry_id, int)
            or not 0 <= entry_id <= MAX_ENTRY_ID):
        raise InvalidInputError(f"entry_id must be a non-negative int, not {entry_id!r:.40}")
    return entry_id


def check_bool(value: object, what: str) -> bool:
    """A real ``bool`` (``"yes"`` and ``1`` are refused: they are usually mistakes)."""
    if not isinstance(value, bool):
        raise InvalidInputError(f"{what} must be True or False, not {type(value).__name__}")
    return value


def check_callable(value: object, what: str) -> Callable[..., Any] | None:
    """A callable or None."""
    if value is not None and not callable(value):
        raise InvalidInputError(f"{what} must be callable or None")
    return value  # type: ignore[return-value]


def check_positive_int(value: object, what: str, *, configuration: bool = False) -> int:
    """An int of at least 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        error = ConfigurationError if configuration else InvalidInputError
        raise error(f"{what} must be a positive int, not {value!r:.40}")
    return value


def check_texts(value: object, what: str) -> tuple[str, ...]:
    """A sequence of texts (``None`` items are skipped), as a tuple; a single str is refused,
    since iterating it would scan it character by character."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise InvalidInputError(f"{what} must be a list or tuple of str, not {type(value).__name__}")
    if any(item is not None and not isinstance(item, str) for item in value):
        raise InvalidInputError(f"{what} must hold only str items")
    return tuple(clean_text(item) for item in value if item is not None)


def check_depth(value: Any, what: str, limit: int = MAX_DEPTH) -> None:
    """Refuse values nested deeper than ``limit`` (iteratively: no recursion to overflow)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if depth >= limit:
            raise InvalidInputError(f"{what} is nested more than {limit} levels deep")
        stack.extend((child, depth + 1) for child in children)


def query_and_hash(query: object) -> tuple[str, str]:
    """The storable query and its exact-tier hash. The hash is taken before lone surrogates are
    replaced, so two different undecodable queries never share a key."""
    cleaned = validate_text(query, "query")
    return cleaned, query_hash(normalise_query(query))  # type: ignore[arg-type]
