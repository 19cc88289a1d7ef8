"""Tenant isolation: each caller's entries live in a namespace derived from its API key.

The namespace is an HMAC-SHA256 of the key under a random salt kept beside the database
(``<db>.salt``, mode 0600), so the database holds no key and no hash that a table of common
keys could reverse. The key itself is only held in memory for the length of a request.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from .._files import make_private_dirs
from ..storage import is_url

__all__ = ["SECRET_HEADERS", "NamespaceError", "Tenants", "caller_key", "load_salt"]

SECRET_HEADERS: Final = frozenset({"authorization", "x-api-key", "proxy-authorization"})
_SALT_BYTES: Final = 32
logger = logging.getLogger("cacheback")
_NAME: Final = re.compile(r"[A-Za-z0-9._:/-]{1,128}")


class NamespaceError(ValueError):
    """``X-Cacheback-Namespace`` is not a valid name."""


def _usable(key: str) -> str | None:
    """A key made of visible ASCII, else None (a key with spaces, tabs or control characters is
    not one the upstream accepts, and must not become a tenant)."""
    key = key.strip(" \t")
    return key if key and key.isascii() and key.isprintable() and " " not in key else None


def caller_key(headers: Mapping[str, str]) -> str | None:
    """The API key a request presents: ``x-api-key`` (Anthropic) or a ``Bearer`` token
    (``Bearer`` and the token separated by spaces or tabs, any case)."""
    key = headers.get("x-api-key")
    if key:
        return _usable(key)
    parts = (headers.get("authorization") or "").split(None, 1)
    if len(parts) != 2 or parts[0].lower() != "bearer":
        return None
    return _usable(parts[1])


def load_salt(db_path: str, storage: object | None = None) -> bytes:
    """The database's salt, created on first use; an in-memory database gets a fresh one.

    A database server (``postgresql://``) keeps the salt in the database itself
    (``storage.tenant_salt()``), so every proxy on it derives the same namespaces. If the server
    is unreachable when the proxy starts, the proxy uses a salt of its own until it restarts:
    its entries are then private to it (never served to another tenant), not shared.

    Created atomically (written to a private temporary file, then hard-linked into place) so
    workers starting together agree on one salt.
    """
    if db_path == ":memory:":
        return secrets.token_bytes(_SALT_BYTES)
    if is_url(db_path):
        try:
            return bytes(storage.tenant_salt(_SALT_BYTES))  # type: ignore[union-attr]
        except Exception as exc:  # noqa: BLE001 - the proxy must start while the database is down
            logger.warning("cacheback-proxy: no shared tenant salt (%s); entries stay private to "
                           "this process until it restarts with the database up", exc)
            return secrets.token_bytes(_SALT_BYTES)
    path = Path(db_path + ".salt")
    for _ in range(50):
        try:
            salt = bytes.fromhex(path.read_text().strip())
            if len(salt) == _SALT_BYTES:
                return salt
        except FileNotFoundError:
            _create_salt(path)
            continue
        except ValueError:
            pass
        time.sleep(0.01)
    raise OSError(f"{path} does not hold a valid salt; remove it to start a new one")


def _create_salt(path: Path) -> None:
    make_private_dirs(path.parent)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, secrets.token_hex(_SALT_BYTES).encode())
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


class Tenants:
    """Maps (API key, requested namespace) to the cache namespace a request may use.

    ``api-key`` mode: every key has its own namespace; ``X-Cacheback-Namespace`` only names a
    sub-namespace inside it. ``header`` mode: the header names the namespace outright (callers
    with different keys may then share entries; the operator opts in), else the key decides.
    """

    def __init__(self, salt: bytes, mode: str = "api-key") -> None:
        self._salt = salt
        self.mode = mode

    def key_id(self, key: str) -> str:
        """A stable, non-reversible id of ``key`` (32 hex digits)."""
        return hmac.new(self._salt, key.encode(), hashlib.sha256).hexdigest()[:32]

    def namespace(self, key: str, requested: str | None) -> str:
        """The namespace for this caller; raises :class:`NamespaceError` for a bad header."""
        if requested is not None and not _NAME.fullmatch(requested):
            raise NamespaceError(
                "X-Cacheback-Namespace must be 1-128 characters of letters, digits and ._:/-")
        if requested is not None and self.mode == "header":
            return f"ns:{requested}"
        base = f"key:{self.key_id(key)}"
        return f"{base}/{requested}" if requested is not None else base
