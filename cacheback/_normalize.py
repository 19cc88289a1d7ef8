"""Pure functions that turn caller input into the keys the store indexes on."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from typing import Any

from ._errors import InvalidInputError

__all__ = ["case_kept_words", "clean_text", "normalise_query", "query_hash", "scope_key", "validate_text"]

_WS = re.compile(r"\s+")
#: Trailing question marks, full stops, ellipses and exclamation marks, except an exclamation
#: mark after a digit (a factorial: "what is 3!" is not "what is 3").
_TRAILING = re.compile(r"(?:[\s?.…]|(?<![0-9])!)+$")
_SURROGATES = re.compile("[\ud800-\udfff]")
#: Runs of letters, digits and underscores that may hold a capital (an ASCII capital or any
#: non-ASCII character): the units whose case is folded or kept. All-ASCII lower-case words
#: are skipped without a call.
_CASED_WORD = re.compile(r"\w*[A-Z\u0080-\U0010ffff](?<=\w)\w*")


def clean_text(text: str) -> str:
    """Replace lone surrogates (not encodable as UTF-8) with U+FFFD so SQLite can store the text."""
    return _SURROGATES.sub("\ufffd", text)


def validate_text(value: object, what: str) -> str:
    """Return ``value`` cleaned if it is a non-blank string, else raise :class:`InvalidInputError`."""
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be a str, not {type(value).__name__}")
    if not value.strip():
        raise InvalidInputError(f"{what} must not be empty or blank")
    return clean_text(value)


def normalise_query(text: str) -> str:
    """The exact-tier form of a query: only what cannot change its meaning is normalised.

    * canonical composition (NFC): "é" typed as one code point or as "e" + a combining accent;
    * white space runs (any Unicode space, tabs, new lines) become one space, ends trimmed;
    * lower case, word by word, for words of letters only written all in lower case, all in
      capitals or with one initial capital ("What", "HTTP", "Polish": people type these
      either way, and the uncased embedder sees them as one word anyway), by ``str.lower``
      (one letter to one letter), not full case folding, which rewrites "ß" as "ss";
    * trailing ``?``, ``.``, ``…`` and ``!`` (but not a factorial's ``!`` after a digit).

    Words whose case is part of the word keep it: inner capitals ("getUser", "iPhone", base64
    "aGVsbG8"), letters mixed with digits or underscores ("Hunter2", "GET_USER"), so a
    case-sensitive identifier, token or password is never another one's key. Compatibility
    forms are kept (no NFKC): "3²" is not "32", "①" not "1", "ﬁ" not "fi", fullwidth "１" not
    "1", "½" not "1/2". Anything else that may be the same question is for the semantic tier
    and its match decision. Changing this function changes every stored key:
    :mod:`cacheback.storage._schema` re-keys existing rows in a migration.
    """
    composed = unicodedata.normalize("NFC", text)
    if not composed.islower():
        composed = _CASED_WORD.sub(_fold_word, composed)
    return _TRAILING.sub("", _WS.sub(" ", composed).strip()) or composed.strip()


def _fold_word(match: re.Match[str]) -> str:
    """``word`` in lower case when its case carries no meaning (see :func:`normalise_query`)."""
    return _fold_word_text(match.group())


def _fold_word_text(word: str) -> str:
    lowered = word.lower()
    if lowered != word and word.isalpha() and (word.isupper() or word.istitle()):
        return lowered
    return word


def case_kept_words(text: str) -> frozenset[str]:
    """The words of ``text`` whose case :func:`normalise_query` keeps ("getUser", "Hunter2",
    "MAX_RETRIES", base64 runs): the same letters in another case are another word."""
    return frozenset(w for w in _CASED_WORD.findall(unicodedata.normalize("NFC", text))
                     if _fold_word_text(w) == w and w.lower() != w)


def query_hash(normalised: str) -> str:
    """The exact-tier key of a normalised query (lone surrogates hash as themselves)."""
    return hashlib.sha256(normalised.encode("utf-8", "surrogatepass")).hexdigest()


def scope_key(scope: Any) -> str:
    """A stable digest of ``scope`` (any JSON value); ``None`` is the empty scope ``""``."""
    if scope is None:
        return ""
    try:
        canonical = json.dumps(
            scope, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"scope must be JSON-serialisable: {exc}") from exc
    except RecursionError as exc:
        raise InvalidInputError("scope is nested too deeply") from exc
    return hashlib.sha256(clean_text(canonical).encode("utf-8")).hexdigest()[:32]
