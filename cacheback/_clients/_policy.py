"""What the drop-in clients cache: the client-wide policy and the per-call ``cacheback=`` options.

Defaults are conservative (see docs/clients.md): a call whose answer may legitimately differ
between two identical requests, or whose last turn is not plain user text, bypasses the cache or
is served only from the exact tier.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from .._errors import ConfigurationError, InvalidInputError
from .._validate import check_bool, check_ttl
from ..media import MediaPolicy

if TYPE_CHECKING:
    from ..ceag import SynthesisTier
    from ..conversation import ConversationKey
    from ..pii import Screening

__all__ = ["CachePolicy", "CallOptions", "Plan"]


@dataclass(frozen=True)
class CachePolicy:
    """Client-wide rules.

    ``max_semantic_temperature``: a request with an explicit ``temperature`` above it is served
    only from the exact tier (None: no limit). ``cache_truncated``: also store answers cut off by
    the token limit. ``cache_tool_calls``: store tool-call answers (served on exact matches only).
    ``conversation_aware`` (on by default): key chats by their last user message and compare
    the context a follow-up was asked in, instead of scoping on every earlier turn; False puts
    every earlier turn in the exact-match scope (docs/ceag.md).
    ``synthesis``: a ``cacheback.ceag.SynthesisTier`` to try between a miss and the upstream
    call (off when None). ``media``: how questions with images or audio are keyed
    (``cacheback.media.MediaPolicy``; None: they bypass the cache). ``pii``: "bypass",
    "redact" or "off" for requests holding personal data (docs/pii.md); None follows the
    cache's own mode ("bypass" unless set otherwise).
    """

    max_semantic_temperature: float | None = 0.0
    cache_truncated: bool = False
    cache_tool_calls: bool = True
    conversation_aware: bool = True
    synthesis: SynthesisTier | None = None
    media: MediaPolicy | None = field(default_factory=MediaPolicy)
    pii: str | None = None

    def __post_init__(self) -> None:
        if self.pii is not None and self.pii not in ("bypass", "redact", "off"):
            raise ConfigurationError(f"CachePolicy pii must be bypass, redact or off, not {self.pii!r}")


@dataclass(frozen=True)
class CallOptions:
    """Per-call control, passed as ``create(..., cacheback={...})`` and never sent upstream.

    ``bypass``: neither look up nor store. ``refresh``: skip the lookup but store the new answer.
    ``exact_only``: serve only an exact match. ``ttl``: seconds this answer stays valid.
    ``pii``: this call's PII mode ("bypass", "redact" or "off"), overriding the client's.
    """

    bypass: bool = False
    refresh: bool = False
    exact_only: bool = False
    ttl: float | None = None
    pii: str | None = None

    def __post_init__(self) -> None:
        if self.pii is not None and self.pii not in ("bypass", "redact", "off"):
            raise InvalidInputError(f"cacheback= pii must be bypass, redact or off, not {self.pii!r}")
        for name in ("bypass", "refresh", "exact_only"):
            check_bool(getattr(self, name), f"cacheback= {name}")
        check_ttl(self.ttl, "cacheback= ttl")

    @classmethod
    def parse(cls, value: CallOptions | Mapping[str, Any] | None) -> CallOptions:
        """Accept a ``CallOptions``, a dict of its fields, or None."""
        if value is None:
            return cls()
        if isinstance(value, CallOptions):
            return value
        if not isinstance(value, Mapping):
            raise InvalidInputError("cacheback= takes a dict or a CallOptions")
        unknown = set(value) - {f.name for f in fields(cls)}
        if unknown:
            raise InvalidInputError(f"unknown cacheback= options: {sorted(unknown)}")
        return cls(**value)


@dataclass(frozen=True)
class Plan:
    """How one call uses the cache. ``query`` is None when the call bypasses it."""

    query: str | None
    scope: dict[str, Any] = field(default_factory=dict)
    lookup: bool = True
    exact_only: bool = False
    reason: str | None = None
    ttl: float | None = None
    conversation: ConversationKey | None = None
    pii: Screening | None = None
    #: False for a lookup whose answer must not be stored (a recovered voice question).
    keep: bool = True

    @classmethod
    def bypass(cls, reason: str) -> Plan:
        """A plan that leaves the cache alone."""
        return cls(None, lookup=False, reason=reason)

    @property
    def store(self) -> bool:
        """Whether a complete answer to this call may be stored."""
        return self.query is not None and self.keep
