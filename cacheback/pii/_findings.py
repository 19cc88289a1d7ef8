"""What a detector reports: the kind of personal data, where it is, and its placeholder."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["KINDS", "PLACEHOLDERS", "Finding", "Kind"]

Kind = Literal["email", "phone", "card", "iban", "national_id", "ip", "secret", "address", "name"]

#: Every kind, in the order reports list them.
KINDS: Final[tuple[Kind, ...]] = (
    "email", "phone", "card", "iban", "national_id", "ip", "secret", "address", "name")

#: The typed placeholder ``redact`` puts in place of a value.
PLACEHOLDERS: Final[dict[str, str]] = {
    "email": "<EMAIL>", "phone": "<PHONE>", "card": "<CARD>", "iban": "<IBAN>",
    "national_id": "<NATIONAL_ID>", "ip": "<IP>", "secret": "<SECRET>", "address": "<ADDRESS>",
    "name": "<NAME>",
}


@dataclass(frozen=True)
class Finding:
    """One personal value in a text: ``text[start:end]`` is ``value``. ``detail`` names the rule
    (``"visa"``, ``"us_ssn"``, ``"openai_key"``...) and never holds any of the value."""

    kind: Kind
    start: int
    end: int
    value: str
    detail: str = ""

    @property
    def placeholder(self) -> str:
        return PLACEHOLDERS[self.kind]

    def __repr__(self) -> str:
        # The value stays out of reprs, so a finding in a log or a traceback leaks nothing.
        return f"Finding({self.kind!r}, {self.start}, {self.end}, detail={self.detail!r})"
