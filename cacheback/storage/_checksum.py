"""The per-entry CRC-32, shared by the store (written on put, checked on every read) and the
schema migrations that recompute it."""

from __future__ import annotations

import zlib

__all__ = ["entry_checksum", "legacy_checksum"]


def _crc(parts: tuple[str | None, ...]) -> int:
    crc = 0
    for part in parts:
        crc = zlib.crc32(b"\x00" if part is None else b"\x01" + part.encode("utf-8"), crc)
    return crc


def entry_checksum(namespace: str, scope_key: str, query: str, response: str,
                   payload: str | None, metadata: str | None) -> int:
    """CRC-32 of everything an entry serves and of the keys that decide who it is served to
    (schema 4 on), so a damaged page that still decodes as text (an overflow page of a long
    answer, a namespace) is caught instead of served or served to another tenant."""
    return _crc((namespace, scope_key, query, response, payload, metadata))


def legacy_checksum(query: str, response: str, payload: str | None, metadata: str | None) -> int:
    """The checksum of schemas 2 and 3 (served text only), for verifying rows before re-keying."""
    return _crc((query, response, payload, metadata))
