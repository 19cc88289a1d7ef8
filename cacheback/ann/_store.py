"""Vector rows of an index: plain float32, or unit vectors as int16 or int8 codes.

The int16 form halves the memory of cosine vectors and moves a similarity by about 1e-5; the
int8 form (one scale per row) quarters it and moves a similarity by about 4e-4.
Codes rather than float16: numpy casts int16 to float32 with SIMD but converts float16 one
element at a time, about ten times slower here, and graph searches convert every row they score.
Products are always taken in float32 over at most ``BLOCK_ELEMENTS`` values, a size OpenBLAS
keeps on the calling thread: a threaded product leaves its workers spinning, which stalls the
embedding model on a small machine.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from .._errors import IndexFileError
from ._space import dots

__all__ = ["BLOCK_ELEMENTS", "CODE_STORES", "Float32Store", "Int8Store", "Int16Store", "VectorStore"]

BLOCK_ELEMENTS = 1 << 17
"""Values per matrix-vector product (341 rows of 384): one OpenBLAS thread, and within L2."""
_CODE_MAX = 32767
_UNIT = np.float32(1.0 / _CODE_MAX)
_INT8_MAX = 127


class VectorStore(ABC):
    """Fixed-width rows addressed by slot, kept in one ``dtype`` array (saved under
    ``array_name``), plus one float32 scale per row when ``scaled``; ``rows`` and every product
    come back as float32."""

    kind: ClassVar[str]
    dtype: ClassVar[Any]
    array_name: ClassVar[str]
    scaled: ClassVar[bool] = False

    def __init__(self, dim: int, capacity: int) -> None:
        self.dim = dim
        self.block_rows = max(1, BLOCK_ELEMENTS // dim)
        self._rows = np.zeros((capacity, dim), dtype=self.dtype)
        self._scales = np.zeros(capacity if self.scaled else 0, dtype=np.float32)

    @abstractmethod
    def _encode(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Float32 vectors as stored rows, and their scales (None when not ``scaled``)."""

    @abstractmethod
    def _decode(self, raw: np.ndarray, scales: np.ndarray | None) -> np.ndarray:
        """Stored rows as float32 (``raw`` itself when already float32)."""

    @abstractmethod
    def _product(self, raw: np.ndarray, scales: np.ndarray | None, vector: np.ndarray) -> np.ndarray:
        """``_decode(raw, scales) @ vector``."""

    def _scales_of(self, slots: np.ndarray | slice) -> np.ndarray | None:
        return self._scales[slots] if self.scaled else None

    @property
    def capacity(self) -> int:
        """Rows allocated."""
        return len(self._rows)

    @property
    def nbytes(self) -> int:
        """Bytes allocated."""
        return self._rows.nbytes + self._scales.nbytes

    def resize(self, capacity: int, keep: int) -> None:
        """Reallocate to ``capacity`` rows, keeping the first ``keep``."""
        rows = np.zeros((capacity, self.dim), dtype=self.dtype)
        rows[:keep] = self._rows[:keep]
        self._rows = rows
        if self.scaled:
            scales = np.zeros(capacity, dtype=np.float32)
            scales[:keep] = self._scales[:keep]
            self._scales = scales

    def write(self, slots: np.ndarray, vectors: np.ndarray) -> None:
        """Store float32 ``vectors`` (m, dim) in ``slots``."""
        rows, scales = self._encode(vectors)
        self._rows[slots] = rows
        if scales is not None:
            self._scales[slots] = scales

    def rows(self, slots: np.ndarray) -> np.ndarray:
        """The vectors in ``slots`` as float32 (m, dim), as stored (after any rounding)."""
        return self._decode(self._rows.take(slots, axis=0), self._scales_of(slots))

    def range_rows(self, lo: int, hi: int) -> np.ndarray:
        """Rows ``lo`` to ``hi`` as float32; may be a view of the store, so read it only."""
        return self._decode(self._rows[lo:hi], self._scales_of(slice(lo, hi)))

    def dots(self, slots: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """``rows(slots) @ vector`` in float32, one block at a time."""
        step = self.block_rows
        if len(slots) <= step:
            return self._product(self._rows.take(slots, axis=0), self._scales_of(slots), vector)
        return np.concatenate([self.dots(slots[lo:lo + step], vector)
                               for lo in range(0, len(slots), step)])

    def scan(self, vector: np.ndarray, n: int) -> np.ndarray:
        """``rows(arange(n)) @ vector`` in float32, one block at a time."""
        out = np.empty(n, dtype=np.float32)
        for lo in range(0, n, self.block_rows):
            hi = min(n, lo + self.block_rows)
            out[lo:hi] = self._product(self._rows[lo:hi], self._scales_of(slice(lo, hi)), vector)
        return out

    def arrays(self, n: int) -> dict[str, np.ndarray]:
        """The first ``n`` rows as the arrays an index file holds."""
        if self.scaled:
            return {self.array_name: self._rows[:n], f"{self.array_name}_scales": self._scales[:n]}
        return {self.array_name: self._rows[:n]}

    @classmethod
    def from_arrays(cls, dim: int, arrays: dict[str, np.ndarray], n: int,
                    capacity: int) -> VectorStore:
        """A store of ``capacity`` rows holding the ``n`` rows of a loaded file (adopted, not
        copied, when they fill it); IndexFileError when the array is missing or malformed."""
        rows = arrays.get(cls.array_name)
        if rows is None or rows.dtype != cls.dtype or rows.shape != (n, dim):
            raise IndexFileError(f"index file array {cls.array_name!r} is missing or malformed")
        store = cls(dim, 0)
        store._rows = np.ascontiguousarray(rows)
        if cls.scaled:
            scales = arrays.get(f"{cls.array_name}_scales")
            if scales is None or scales.dtype != np.float32 or scales.shape != (n,):
                raise IndexFileError(f"index file array {cls.array_name!r}_scales is missing or malformed")
            store._scales = np.ascontiguousarray(scales)
        if capacity > n:
            store.resize(capacity, n)
        return store


class Float32Store(VectorStore):
    """Rows kept exactly, as float32."""

    kind = "float32"
    dtype = np.float32
    array_name = "vectors"

    def _encode(self, vectors: np.ndarray) -> tuple[np.ndarray, None]:
        return vectors, None

    def _decode(self, raw: np.ndarray, scales: np.ndarray | None) -> np.ndarray:
        return raw

    def _product(self, raw: np.ndarray, scales: np.ndarray | None, vector: np.ndarray) -> np.ndarray:
        return dots(raw, vector)


class Int16Store(VectorStore):
    """Unit vectors in 16-bit fixed point: a component ``x`` (within [-1, 1]) kept as
    ``round(x * 32767)``, so each is off by at most 1.5e-5 and a similarity by about as much."""

    kind = "int16"
    dtype = np.int16
    array_name = "codes"

    def _encode(self, vectors: np.ndarray) -> tuple[np.ndarray, None]:
        scaled = np.clip(vectors * np.float32(_CODE_MAX), -_CODE_MAX, _CODE_MAX)
        return np.rint(scaled, out=scaled), None

    def _decode(self, raw: np.ndarray, scales: np.ndarray | None) -> np.ndarray:
        out = raw.astype(np.float32)
        out *= _UNIT
        return out

    def _product(self, raw: np.ndarray, scales: np.ndarray | None, vector: np.ndarray) -> np.ndarray:
        out = dots(raw.astype(np.float32), vector)
        out *= _UNIT
        return out


class Int8Store(VectorStore):
    """Unit vectors as int8 codes with one scale per row (its largest component / 127): a
    quarter of float32's memory. On MiniLM vectors a similarity moves by 4e-4 on average and
    3e-3 at most; near-ties may swap, so a caller that needs exact order re-ranks the results."""

    kind = "int8"
    dtype = np.int8
    array_name = "codes8"
    scaled = True

    def _encode(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        scales = np.abs(vectors).max(axis=1) / np.float32(_INT8_MAX)
        scales[scales == 0] = 1.0
        codes = np.clip(np.rint(vectors / scales[:, None]), -_INT8_MAX, _INT8_MAX)
        return codes, scales.astype(np.float32)

    def _decode(self, raw: np.ndarray, scales: np.ndarray | None) -> np.ndarray:
        assert scales is not None
        out = raw.astype(np.float32)
        out *= scales[:, None]
        return out

    def _product(self, raw: np.ndarray, scales: np.ndarray | None, vector: np.ndarray) -> np.ndarray:
        assert scales is not None
        out = dots(raw.astype(np.float32), vector)
        out *= scales
        return out


CODE_STORES: dict[str, type[VectorStore]] = {"int16": Int16Store, "int8": Int8Store}
"""The coded forms an index may keep unit (cosine) vectors in, by name."""
