"""The index file format: a versioned header, raw arrays, and a trailing digest.

Layout: ``MAGIC | u32 format version | u32 header length | header JSON | arrays | digest``.
The header names the index kind, its parameters, the caller's ``meta`` and every array's dtype
and shape; the 16-byte BLAKE2b digest covers all bytes before it, so truncation and bit rot are
both caught. Files are written to a temporary name and moved into place with ``os.replace``.
Nothing is ever pickled.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import IndexFileError

__all__ = ["FORMAT_VERSION", "read_index_file", "write_index_file"]

MAGIC = b"CBACKANN"
FORMAT_VERSION = 2
"""2: vectors may be int16 codes with per-row scales (``storage`` in the header)."""
_PREFIX = struct.Struct("<8sII")
_DIGEST_SIZE = 16
_ALLOWED_DTYPES = frozenset({"<f4", "<i2", "<i4", "<i8", "|i1", "|b1", "<u4"})
_CHUNK = 1 << 24


def _digest() -> Any:
    return hashlib.blake2b(digest_size=_DIGEST_SIZE)


def write_index_file(path: str | os.PathLike[str], header: dict[str, Any],
                     arrays: dict[str, np.ndarray]) -> None:
    """Atomically write ``header`` (JSON-serialisable) and ``arrays`` to ``path``."""
    path = Path(path)
    arrays = {name: np.ascontiguousarray(a) for name, a in arrays.items()}
    full = dict(header, arrays=[{"name": n, "dtype": a.dtype.str, "shape": list(a.shape)}
                                for n, a in arrays.items()])
    blob = json.dumps(full, sort_keys=True, allow_nan=False).encode("utf-8")
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(name)
    digest = _digest()
    try:
        pieces: list[bytes | memoryview] = [_PREFIX.pack(MAGIC, FORMAT_VERSION, len(blob)), blob]
        pieces += [a.data.cast("B") for a in arrays.values() if a.size]
        with open(fd, "wb") as fh:
            for piece in pieces:
                digest.update(piece)
                fh.write(piece)
            fh.write(digest.digest())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_index_file(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read and verify a file written by :func:`write_index_file`.

    Raises :class:`IndexFileError` for a missing, truncated, foreign, newer or corrupt file.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            return _read(fh, path.stat().st_size, path)
    except OSError as exc:
        raise IndexFileError(f"cannot read index file {path}: {exc}") from exc


def _read(fh: Any, size: int, path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    prefix = fh.read(_PREFIX.size)
    if len(prefix) < _PREFIX.size:
        raise IndexFileError(f"{path} is truncated (no header)")
    magic, version, header_len = _PREFIX.unpack(prefix)
    if magic != MAGIC:
        raise IndexFileError(f"{path} is not a cacheback index file")
    if version != FORMAT_VERSION:
        raise IndexFileError(f"{path} has index format version {version}; "
                             f"this cacheback reads version {FORMAT_VERSION}")
    blob = fh.read(header_len)
    if len(blob) < header_len:
        raise IndexFileError(f"{path} is truncated (header)")
    digest = _digest()
    digest.update(prefix)
    digest.update(blob)
    try:
        header = json.loads(blob)
        specs = [(s["name"], np.dtype(s["dtype"]), tuple(int(x) for x in s["shape"]))
                 for s in header.pop("arrays")]
    except (ValueError, KeyError, TypeError) as exc:
        raise IndexFileError(f"{path} has a damaged header: {exc}") from exc
    if any(dt.str not in _ALLOWED_DTYPES or min(shape, default=0) < 0
           for _, dt, shape in specs):
        raise IndexFileError(f"{path} declares an unsupported array")
    expected = _PREFIX.size + header_len + _DIGEST_SIZE + sum(
        dt.itemsize * int(np.prod(shape)) for _, dt, shape in specs)
    if size != expected:
        raise IndexFileError(f"{path} is {size} bytes, expected {expected} (truncated or padded)")
    arrays = {name: _read_array(fh, dt, shape, digest, path) for name, dt, shape in specs}
    if fh.read(_DIGEST_SIZE) != digest.digest():
        raise IndexFileError(f"{path} failed its checksum (corrupt)")
    return header, arrays


def _read_array(fh: Any, dtype: np.dtype, shape: tuple[int, ...], digest: Any,
                path: Path) -> np.ndarray:
    out = np.empty(shape, dtype=dtype)
    view = out.data.cast("B") if out.size else memoryview(b"")
    done = 0
    while done < len(view):
        got = fh.readinto(view[done:done + _CHUNK])
        if not got:
            raise IndexFileError(f"{path} is truncated (array data)")
        digest.update(view[done:done + got])
        done += got
    return out
