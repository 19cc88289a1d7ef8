"""The scanner: every detector behind one fast path, overlaps resolved, and redaction."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Final

from ._address import find_addresses
from ._findings import KINDS, Finding, Kind
from ._names import NameFinder
from ._phone import find_phones
from ._structured import (
    find_cards,
    find_emails,
    find_ibans,
    find_ips,
    find_national_ids,
    find_secrets,
)

__all__ = ["Scanner"]

#: Detectors in priority order: when two findings overlap, the earlier kind wins (a card number
#: is not also a phone number; an e-mail's domain is not a name).
_DETECTORS: Final[tuple[tuple[Kind, Callable[[str], list[Finding]]], ...]] = (
    ("secret", find_secrets), ("email", find_emails), ("iban", find_ibans), ("card", find_cards),
    ("national_id", find_national_ids), ("ip", find_ips), ("phone", find_phones),
    ("address", find_addresses),
)
#: Every structured value has a digit, an "@", a long unbroken token or a street word; a text
#: with none of them (most questions) skips the structured detectors.
_HINT: Final = re.compile(
    r"[\d@]|::|[^\s]{20,}|-----BEGIN|\b(?:rue|avenue|boulevard|chemin|impasse|allée|quai)\b",
    re.IGNORECASE)


class Scanner:
    """Finds personal data in text.

    ``kinds`` limits the detectors (default: all); ``ner`` enables spaCy's recogniser for names
    when it is installed (rules alone otherwise); ``allow`` lists literal strings that are never
    personal (a company's support address in every system prompt, say).
    """

    def __init__(self, kinds: Iterable[str] = KINDS, *, ner: bool = True,
                 allow: Iterable[str] = ()) -> None:
        self.kinds = frozenset(kinds)
        unknown = self.kinds - set(KINDS)
        if unknown:
            raise ValueError(f"unknown PII kinds {sorted(unknown)}; choose from {list(KINDS)}")
        self.allow = frozenset(a.strip().lower() for a in allow if a.strip())
        self._detectors = tuple((k, f) for k, f in _DETECTORS if k in self.kinds)
        self._names = NameFinder(ner=ner) if "name" in self.kinds else None

    @property
    def ner_runs(self) -> int:
        """How many texts the NER model has read (the rest were ruled out by the cheap test)."""
        return self._names.ner_runs if self._names else 0

    def scan(self, text: str, names: bool = True) -> list[Finding]:
        """Non-overlapping findings in ``text``, in text order; ``names`` False skips the name
        finder (for instructions written by the developer, where a persona's name is not
        personal data)."""
        found: list[Finding] = []
        if _HINT.search(text):
            for _, detect in self._detectors:
                found.extend(detect(text))
        if self._names is not None and names:
            found.extend(self._names.find(text))
        if not found:
            return found
        if self.allow:
            found = [f for f in found if f.value.strip().lower() not in self.allow]
        priority = {k: i for i, k in enumerate((*(k for k, _ in _DETECTORS), "name"))}
        found.sort(key=lambda f: (priority[f.kind], f.start, -(f.end - f.start)))
        kept: list[Finding] = []
        for finding in found:
            if all(finding.end <= k.start or finding.start >= k.end for k in kept):
                kept.append(finding)
        return sorted(kept, key=lambda f: f.start)

    def contains(self, text: str) -> bool:
        """Whether ``text`` holds any personal data."""
        return bool(self.scan(text))

    @staticmethod
    def redact(text: str, findings: list[Finding]) -> str:
        """``text`` with each finding replaced by its typed placeholder (``<CARD>``...)."""
        out, last = [], 0
        for f in sorted(findings, key=lambda f: f.start):
            out.append(text[last:f.start])
            out.append(f.placeholder)
            last = f.end
        out.append(text[last:])
        return "".join(out)
