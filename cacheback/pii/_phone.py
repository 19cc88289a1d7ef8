"""Phone numbers, found by shape and checked by Google's libphonenumber (``phonenumbers``).

A run of digits is a candidate when it has 7 to 15 digits, in the characters numbers are written
with (``+ ( ) . - /`` and spaces, an extension such as ``x123``). It is a phone number when
libphonenumber can read it as a number of plausible length: with a ``+`` or ``00`` prefix in its
own country, otherwise in one of :data:`REGIONS`. Bare digits (``0604876475``) count only after
a cue such as "call", "phone" or "my number": without one they are as likely an order number.
Dates and card numbers (checked first, by :mod:`._structured`) are left alone. Without
``phonenumbers`` installed (it is a core dependency: ``phonenumberslite``), the shape and digit
count alone decide, which flags more digit runs, never fewer.
"""

from __future__ import annotations

import re
from typing import Final

from ._findings import Finding

try:
    import phonenumbers
except ImportError:  # a core dependency; a vendored copy without it judges numbers by shape
    phonenumbers = None

__all__ = ["REGIONS", "find_phones"]

#: Countries whose national formats are tried for a number written without a country code.
REGIONS: Final = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "IN", "AU", "BR", "CA", "CH", "AT",
                  "BE", "IE", "PL", "SE", "MX", "JP")
_CANDIDATE: Final = re.compile(
    r"(?<![\w+.])(?:\+|00)?\(?\d[\d \u00a0().\-/]{5,22}\d"
    r"(?:\s?(?:x|ext\.?|extension|#)\s?\d{1,6})?(?![\w]|\.\d)", re.IGNORECASE)
_EXTENSION: Final = re.compile(r"\s?(?:x|ext\.?|extension|#)\s?\d{1,6}$", re.IGNORECASE)
_DATE: Final = re.compile(r"^(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}"
                         r"|\d{1,3}(?:\.\d{1,3}){3})$")
_SEPARATED: Final = re.compile(r"[ \u00a0().\-/]")
_CUE: Final = re.compile(
    r"\b(?:phone|call|calling|ring|mobile|cell|cellphone|tel|telephone|whats ?app|sms|text(?:ing)? me"
    r"|fax|landline|(?:my|the|this|that|phone|mobile|cell|contact) number|number is|reach me"
    r"|contact me|dial|hotline)\b", re.IGNORECASE)


def _possible(number: str, region: str | None) -> bool:
    if phonenumbers is None:
        return True  # the caller has already checked the shape and the digit count
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_possible_number(parsed))


def _is_phone(candidate: str, cue: bool) -> bool:
    body = _EXTENSION.sub("", candidate).strip()
    digits = sum(c.isdigit() for c in body)
    if not 7 <= digits <= 15 or _DATE.match(body):
        return False
    if body.startswith("+"):
        return _possible(body, None)
    if body.startswith("00"):
        return _possible("+" + body[2:], None)
    if not cue and not _SEPARATED.search(body.strip("()")):
        return False
    return any(_possible(body, region) for region in REGIONS)


def find_phones(text: str) -> list[Finding]:
    """Phone numbers in ``text`` (see the module docstring for the rules)."""
    out = []
    cue: bool | None = None
    for m in _CANDIDATE.finditer(text):
        value = m.group().rstrip(" ./-(")
        if value.count("(") != value.count(")") and value.startswith("("):
            continue
        if cue is None:
            cue = bool(_CUE.search(text))
        if _is_phone(value, cue):
            out.append(Finding("phone", m.start(), m.start() + len(value), value, "phone"))
    return out
