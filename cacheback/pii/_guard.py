"""The PII policy: what a cache does with a request that holds personal data.

``bypass`` (the default): such a request is neither looked up nor stored. ``redact``: the
question is keyed with typed placeholders ("my card <CARD> was declined"), so it can be answered
for everyone, and an answer is stored only if it repeats none of the personal values. ``off``:
no scanning. A :class:`Screening` carries the decision and the values (never shown in its repr).
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from .._errors import CachebackError, ConfigurationError, InvalidInputError
from ._findings import Finding
from ._scanner import Scanner

__all__ = ["MODES", "PIIGuard", "Screening", "check_mode"]

MODES: Final = ("bypass", "redact", "off")
#: Texts whose screening is remembered (by digest) by one guard.
_MEMO_SIZE: Final = 4096
_DIGIT_KINDS: Final = frozenset({"phone", "card", "iban", "national_id"})
_DIGIT_RUN: Final = re.compile(r"\d(?:[\d \-./()]*\d)?")


def check_mode(mode: object, what: str = "pii",
               error: type[CachebackError] = ConfigurationError) -> str:
    """``mode`` if it is one of :data:`MODES`, else ``error`` (a :class:`ConfigurationError`
    for settings; a call's argument raises :class:`InvalidInputError`)."""
    if not isinstance(mode, str) or mode not in MODES:
        raise error(f"{what} must be one of {', '.join(MODES)}, not {mode!r:.40}")
    return mode


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


@dataclass(frozen=True)
class Screening:
    """The outcome of screening one request.

    ``text`` is the question to key on (the placeholder form under ``redact``); ``kinds`` the
    kinds of personal data found; ``action`` is "clean", "bypass" or "redacted".
    """

    mode: str
    action: str
    text: str
    kinds: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = field(default=(), repr=False)

    @property
    def bypass(self) -> bool:
        return self.action == "bypass"

    @property
    def redacted(self) -> bool:
        return self.action == "redacted"

    @property
    def reason(self) -> str | None:
        """Why the cache was skipped or the question rewritten; names kinds, never values."""
        if self.action == "clean":
            return None
        kinds = ", ".join(self.kinds)
        if self.action == "bypass":
            return f"personal data ({kinds}): pii={self.mode}"
        return f"personal data ({kinds}) replaced by placeholders: pii=redact"

    def __repr__(self) -> str:
        return f"Screening(mode={self.mode!r}, action={self.action!r}, kinds={self.kinds!r})"

    def answer_safe(self, *texts: str | None) -> bool:
        """Whether none of ``texts`` (the answer, its payload) repeats a personal value: the
        whole value, a name's or e-mail's words, or a number's digits (or its last four)."""
        joined = "\n".join(t for t in texts if t)
        if not self.findings or not joined:
            return True
        low = _norm(joined)
        words = set(re.findall(r"[\w'’-]+", low))
        runs = {re.sub(r"\D", "", r) for r in _DIGIT_RUN.findall(joined)}
        for f in self.findings:
            if _norm(f.value) in low:
                return False
            if f.kind in _DIGIT_KINDS:
                digits = re.sub(r"\D", "", f.value)
                if any(digits in r for r in runs if len(r) >= len(digits) - 1) or (
                        len(digits) >= 8 and digits[-4:] in runs):
                    return False
            elif f.kind in ("name", "email", "address"):
                parts = re.findall(r"[\w'’-]+", f.value.lower().split("@")[0])
                if any(p in words for p in parts if len(p) >= 3 and not p.isdigit()):
                    return False
        return True


class PIIGuard:
    """A mode and a scanner: turns a request's texts into a :class:`Screening`."""

    def __init__(self, mode: str = "bypass", scanner: Scanner | None = None) -> None:
        self.mode = check_mode(mode)
        self.scanner = scanner or Scanner()
        self._memo: OrderedDict[bytes, tuple[str, ...]] = OrderedDict()
        self._memo_lock = threading.Lock()

    def _kinds(self, text: str, names: bool) -> tuple[str, ...]:
        """The kinds in one text. Questions that hit the cache are repeats by definition, and
        system prompts and earlier turns repeat on every call of a conversation, so results are
        remembered by digest (never by text), the last 4,096: a repeat is not scanned again
        (the name model alone costs milliseconds)."""
        key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16,
                              person=b"n" if names else b"s").digest()
        with self._memo_lock:
            if key in self._memo:
                self._memo.move_to_end(key)
                return self._memo[key]
        kinds = tuple(dict.fromkeys(f.kind for f in self.scanner.scan(text, names=names)))
        with self._memo_lock:
            self._memo[key] = kinds
            while len(self._memo) > _MEMO_SIZE:
                self._memo.popitem(last=False)
        return kinds

    def screen(self, text: str, mode: str | None = None, context: Iterable[str] = (),
               instructions: Iterable[str] = ()) -> Screening:
        """Screen ``text`` (the question), ``context`` (earlier turns of the same request) and
        ``instructions`` (system prompts: no name finder, since a persona's name is not personal
        data) under ``mode`` (default: the guard's). Personal data outside the question cannot
        be replaced in the key, so under ``redact`` it makes the request bypass."""
        mode = self.mode if mode is None else check_mode(mode, error=InvalidInputError)
        if mode == "off":
            return Screening(mode, "clean", text)
        found = self._kinds(text, True)
        extra: list[str] = []
        for other in context:
            if other:
                extra.extend(self._kinds(other, True))
        for other in instructions:
            if other:
                extra.extend(self._kinds(other, False))
        if not found and not extra:
            return Screening(mode, "clean", text)
        kinds = tuple(dict.fromkeys((*found, *extra)))
        if mode == "bypass" or extra:
            return Screening("bypass" if mode == "bypass" else mode, "bypass", text, kinds)
        findings = self.scanner.scan(text)  # where the values are: kept only for this call
        return Screening(mode, "redacted", Scanner.redact(text, findings), kinds, tuple(findings))
