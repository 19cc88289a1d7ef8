"""One rule for every entry point (``SemanticCache``, the proxy's ``--db``, the CLI,
``CACHEBACK_DATABASE_URL``): a ``postgresql://`` URL is PostgreSQL, ``sqlite:///path`` or a plain
path is SQLite, and anything else that looks like a URL is refused, never taken for a file name."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .._errors import ConfigurationError
from ._base import Storage
from ._sqlite import SQLiteStorage

__all__ = ["DATABASE_URL_ENV", "is_url", "open_storage", "redact_url", "resolve_location"]

#: The environment variable naming the database when no path or URL is given.
DATABASE_URL_ENV = "CACHEBACK_DATABASE_URL"
_POSTGRES = ("postgresql", "postgres")
#: Schemes of databases and services someone might paste; refused by name even without "//".
_KNOWN_SCHEMES = frozenset(_POSTGRES + (
    "sqlite", "mysql", "mariadb", "redis", "rediss", "mongodb", "mongodb+srv", "http", "https",
    "file", "cockroachdb", "duckdb", "postgresql+psycopg", "postgresql+psycopg2", "postgis",
))
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]+):")


def _scheme(location: str) -> str | None:
    match = _SCHEME.match(location)
    if match is None:
        return None
    scheme = match.group(1).lower()
    return scheme if "://" in location or scheme in _KNOWN_SCHEMES else None


def redact_url(location: str) -> str:
    """``location`` without a password, for logs and ``stats()``; a file path unchanged."""
    if _scheme(location) is None:
        return location
    try:
        parts = urlsplit(location)
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", ":***@", 1)
    query = urlencode([(k, "***" if k == "password" else v) for k, v in parse_qsl(parts.query)])
    return urlunsplit(parts._replace(netloc=netloc, query=query)) if (
        netloc != parts.netloc or "password=" in parts.query) else location


def is_url(location: str | os.PathLike[str]) -> bool:
    """True when ``location`` is a URL (any scheme), not a file path."""
    return _scheme(str(location)) is not None


def resolve_location(location: str | os.PathLike[str]) -> str:
    """Check ``location`` and return what to open: a PostgreSQL URL unchanged, a file path for
    SQLite. :class:`ConfigurationError` for an unsupported scheme or a malformed URL."""
    text = str(location)
    scheme = _scheme(text)
    if scheme is None:
        return text
    if scheme in _POSTGRES:
        from ._postgres import PostgresSettings, psycopg

        if psycopg is None:
            raise ConfigurationError(
                "a postgresql:// database needs the postgres extra: "
                "pip install 'cacheback-ai[postgres]'"
            )
        PostgresSettings.from_url(text)
        return text
    if scheme == "sqlite":
        path = text.split(":", 1)[1]
        if not path.startswith("///") or len(path) == 3:
            raise ConfigurationError("an SQLite URL is sqlite:///relative/path or sqlite:////abs/path")
        return path[3:]
    raise ConfigurationError(
        f"unsupported database URL scheme {scheme!r}: use a file path, sqlite:///path or "
        "postgresql://user@host/db"
    )


def open_storage(location: str | os.PathLike[str], *, file_mode: int | None = None) -> Storage:
    """The storage ``location`` names (see :func:`resolve_location`); ``file_mode`` is the mode
    of a new SQLite file (a server's files are the server's business)."""
    resolved = resolve_location(location)
    if _scheme(resolved) in _POSTGRES:
        from ._postgres import PostgresStorage

        return PostgresStorage(resolved)
    return SQLiteStorage(Path(resolved), file_mode=file_mode)
