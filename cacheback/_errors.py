"""The cacheback exception tree.

    CachebackError
    ├── InvalidInputError (also ValueError)   bad query / response / option from the caller
    ├── ConfigurationError (also ValueError)  inconsistent constructor options
    ├── EmbedderError
    │   ├── ModelNotFoundError                 model or tokenizer file missing
    │   └── ModelChecksumError                 model file's sha256 is not the pinned one
    ├── StorageError                           any SQLite or PostgreSQL failure, converted at the boundary
    │   ├── DatabaseLockedError                "database is locked" outlived the retry budget
    │   ├── DatabaseUnavailableError           the server is down, slow, read-only, or the pool is full
    │   ├── CorruptDatabaseError               the file is not a usable SQLite database
    │   └── SchemaVersionError                 written by a newer cacheback
    └── IndexFileError                         an ANN index file is truncated, stale or foreign

Provider errors (upstream HTTP failures) live in :mod:`cacheback.providers` and mirror the SDKs.
Only ``InvalidInputError`` and ``ConfigurationError`` ever reach a caller of ``SemanticCache``;
every other error is turned into a miss (``get``) or a skipped store (``put``) and counted in
``stats()``.
"""

from __future__ import annotations

__all__ = [
    "CachebackError",
    "ConfigurationError",
    "CorruptDatabaseError",
    "DatabaseLockedError",
    "DatabaseUnavailableError",
    "EmbedderError",
    "IndexFileError",
    "InvalidInputError",
    "ModelChecksumError",
    "ModelNotFoundError",
    "SchemaVersionError",
    "StorageError",
]


class CachebackError(Exception):
    """Base class of every error raised by cacheback."""


class InvalidInputError(CachebackError, ValueError):
    """The caller passed something the cache cannot store or look up."""


class ConfigurationError(CachebackError, ValueError):
    """Constructor options that cannot work together."""


class EmbedderError(CachebackError):
    """The embedding model cannot be loaded or run."""


class ModelNotFoundError(EmbedderError, FileNotFoundError):
    """The ONNX model or its tokenizer file is missing."""


class ModelChecksumError(EmbedderError):
    """The model file is not the one whose sha256 is pinned."""


class StorageError(CachebackError):
    """The SQLite store failed; raised inside cacheback, never out of ``get``/``put``."""


class DatabaseLockedError(StorageError):
    """Another connection held the write lock for longer than the retry budget."""


class DatabaseUnavailableError(StorageError):
    """A database server cannot serve now: refused or lost connection, statement timeout, full
    connection pool, read-only after a failover. Retried after the breaker's backoff."""


class CorruptDatabaseError(StorageError):
    """The database file is damaged or is not SQLite at all."""


class SchemaVersionError(StorageError):
    """The database was written by a newer schema than this cacheback knows."""


class IndexFileError(CachebackError):
    """A saved ANN index cannot be used; the caller rebuilds it from SQLite."""

