"""Storage: the interface the cache needs, its SQLite implementation (the default source of truth),
the PostgreSQL + pgvector one (``_postgres``, imported when a ``postgresql://`` URL is opened) and the
one rule that picks a backend from a path or URL (``open_storage``)."""

from ._base import Entry, Feedback, NewEntry, Storage, VectorBatch
from ._open import DATABASE_URL_ENV, is_url, open_storage, redact_url, resolve_location
from ._schema import APPLICATION_ID, SCHEMA_VERSION
from ._settings import EVICTION_POLICIES, PRAGMAS, RETRY
from ._sqlite import SQLITE_HEADER, SQLiteStorage, is_locked_error, json_text

__all__ = [
    "APPLICATION_ID",
    "DATABASE_URL_ENV",
    "EVICTION_POLICIES",
    "PRAGMAS",
    "RETRY",
    "SCHEMA_VERSION",
    "SQLITE_HEADER",
    "Entry",
    "Feedback",
    "NewEntry",
    "SQLiteStorage",
    "Storage",
    "VectorBatch",
    "is_locked_error",
    "is_url",
    "json_text",
    "open_storage",
    "redact_url",
    "resolve_location",
]
