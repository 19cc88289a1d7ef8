"""Give freed heap memory back to the operating system after a large one-off allocation.

Loading the ONNX session or reading every vector at open frees far more than it keeps, but
glibc holds the freed pages, so the process looks 80-100 MB bigger than it is. ``malloc_trim``
returns them; elsewhere (musl, macOS, Windows) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from typing import Any

__all__ = ["release_free_memory"]

logger = logging.getLogger("cacheback")

_libc: Any = None
_looked_up = False


def _malloc_trim() -> Any:
    global _libc, _looked_up
    if not _looked_up:
        _looked_up = True
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _libc = libc.malloc_trim
            _libc.argtypes, _libc.restype = [ctypes.c_size_t], ctypes.c_int
        except (OSError, AttributeError):
            _libc = None
    return _libc


def release_free_memory() -> bool:
    """Return freed heap pages to the OS; ``True`` if the C library could do it."""
    trim = _malloc_trim()
    if trim is None:
        return False
    try:
        trim(0)
    except Exception as exc:  # noqa: BLE001 - memory hygiene must never break a lookup
        logger.debug("cacheback: malloc_trim failed: %s", exc)
        return False
    return True
