"""cacheback: a local, offline semantic cache for LLM APIs that serves only right answers."""

from ._errors import (
    CachebackError,
    ConfigurationError,
    CorruptDatabaseError,
    DatabaseLockedError,
    DatabaseUnavailableError,
    EmbedderError,
    IndexFileError,
    InvalidInputError,
    ModelChecksumError,
    ModelNotFoundError,
    SchemaVersionError,
    StorageError,
)
from ._types import Candidate, Hit
from .cache import SemanticCache

__version__ = "0.1.0"

__all__ = [
    "CachebackError",
    "Candidate",
    "ConfigurationError",
    "CorruptDatabaseError",
    "DatabaseLockedError",
    "DatabaseUnavailableError",
    "EmbedderError",
    "Hit",
    "IndexFileError",
    "InvalidInputError",
    "ModelChecksumError",
    "ModelNotFoundError",
    "SchemaVersionError",
    "SemanticCache",
    "StorageError",
    "__version__",
]
