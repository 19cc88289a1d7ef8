"""Detectors for values with a checkable shape: e-mail addresses, payment cards (Luhn and the
networks' number ranges), IBANs (length per country and mod-97), US SSNs and UK National
Insurance numbers, public IP addresses, and API keys and secrets (known prefixes, JWTs, PEM
private keys and long high-entropy tokens).

Each detector is a pure function ``text -> list[Finding]``; the validators keep order numbers,
versions, amounts and ordinary words out.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections import Counter
from typing import Final

from ._findings import Finding

__all__ = ["find_cards", "find_emails", "find_ibans", "find_ips", "find_national_ids",
           "find_secrets", "luhn_ok", "iban_ok"]

_EMAIL: Final = re.compile(
    r"(?<![\w.%+-])[\w.%+-]{1,64}@(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,24}(?![\w-])")


def find_emails(text: str) -> list[Finding]:
    """Addresses of the form ``local@domain.tld`` (Unicode letters allowed)."""
    if "@" not in text:
        return []
    return [Finding("email", m.start(), m.end(), m.group(), "email") for m in _EMAIL.finditer(text)]


# -- payment cards ---------------------------------------------------------------------------

_CARD: Final = re.compile(r"(?<![\d-])\d(?:[ -]?\d){11,18}(?![\d])")
_NETWORKS: Final = (
    ("amex", re.compile(r"3[47]"), (15,)),
    ("diners", re.compile(r"3(?:0[0-5]|[68])"), (14, 15, 16, 17, 18, 19)),
    ("jcb", re.compile(r"35|2131|1800"), (15, 16, 17, 18, 19)),
    ("visa", re.compile(r"4"), (13, 16, 19)),
    ("mastercard", re.compile(r"5[1-5]|2(?:2[2-9]|[3-6]|7[01]|720)"), (16,)),
    ("maestro", re.compile(r"5[06-8]|6(?:39|7|304)|0604"), (12, 13, 14, 15, 16, 17, 18, 19)),
    ("discover", re.compile(r"6(?:011|4[4-9]|5|22)"), (16, 17, 18, 19)),
    ("unionpay", re.compile(r"62|81"), (16, 17, 18, 19)),
    ("mir", re.compile(r"220[0-4]"), (16, 17, 18, 19)),
)


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod-10) check every payment card number passes."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _network(digits: str) -> str | None:
    for name, prefix, lengths in _NETWORKS:
        if len(digits) in lengths and prefix.match(digits):
            return name
    return None


def find_cards(text: str) -> list[Finding]:
    """12-19 digit numbers (spaces or dashes allowed) in a card network's range that pass Luhn."""
    out = []
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        network = _network(digits)
        if network is not None and luhn_ok(digits) and len(set(digits)) > 1:
            out.append(Finding("card", m.start(), m.end(), m.group(), network))
    return out


# -- IBAN ------------------------------------------------------------------------------------

#: IBAN length per country (SWIFT IBAN registry).
_IBAN_LENGTHS: Final = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32,
    "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}
_IBAN: Final = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ -]?[A-Za-z0-9]){10,30}(?![A-Za-z0-9])")


def iban_ok(compact: str) -> bool:
    """Country length and the ISO 13616 mod-97 check (remainder 1)."""
    compact = compact.upper()
    if _IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact.isalnum():
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def find_ibans(text: str) -> list[Finding]:
    """IBANs, compact or in groups, whose country length and checksum are right. A match that
    runs on into a following word is trimmed back to the country's length."""
    out = []
    for m in _IBAN.finditer(text):
        raw = m.group()
        compact = re.sub(r"[ -]", "", raw).upper()
        length = _IBAN_LENGTHS.get(compact[:2])
        if length is None or len(compact) < length:
            continue
        if len(compact) > length:
            # Keep exactly ``length`` characters of the match, separators included.
            kept, cut = 0, 0
            for cut, ch in enumerate(raw, 1):  # noqa: B007 - ``cut`` is used after the loop
                kept += ch not in " -"
                if kept == length:
                    break
            raw, compact = raw[:cut], compact[:length]
        if iban_ok(compact):
            out.append(Finding("iban", m.start(), m.start() + len(raw), raw, "iban"))
    return out


# -- national identifiers --------------------------------------------------------------------

_SSN: Final = re.compile(r"(?<![\d-])(\d{3})([- ]?)(\d{2})\2(\d{4})(?![\d-])")
_SSN_CUE: Final = re.compile(r"\b(?:ssn|social security|social-security|tax id|taxpayer|itin)\b",
                             re.IGNORECASE)
_NINO: Final = re.compile(
    r"(?<![A-Za-z0-9])(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
    r" ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![A-Za-z0-9])")
_NINO_FAKE: Final = re.compile(r"(?<![A-Za-z0-9])ZZ ?\d{2} ?\d{2} ?\d{2} ?[A-D]?(?![A-Za-z0-9])")


def _ssn_valid(area: str, group: str, serial: str) -> bool:
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def find_national_ids(text: str) -> list[Finding]:
    """US Social Security numbers (``123-45-6789``; nine bare digits only after a cue such as
    "SSN") and UK National Insurance numbers (``QQ 12 34 56 C``; the ``ZZ`` test prefix too)."""
    out = []
    cue = None
    for m in _SSN.finditer(text):
        area, sep, group, serial = m.groups()
        if not _ssn_valid(area, group, serial):
            continue
        if not sep:
            if cue is None:
                cue = bool(_SSN_CUE.search(text))
            if not cue:
                continue
        out.append(Finding("national_id", m.start(), m.end(), m.group(), "us_ssn"))
    for pattern in (_NINO, _NINO_FAKE):
        for m in pattern.finditer(text):
            value = m.group()
            if pattern is _NINO_FAKE and not any(c.isdigit() for c in value):
                continue
            out.append(Finding("national_id", m.start(), m.end(), value, "uk_nino"))
    return out


# -- IP addresses ----------------------------------------------------------------------------

_IPV4: Final = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d]|\.\d)")
_IPV6: Final = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?:%\w+)?(?![\w:])"
                          r"|(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,6}(?:\d{1,3}\.){3}\d{1,3}(?![\w.])")


def find_ips(text: str) -> list[Finding]:
    """Public IPv4 and IPv6 addresses. Private, loopback, link-local and documentation ranges
    are not personal (``192.168.0.1`` is everyone's router), so they are left alone."""
    out = []
    if "." in text:
        for m in _IPV4.finditer(text):
            try:
                address = ipaddress.IPv4Address(m.group())
            except ValueError:
                continue
            if address.is_global:
                out.append(Finding("ip", m.start(), m.end(), m.group(), "ipv4"))
    if "::" in text or text.count(":") >= 3:
        for m in _IPV6.finditer(text):
            try:
                address6 = ipaddress.IPv6Address(m.group().split("%")[0])
            except ValueError:
                continue
            if address6.is_global or (address6.ipv4_mapped and address6.ipv4_mapped.is_global):
                out.append(Finding("ip", m.start(), m.end(), m.group(), "ipv6"))
    return out


# -- API keys and secrets --------------------------------------------------------------------

_KEYS: Final = re.compile(
    r"(?P<anthropic_key>sk-ant-[\w-]{20,})"
    r"|(?P<openai_key>sk-(?:proj-|svcacct-|admin-)?[\w-]{20,})"
    r"|(?P<stripe_key>(?:sk|pk|rk)_(?:live|test)_[0-9A-Za-z]{16,})"
    r"|(?P<github_token>(?:gh[pousr]_[0-9A-Za-z]{30,})|github_pat_\w{40,})"
    r"|(?P<aws_key_id>(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16})"
    r"|(?P<slack_token>xox[abposre]-[0-9A-Za-z-]{10,})"
    r"|(?P<google_api_key>AIza[\w-]{35})"
    r"|(?P<gitlab_token>glpat-[\w-]{20,})"
    r"|(?P<huggingface_token>hf_[0-9A-Za-z]{30,})"
    r"|(?P<jwt>eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,})"
    r"|(?P<private_key>-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----)"
    r"|(?P<password>(?i:\b(?:password|passwd|pwd|passcode|api[_ -]?key|secret|token)\b"
    r"\s*(?:is|=|:)\s*)(?P<password_value>\S{6,}))"
)
_PASSWORD_LIKE: Final = re.compile(r"[\d!@#$%^&*_+=~]")
_TOKEN: Final = re.compile(r"(?<![\w/+=.-])[A-Za-z0-9+/=_\-.]{20,}(?![\w/+=-])")


def _entropy(token: str) -> float:
    n = len(token)
    return -sum(c / n * math.log2(c / n) for c in Counter(token).values())


def _random_looking(token: str) -> bool:
    """A long token mixing letters and digits whose characters carry ~4 bits each: keys,
    passwords and session tokens, not words, URLs or version strings."""
    stripped = token.strip("=.-_")
    if len(stripped) < 20 or "://" in stripped or stripped.count(".") > 2:
        return False
    letters = sum(c.isalpha() for c in stripped)
    digits = sum(c.isdigit() for c in stripped)
    if digits < 2 or letters < 4:
        return False
    upper = sum(c.isupper() for c in stripped)
    lower = letters - upper
    hexish = all(c in "0123456789abcdefABCDEF-" for c in stripped)
    if hexish:
        return len(stripped) >= 32 and _entropy(stripped) >= 3.3
    if not (upper and lower) and len(stripped) < 32:
        return False
    return _entropy(stripped) >= 3.6


def find_secrets(text: str) -> list[Finding]:
    """Known key formats (OpenAI, Anthropic, Stripe, GitHub, AWS, Slack, Google, GitLab,
    Hugging Face), JWTs, PEM private keys, "password: ..." and long high-entropy tokens."""
    out = []
    for m in _KEYS.finditer(text):
        kind = m.lastgroup or "secret"
        if kind == "password_value":
            kind = "password"
        start = m.start("password_value") if m.group("password_value") else m.start()
        if kind == "password" and not _PASSWORD_LIKE.search(m.group("password_value").rstrip(".,;:!?)")):
            continue
        out.append(Finding("secret", start, m.end(), text[start:m.end()], kind))
    covered = [(f.start, f.end) for f in out]
    for m in _TOKEN.finditer(text):
        if any(s <= m.start() < e for s, e in covered):
            continue
        if _random_looking(m.group()):
            out.append(Finding("secret", m.start(), m.end(), m.group(), "high_entropy"))
    return out
