"""Flat-array storage for the HNSW layers: one fixed-width int32 neighbour table per level."""

from __future__ import annotations

import numpy as np

__all__ = ["Layer"]


class Layer:
    """Adjacency lists of one HNSW level, kept in flat numpy arrays.

    Level 0 holds every slot, so its row *is* the slot (``rows is None``). Upper levels are
    sparse: ``rows[slot]`` gives the row of a slot present at that level (``-1`` otherwise) and
    ``slots[row]`` maps back. ``links[row, :counts[row]]`` are the neighbour slots.
    """

    __slots__ = ("counts", "links", "n_rows", "rows", "slots", "width")

    def __init__(self, width: int, capacity: int, dense: bool) -> None:
        self.width = width
        self.links = np.zeros((capacity if dense else 16, width), dtype=np.int32)
        self.counts = np.zeros(len(self.links), dtype=np.int32)
        self.rows: np.ndarray | None = None if dense else np.full(capacity, -1, dtype=np.int32)
        self.slots: np.ndarray | None = None if dense else np.zeros(16, dtype=np.int32)
        self.n_rows = 0

    def row(self, slot: int) -> int:
        """Row of ``slot`` in this level's tables."""
        return slot if self.rows is None else int(self.rows[slot])

    def neighbours(self, slot: int) -> np.ndarray:
        """The neighbour slots of ``slot`` (a view)."""
        r = self.row(slot)
        return self.links[r, : self.counts[r]]

    def set_neighbours(self, slot: int, neighbours: np.ndarray) -> None:
        """Replace the neighbour list of ``slot`` (at most ``width`` entries)."""
        r = self.row(slot)
        self.links[r, : len(neighbours)] = neighbours
        self.counts[r] = len(neighbours)

    def add_slot(self, slot: int) -> None:
        """Give ``slot`` an empty row (upper levels only; level 0 rows always exist)."""
        if self.rows is None:
            self.counts[slot] = 0
            return
        if self.n_rows == len(self.links):
            self._grow_rows(2 * len(self.links))
        assert self.slots is not None
        self.rows[slot] = self.n_rows
        self.slots[self.n_rows] = slot
        self.counts[self.n_rows] = 0
        self.n_rows += 1

    def present_slots(self, n_slots: int) -> np.ndarray:
        """Slots that have a row at this level."""
        if self.slots is None:
            return np.arange(n_slots, dtype=np.int32)
        return self.slots[: self.n_rows]

    def resize(self, capacity: int) -> None:
        """Follow a change of the index capacity (slot count)."""
        if self.rows is None:
            self._grow_rows(capacity)
        else:
            rows = np.full(capacity, -1, dtype=np.int32)
            keep = min(capacity, len(self.rows))
            rows[:keep] = self.rows[:keep]
            self.rows = rows

    def _grow_rows(self, n: int) -> None:
        links = np.zeros((n, self.width), dtype=np.int32)
        counts = np.zeros(n, dtype=np.int32)
        keep = min(n, len(self.links))
        links[:keep] = self.links[:keep]
        counts[:keep] = self.counts[:keep]
        self.links, self.counts = links, counts
        if self.slots is not None:
            slots = np.zeros(n, dtype=np.int32)
            slots[: min(n, len(self.slots))] = self.slots[: min(n, len(self.slots))]
            self.slots = slots

    def to_arrays(self, n_slots: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(slots, links, counts) of the used rows, for saving."""
        n = n_slots if self.rows is None else self.n_rows
        return self.present_slots(n_slots).copy(), self.links[:n].copy(), self.counts[:n].copy()

    @classmethod
    def from_arrays(cls, width: int, capacity: int, slots: np.ndarray, links: np.ndarray,
                    counts: np.ndarray, dense: bool) -> Layer:
        """Rebuild a layer saved by :meth:`to_arrays`."""
        layer = cls(width, capacity, dense)
        n = len(slots)
        if not dense:
            layer._grow_rows(max(16, n))
            assert layer.rows is not None and layer.slots is not None
            layer.rows[slots] = np.arange(n, dtype=np.int32)
            layer.slots[:n] = slots
        layer.links[:n] = links
        layer.counts[:n] = counts
        layer.n_rows = n
        return layer
