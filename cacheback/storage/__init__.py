"""Storage: the interface the cache needs, and its SQLite implementation (the source of truth)."""

from ._base import Entry, Feedback, NewEntry, Storage, VectorBatch
from ._schema import APPLICATION_ID, SCHEMA_VERSION
from ._settings import EVICTION_POLICIES, PRAGMAS, RETRY
from ._sqlite import SQLITE_HEADER, SQLiteStorage, is_locked_error, json_text

__all__ = [
    "APPLICATION_ID",
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
    "json_text",
]
