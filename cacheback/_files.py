"""Files the cache creates are private to their owner: 0600 files in 0700 directories.

Cached prompts and answers are personal data, so a database, its WAL and shared-memory files
(SQLite gives them the database file's mode), the ANN index, the tenant salt and the image
registry are never readable by other local users. The process umask can only take more bits
away; ``file_mode`` on ``SemanticCache`` (or ``CACHEBACK_FILE_MODE``, octal) widens it on purpose,
for example ``0o640`` for a group that backs the cache up.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DEFAULT_FILE_MODE", "dir_mode", "ensure_private_file", "make_private_dirs",
           "resolve_file_mode"]

DEFAULT_FILE_MODE = 0o600
_ENV = "CACHEBACK_FILE_MODE"


def resolve_file_mode(mode: int | None) -> int:
    """The mode new files get: ``mode``, else ``$CACHEBACK_FILE_MODE``, else 0600."""
    if mode is None:
        raw = os.environ.get(_ENV)
        mode = int(raw, 8) if raw else DEFAULT_FILE_MODE
    if not isinstance(mode, int) or isinstance(mode, bool) or not 0 <= mode <= 0o777:
        raise ValueError(f"file mode must be an int between 0 and 0o777, not {mode!r}")
    return mode


def dir_mode(file_mode: int) -> int:
    """The directory mode matching ``file_mode``: each class that may read may also enter."""
    mode = file_mode | 0o700
    for read, execute in ((0o040, 0o010), (0o004, 0o001)):
        if file_mode & read:
            mode |= execute
    return mode


def make_private_dirs(directory: str | os.PathLike[str], file_mode: int = DEFAULT_FILE_MODE) -> None:
    """Create ``directory`` and any missing parents with :func:`dir_mode` (existing ones are
    left as they are)."""
    path = Path(directory)
    missing = []
    while not path.exists():
        missing.append(path)
        if path.parent == path:
            break
        path = path.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=dir_mode(file_mode))
        except FileExistsError:
            continue


def ensure_private_file(path: str | os.PathLike[str], file_mode: int = DEFAULT_FILE_MODE) -> None:
    """Create ``path`` empty with ``file_mode`` (less the umask) if it does not exist yet, so
    that a library opening it later (SQLite) does not create it world-readable."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, file_mode)
    except FileExistsError:
        return
    os.close(fd)
