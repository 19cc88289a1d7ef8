"""The id -> slot map of an index, in numpy arrays: 12 bytes an id where a dict of Python ints
takes about 100 (10 MB at 100k items)."""

from __future__ import annotations

import numpy as np

__all__ = ["IdMap"]

_MERGE_MIN = 1024
_MERGE_SHARE = 16
_LOOP_MAX = 64
"""``set_many`` sets up to this many ids one by one; more are merged into the arrays at once."""
_GONE = -1
_ID_MIN, _ID_MAX = -(2**63), 2**63 - 1


class IdMap:
    """Maps int64 ids to slots: sorted ``ids`` / ``slots`` arrays plus a dict of the changes
    made since they were last rebuilt, merged in once it reaches ``_MERGE_MIN`` entries or a
    ``_MERGE_SHARE``-th of the arrays (``_GONE`` there marks a removed id)."""

    __slots__ = ("_count", "_ids", "_recent", "_slots")

    def __init__(self) -> None:
        self._ids = np.zeros(0, dtype=np.int64)
        self._slots = np.zeros(0, dtype=np.int32)
        self._recent: dict[int, int] = {}
        self._count = 0

    @classmethod
    def from_arrays(cls, ids: np.ndarray, slots: np.ndarray) -> IdMap:
        """A map of ``ids[i] -> slots[i]``; ValueError when an id repeats."""
        order = np.argsort(ids, kind="stable")
        id_map = cls()
        id_map._ids = np.ascontiguousarray(ids[order], dtype=np.int64)
        id_map._slots = np.ascontiguousarray(slots[order], dtype=np.int32)
        if len(ids) > 1 and not (np.diff(id_map._ids) > 0).all():
            raise ValueError("an id appears twice")
        id_map._count = len(ids)
        return id_map

    def __len__(self) -> int:
        return self._count

    def __contains__(self, id: int) -> bool:
        return self.get(id) is not None

    @property
    def nbytes(self) -> int:
        """Bytes of the arrays, plus about 100 per pending change."""
        return self._ids.nbytes + self._slots.nbytes + 100 * len(self._recent)

    def get(self, id: int) -> int | None:
        """The slot of ``id``, or None."""
        if not _ID_MIN <= id <= _ID_MAX:
            return None
        slot = self._recent.get(id)
        if slot is None:
            i = int(self._ids.searchsorted(id))
            slot = int(self._slots[i]) if i < len(self._ids) and self._ids[i] == id else _GONE
        return None if slot == _GONE else slot

    def get_many(self, ids: np.ndarray) -> np.ndarray:
        """The slot of each id, ``-1`` for unknown ids."""
        out = np.full(len(ids), _GONE, dtype=np.int64)
        if len(self._ids):
            pos = np.minimum(self._ids.searchsorted(ids), len(self._ids) - 1)
            found = self._ids[pos] == ids
            out[found] = self._slots[pos[found]]
        if self._recent:
            recent = self._recent.get
            for j, id in enumerate(ids.tolist()):
                slot = recent(id)
                if slot is not None:
                    out[j] = slot
        return out

    def set(self, id: int, slot: int) -> None:
        """Map ``id`` to ``slot`` (adding or replacing)."""
        if self.get(id) is None:
            self._count += 1
        self._recent[id] = slot
        if len(self._recent) >= max(_MERGE_MIN, len(self._ids) // _MERGE_SHARE):
            self._merge()

    def set_many(self, ids: np.ndarray, slots: np.ndarray) -> None:
        """Map each distinct ``ids[i]`` to ``slots[i]``."""
        if len(ids) <= _LOOP_MAX:
            for id, slot in zip(ids.tolist(), slots.tolist()):
                self.set(id, slot)
            return
        self._merge()
        known = self.get_many(ids) >= 0
        self._count += int((~known).sum())
        self._merge(ids, slots)

    def pop(self, id: int) -> int:
        """Remove ``id`` and return its slot; KeyError when it is not mapped."""
        slot = self.get(id)
        if slot is None:
            raise KeyError(id)
        self._count -= 1
        self._recent[id] = _GONE
        if len(self._recent) >= max(_MERGE_MIN, len(self._ids) // _MERGE_SHARE):
            self._merge()
        return slot

    def _merge(self, ids: np.ndarray | None = None, slots: np.ndarray | None = None) -> None:
        """Fold the pending changes, then ``ids`` -> ``slots`` (distinct ids), into the arrays."""
        if self._recent:
            changed = np.fromiter(self._recent, dtype=np.int64, count=len(self._recent))
            values = np.fromiter(self._recent.values(), dtype=np.int32, count=len(self._recent))
            self._recent = {}
            self._merge(changed, values)
        if ids is None or slots is None or not len(ids):
            return
        keep = ~np.isin(self._ids, ids)
        live = slots != _GONE
        merged_ids = np.concatenate([self._ids[keep], ids[live]])
        merged_slots = np.concatenate([self._slots[keep], slots[live].astype(np.int32)])
        order = np.argsort(merged_ids, kind="stable")
        self._ids, self._slots = merged_ids[order], merged_slots[order]
