"""The public names are exactly what we mean to export; private modules declare ``__all__``."""

from __future__ import annotations

import importlib
import pkgutil

import cacheback

EXPECTED = {
    "CachebackError", "Candidate", "ConfigurationError", "CorruptDatabaseError",
    "DatabaseLockedError", "DatabaseUnavailableError", "EmbedderError", "Hit", "IndexFileError",
    "InvalidInputError",
    "ModelChecksumError", "ModelNotFoundError", "SchemaVersionError", "SemanticCache",
    "StorageError", "__version__",
}


def test_top_level_names() -> None:
    assert set(cacheback.__all__) == EXPECTED
    for name in cacheback.__all__:
        assert hasattr(cacheback, name)


def test_every_private_module_declares_all() -> None:
    missing = []
    for info in pkgutil.walk_packages(cacheback.__path__, "cacheback."):
        leaf = info.name.rsplit(".", 1)[-1]
        if leaf.startswith("_") and not leaf.startswith("__"):
            module = importlib.import_module(info.name)
            if not hasattr(module, "__all__"):
                missing.append(info.name)
    assert not missing


def test_exception_tree() -> None:
    assert issubclass(cacheback.InvalidInputError, ValueError)
    assert issubclass(cacheback.ModelChecksumError, cacheback.EmbedderError)
    assert issubclass(cacheback.CorruptDatabaseError, cacheback.StorageError)
    for name in EXPECTED - {"__version__", "SemanticCache", "Hit", "Candidate"}:
        assert issubclass(getattr(cacheback, name), cacheback.CachebackError)
