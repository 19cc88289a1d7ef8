"""Turn a caller's ``filter`` argument into what the searches use: slots and a slot predicate."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np

from .._errors import InvalidInputError
from ._idmap import IdMap

__all__ = ["Admission", "IdFilter", "resolve_filter"]

IdFilter: TypeAlias = Callable[[int], bool] | Collection[int] | np.ndarray | None
"""``None``, a predicate on ids, or the collection of ids that may be returned."""


@dataclass(frozen=True)
class Admission:
    """Which live slots a query may return.

    ``slots``: the explicit allowed live slots (from an id collection), or ``None`` for all.
    ``call``: a memoised predicate on a slot (from a callable filter), or ``None``.
    ``mask``: ``slots`` as a boolean array over every slot, when the index already has one.
    """

    slots: np.ndarray | None = None
    call: Callable[[int], bool] | None = None
    mask: np.ndarray | None = None

    @property
    def restricted(self) -> bool:
        """True when the filter may reject live items."""
        return self.slots is not None or self.call is not None

    def within(self, other: Admission) -> Admission:
        """This admission narrowed to ``other``'s slots (sorted live slots; its mask is kept
        when this one has no slots of its own)."""
        assert other.slots is not None
        if self.slots is None:
            return Admission(slots=other.slots, call=self.call, mask=other.mask)
        return Admission(slots=np.intersect1d(self.slots, other.slots, assume_unique=True),
                         call=self.call)


ALL = Admission()


def resolve_filter(flt: IdFilter, slot_of: IdMap, labels: np.ndarray) -> Admission:
    """Build the :class:`Admission` for ``flt`` against the index's id -> slot map."""
    if flt is None:
        return ALL
    if callable(flt):
        return Admission(call=_memoised(flt, labels))
    if isinstance(flt, (Collection, np.ndarray)) and not isinstance(flt, (str, bytes)):
        ids = np.asarray(list(flt) if not isinstance(flt, np.ndarray) else flt).ravel()
        if ids.size and not np.issubdtype(ids.dtype, np.integer):
            raise InvalidInputError("a filter collection must hold integer ids")
        slots = slot_of.get_many(ids.astype(np.int64))
        return Admission(slots=np.unique(slots[slots >= 0]))
    raise InvalidInputError("filter must be None, a callable on ids, or a collection of ids")


def _memoised(predicate: Callable[[int], bool], labels: np.ndarray) -> Callable[[int], bool]:
    seen: dict[int, bool] = {}

    def admit(slot: int) -> bool:
        ok = seen.get(slot)
        if ok is None:
            ok = seen[slot] = bool(predicate(int(labels[slot])))
        return ok

    return admit
