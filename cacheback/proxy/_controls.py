"""Per-request cache controls read from request headers.

``Cache-Control: no-cache`` skips the lookup but stores the fresh answer (a refresh);
``no-store`` keeps the answer out of the cache; ``X-Cacheback-TTL`` sets the entry's lifetime
in seconds; ``X-Cacheback-Namespace`` names a namespace (see ``_tenant``); ``X-Cacheback-PII``
(bypass, redact or off) sets this request's PII mode (docs/pii.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

__all__ = ["CONTROL_HEADERS", "ControlError", "Controls", "parse_controls"]

CONTROL_HEADERS: Final = frozenset({"x-cacheback-ttl", "x-cacheback-namespace", "x-cacheback-pii"})
_PII_MODES: Final = ("bypass", "redact", "off")


class ControlError(ValueError):
    """A control header the proxy cannot honour."""


@dataclass(frozen=True)
class Controls:
    """What the caller allows for this request."""

    lookup: bool = True
    store: bool = True
    ttl: float | None = None
    namespace: str | None = None
    pii: str | None = None


def parse_controls(headers: Mapping[str, str]) -> Controls:
    """The controls ``headers`` ask for; raises :class:`ControlError` on an unusable TTL."""
    directives = {
        part.strip().split("=", 1)[0].lower()
        for part in (headers.get("cache-control") or "").split(",")
    }
    raw_ttl = headers.get("x-cacheback-ttl")
    ttl = None
    if raw_ttl is not None:
        try:
            ttl = float(raw_ttl)
        except ValueError:
            ttl = math.nan
        if not math.isfinite(ttl) or ttl <= 0:
            raise ControlError(f"X-Cacheback-TTL must be a positive number of seconds, not {raw_ttl!r}")
    pii = headers.get("x-cacheback-pii")
    if pii is not None:
        pii = pii.strip().lower()
        if pii not in _PII_MODES:
            raise ControlError(f"X-Cacheback-PII must be one of {', '.join(_PII_MODES)}")
    return Controls(
        lookup="no-cache" not in directives,
        store="no-store" not in directives,
        ttl=ttl,
        namespace=headers.get("x-cacheback-namespace"),
        pii=pii,
    )
