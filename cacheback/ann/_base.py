"""The ANN index interface and the vector/id store both indexes share."""

from __future__ import annotations

import json
import os
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, ClassVar, TypeVar

import numpy as np

from .._errors import IndexFileError, InvalidInputError
from ._filter import ALL, Admission, IdFilter, resolve_filter
from ._idmap import IdMap
from ._persist import read_index_file, write_index_file
from ._space import Space
from ._store import Float32Store, VectorStore

__all__ = ["ANNIndex"]

_Self = TypeVar("_Self", bound="ANNIndex")
_EMPTY_SLOTS = np.zeros(0, dtype=np.int64)
_GROUPS_REMEMBERED = 8
_EMPTY_SCORES = np.zeros(0, dtype=np.float32)


class ANNIndex(ABC):
    """A k-nearest-neighbour index over float32 vectors keyed by int64 ids (hnswlib-shaped).

    Items live in *slots*; ``add_items`` with a known id replaces that item, ``mark_deleted``
    leaves a tombstone that later inserts may reuse. ``meta`` is an opaque JSON-serialisable
    dict saved with the index (e.g. what SQLite state it was built from). All public methods
    take an internal lock, so one index may be shared between threads.
    """

    kind: ClassVar[str]

    def __init__(self, dim: int, space: str = "cosine", max_elements: int = 1024) -> None:
        if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool) or dim < 1:
            raise InvalidInputError(f"dim must be a positive int, not {dim!r}")
        self.dim = int(dim)
        self.space = space
        self._space = Space(space)
        self.meta: dict[str, Any] = {}
        self.ef = 10
        self._lock = threading.RLock()
        self._n = 0
        self._n_deleted = 0
        self._slot_of = IdMap()
        self._free: list[int] = []
        self._vectors: VectorStore = self._store_type()(self.dim, 0)
        self._sqn = np.zeros(0, dtype=np.float32)
        self._labels = np.zeros(0, dtype=np.int64)
        self._deleted = np.zeros(0, dtype=bool)
        self._groups = np.zeros(0, dtype=np.int32)
        self._group_memo: OrderedDict[int, Admission] = OrderedDict()
        self._set_capacity(max(1, int(max_elements)))

    # ------------------------------------------------------------------ public API

    def add_items(self, vectors: np.ndarray | Sequence[Sequence[float]],
                  ids: np.ndarray | Sequence[int],
                  groups: np.ndarray | Sequence[int] | None = None) -> None:
        """Insert ``vectors`` (n, dim) under ``ids`` (n,); a known id is replaced in place.

        ``groups`` (n,) tags the items with small non-negative ints for ``knn_query(group=)``
        (all 0 when omitted). Within one call a repeated id keeps its last vector and group.
        """
        vecs = self._as_matrix(vectors)
        labels = self._as_ids(ids)
        if len(labels) != len(vecs):
            raise InvalidInputError(f"got {len(vecs)} vectors but {len(labels)} ids")
        tags = np.zeros(len(labels), dtype=np.int32) if groups is None else self._as_ids(groups)
        if len(tags) != len(labels) or (tags.size and not 0 <= tags.min() <= tags.max() < 2**31):
            raise InvalidInputError("groups must be one non-negative int32 per id")
        if not len(labels):
            return
        _, last_rev = np.unique(labels[::-1], return_index=True)
        keep = np.sort(len(labels) - 1 - last_rev)
        with self._lock:
            self._insert(self._space.prepare(vecs[keep]), labels[keep],
                         tags[keep].astype(np.int32))

    def knn_query(self, vectors: np.ndarray | Sequence[float], k: int = 1,
                  filter: IdFilter = None,
                  group: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest live items of each query row: ``(labels, distances)``, both (m, k).

        ``filter`` restricts the results: a predicate on ids (called only on nodes that would
        enter the results), or a collection of allowed ids (converted on every call; best for a
        few thousand ids, which are then scanned exactly). ``group`` restricts them to the items
        added with that group (found by one vectorised pass; combined with ``filter``). Rows are
        padded with ``-1`` / ``inf`` only when fewer than ``k`` admissible items exist.
        """
        queries = self._space.prepare(self._as_matrix(vectors))
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
            raise InvalidInputError(f"k must be a positive int, not {k!r}")
        k = int(k)
        labels = np.full((len(queries), k), -1, dtype=np.int64)
        dists = np.full((len(queries), k), np.inf, dtype=np.float32)
        with self._lock:
            admission = resolve_filter(filter, self._slot_of, self._labels)
            if group is not None:
                admission = admission.within(self._group_admission(group))
            for i, (slots, scores) in enumerate(self._search_many(queries, k, admission)):
                n = len(slots)
                labels[i, :n] = self._labels[slots]
                dists[i, :n] = self._space.to_distance(scores, self._space.offset(queries[i]))
        return labels, dists

    def prepare(self) -> None:  # noqa: B027 - optional hook, most indexes defer nothing
        """Do now the upkeep the next query would otherwise do first (none here; see
        :class:`ProjectedIndex`), so that query is not the one kept waiting."""

    def set_ef(self, ef: int) -> None:
        """Search breadth: larger is slower and more accurate (ignored by brute force)."""
        if not isinstance(ef, (int, np.integer)) or ef < 1:
            raise InvalidInputError(f"ef must be a positive int, not {ef!r}")
        self.ef = int(ef)

    def mark_deleted(self, id: int) -> None:
        """Remove ``id`` from results; its slot stays as a tombstone until reused or compacted."""
        with self._lock:
            try:
                slot = self._slot_of.pop(int(id))
            except KeyError:
                raise KeyError(f"id {id} is not in the index") from None
            self._deleted[slot] = True
            self._n_deleted += 1
            self._free.append(slot)
            self._group_memo.clear()

    def resize(self, n: int) -> None:
        """Set the slot capacity to ``n`` (it also grows on its own as items are added)."""
        with self._lock:
            if n < self._n:
                raise InvalidInputError(f"cannot resize to {n}: {self._n} slots are in use")
            self._set_capacity(int(n))

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(dim={self.dim}, space={self.space!r}, items={len(self)}, "
                f"tombstones={self._n_deleted})")

    def __len__(self) -> int:
        return len(self._slot_of)

    def __contains__(self, id: object) -> bool:
        return isinstance(id, (int, np.integer)) and int(id) in self._slot_of

    def ids(self, group: int | None = None) -> np.ndarray:
        """The live ids (of one ``group`` when given), in slot order."""
        with self._lock:
            if group is not None:
                return self._labels[self._group_admission(group).slots]
            return self._labels[: self._n][~self._deleted[: self._n]]

    def groups_of(self, ids: np.ndarray | Sequence[int]) -> np.ndarray:
        """The group of each id, ``-1`` for ids not in the index."""
        labels = self._as_ids(ids)
        with self._lock:
            slots = self._slot_of.get_many(labels)
            return np.where(slots >= 0, self._groups[slots], -1).astype(np.int32)

    def items(self) -> tuple[np.ndarray, np.ndarray]:
        """(vectors, ids) of the live items as float32, as stored (normalised in cosine space,
        and rounded where the index keeps compact vectors)."""
        with self._lock:
            live = np.flatnonzero(~self._deleted[: self._n])
            return self._vectors.rows(live), self._labels[live].copy()

    def nbytes(self) -> int:
        """Approximate memory held: the sum of :meth:`memory`."""
        return sum(self.memory().values())

    def memory(self) -> dict[str, int]:
        """Approximate bytes held, by part: ``vectors`` (with their norms), ``graph`` (the
        search structure: HNSW links and levels, or the projection; none for brute force) and
        ``ids`` (labels, groups, tombstones, id map)."""
        with self._lock:
            ids = (self._labels.nbytes + self._deleted.nbytes + self._groups.nbytes
                   + self._slot_of.nbytes)
            return {"vectors": self._vectors.nbytes + self._sqn.nbytes,
                    "graph": sum(a.nbytes for a in self._extra_arrays()), "ids": ids}

    @property
    def capacity(self) -> int:
        """Slots allocated."""
        return len(self._labels)

    @property
    def deleted_count(self) -> int:
        """Tombstoned slots awaiting reuse."""
        return self._n_deleted

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the index atomically (temporary file + ``os.replace``)."""
        try:
            json.dumps(self.meta, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"index meta must be JSON-serialisable: {exc}") from exc
        with self._lock:
            n = self._n
            header = {"kind": self.kind, "dim": self.dim, "space": self.space, "count": len(self),
                      "slots": n, "ef": self.ef, "meta": self.meta, "params": self._params(),
                      "storage": self._vectors.kind}
            arrays: dict[str, np.ndarray] = {
                **self._vectors.arrays(n), "labels": self._labels[:n], "groups": self._groups[:n],
                "deleted": self._deleted[:n], **self._state_arrays()}
            write_index_file(path, header, arrays)

    @classmethod
    def load(cls: type[_Self], path: str | os.PathLike[str], dim: int | None = None,
             space: str | None = None) -> _Self:
        """Read an index saved by :meth:`save`.

        Raises :class:`IndexFileError` when the file is missing, truncated, corrupt, of another
        format version or kind, or does not match the expected ``dim`` / ``space``.
        """
        header, arrays = read_index_file(path)
        if header.get("kind") != cls.kind:
            raise IndexFileError(f"{path} holds a {header.get('kind')!r} index, not {cls.kind!r}")
        return cls._from_file(header, arrays, dim, space, str(path))

    # ------------------------------------------------------------------ subclass hooks

    @abstractmethod
    def _insert(self, vectors: np.ndarray, ids: np.ndarray, groups: np.ndarray) -> None:
        """Store prepared ``vectors`` under distinct ``ids`` in ``groups`` (known ids are
        replaced)."""

    @abstractmethod
    def _search(self, query: np.ndarray, k: int,
                admission: Admission) -> tuple[np.ndarray, np.ndarray]:
        """(slots, scores) of up to ``k`` admitted live items nearest ``query``, best first."""

    def _search_many(self, queries: np.ndarray, k: int,
                     admission: Admission) -> list[tuple[np.ndarray, np.ndarray]]:
        return [self._search(q, k, admission) for q in queries]

    def _params(self) -> dict[str, Any]:
        return {}

    def _store_type(self) -> type[VectorStore]:
        """How this index keeps its vectors (exact float32 unless a subclass says otherwise)."""
        return Float32Store

    def _extra_arrays(self) -> tuple[np.ndarray, ...]:
        """Subclass arrays counted by :meth:`nbytes`."""
        return ()

    def _state_arrays(self) -> dict[str, np.ndarray]:
        return {}

    def _restore(self, params: dict[str, Any],  # noqa: B027 - optional hook
                 arrays: dict[str, np.ndarray]) -> None:
        """Rebuild subclass state from a loaded file (after the shared store is restored)."""

    @classmethod
    def _construct(cls: type[_Self], dim: int, space: str, params: dict[str, Any],
                   capacity: int) -> _Self:
        return cls(dim, space, max_elements=capacity)

    def _set_capacity(self, capacity: int) -> None:
        """Reallocate every per-slot array to ``capacity`` slots (subclasses extend this)."""
        self._group_memo.clear()
        keep = min(capacity, self._n)
        self._vectors.resize(capacity, keep)
        for name in ("_sqn", "_labels", "_deleted", "_groups"):
            old = getattr(self, name)
            new = np.zeros((capacity, *old.shape[1:]), dtype=old.dtype)
            new[:keep] = old[:keep]
            setattr(self, name, new)

    # ------------------------------------------------------------------ shared helpers

    @staticmethod
    def _as_ids(ids: Any) -> np.ndarray:
        """``ids`` as a flat int64 array; InvalidInputError for anything but integers."""
        arr = np.asarray(ids).reshape(-1)
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            raise InvalidInputError(f"ids must be integers, not {arr.dtype}")
        return arr.astype(np.int64)

    def _group_admission(self, group: int) -> Admission:
        """The live slots tagged ``group``, also as a mask over every slot. Both take a pass over
        the whole index, so the last few groups asked are remembered until the index changes
        (every change to which slots are live, or to their groups, forgets them)."""
        if not isinstance(group, (int, np.integer)) or isinstance(group, bool):
            raise InvalidInputError(f"group must be an int, not {group!r}")
        group = int(group)
        found = self._group_memo.get(group)
        if found is None:
            n = self._n
            mask = np.zeros(self.capacity, dtype=bool)
            np.logical_and(self._groups[:n] == group, ~self._deleted[:n], out=mask[:n])
            slots = np.flatnonzero(mask)
            mask.flags.writeable = slots.flags.writeable = False  # shared by later queries
            found = self._group_memo[group] = Admission(slots=slots, mask=mask)
            while len(self._group_memo) > _GROUPS_REMEMBERED:
                self._group_memo.popitem(last=False)
        self._group_memo.move_to_end(group)
        return found

    def _as_matrix(self, vectors: Any) -> np.ndarray:
        arr = np.asarray(vectors, dtype=np.float32)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != self.dim:
            raise InvalidInputError(f"expected vectors of shape (n, {self.dim}), got {arr.shape}")
        if not np.isfinite(arr).all():
            raise InvalidInputError("vectors contain NaN or infinity")
        return arr

    def _reusable_slot(self, label: int) -> int | None:
        """The slot ``label`` already has, else a tombstoned slot to reuse, else None."""
        slot = self._slot_of.get(label)
        if slot is None and self._free:
            slot = self._free.pop()
        return slot

    def _claim_slots(self, ids: np.ndarray) -> np.ndarray:
        """A slot for each id: its own, else a tombstone to reuse, else a fresh one at the end."""
        slots = np.empty(len(ids), dtype=np.int64)
        fresh = []
        for i, label in enumerate(ids.tolist()):
            slot = self._reusable_slot(label)
            if slot is None:
                fresh.append(i)
            else:
                slots[i] = slot
        slots[fresh] = self._append_slots(len(fresh))
        return slots

    def _append_slots(self, count: int) -> np.ndarray:
        """Claim ``count`` fresh slots at the end, growing the arrays geometrically."""
        need = self._n + count
        if need > self.capacity:
            self._set_capacity(max(need, 2 * self.capacity))
        slots = np.arange(self._n, need, dtype=np.int64)
        self._n = need
        return slots

    def _store(self, slots: np.ndarray, vectors: np.ndarray, ids: np.ndarray,
               groups: np.ndarray) -> None:
        """Write vectors, ids and groups into ``slots`` and make them live."""
        self._group_memo.clear()
        self._vectors.write(slots, vectors)
        self._groups[slots] = groups
        if self._space.uses_norms:
            self._sqn[slots] = self._space.sq_norms(self._vectors.rows(slots))
        self._labels[slots] = ids
        revived = int(self._deleted[slots].sum())
        self._deleted[slots] = False
        self._n_deleted -= revived
        self._slot_of.set_many(ids, slots)

    def _scores(self, query: np.ndarray, slots: np.ndarray | None) -> np.ndarray:
        """Search scores of ``slots`` (all slots when None; tombstones there score inf), from
        products small enough to stay on this thread (see ``_store``)."""
        if slots is None:
            dots = self._vectors.scan(query, self._n)
        else:
            dots = self._vectors.dots(slots, query)
        scores = self._space.scores(dots, self._sqn, slice(0, self._n) if slots is None else slots)
        if slots is None and self._n_deleted:
            scores[self._deleted[: self._n]] = np.inf
        return scores

    def _exact(self, query: np.ndarray, k: int,
               admission: Admission = ALL) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-``k`` admitted live slots by a full scan; the filter predicate is called
        lazily in distance order, so a selective predicate costs calls, not distance work."""
        pool = admission.slots
        scores = self._scores(query, pool)
        if not len(scores):
            return _EMPTY_SLOTS, _EMPTY_SCORES
        if admission.call is None:
            order = _ordered_prefix(scores, k)[:k]
        else:
            order = _admitted_prefix(scores, k, pool, admission.call)
        order = order[np.isfinite(scores[order])]
        slots = order if pool is None else pool[order]
        return slots.astype(np.int64), scores[order]

    @classmethod
    def _from_file(cls: type[_Self], header: dict[str, Any], arrays: dict[str, np.ndarray],
                   dim: int | None, space: str | None, where: str) -> _Self:
        try:
            file_dim, file_space, n = int(header["dim"]), str(header["space"]), int(header["slots"])
            if dim is not None and file_dim != dim:
                raise IndexFileError(f"{where} has dim {file_dim}, expected {dim}")
            if space is not None and file_space != space:
                raise IndexFileError(f"{where} uses space {file_space!r}, expected {space!r}")
            labels, deleted, groups = arrays["labels"], arrays["deleted"], arrays["groups"]
            if (labels.shape != (n,) or deleted.shape != (n,) or groups.shape != (n,)
                    or groups.dtype != np.int32):
                raise IndexFileError(f"{where} has arrays that disagree with its header")
            index = cls._construct(file_dim, file_space, header["params"], max(1, n))
            store = index._store_type()
            if header["storage"] != store.kind:
                raise IndexFileError(f"{where} holds {header['storage']!r} vectors; a {cls.kind} "
                                     f"index in {file_space} space keeps {store.kind!r}")
            index._vectors = store.from_arrays(file_dim, arrays, n, index.capacity)
            index._n = n
            if index._space.uses_norms:
                index._sqn[:n] = index._space.sq_norms(index._vectors.rows(np.arange(n)))
            index._labels[:n] = labels
            index._deleted[:n] = deleted
            index._groups[:n] = groups
            live = np.flatnonzero(~deleted)
            try:
                index._slot_of = IdMap.from_arrays(labels[live], live)
            except ValueError:
                raise IndexFileError(f"{where} has duplicate ids") from None
            if len(live) != int(header["count"]):
                raise IndexFileError(f"{where} has miscounted ids")
            index._free = np.flatnonzero(deleted).tolist()
            index._n_deleted = len(index._free)
            index.meta = dict(header["meta"])
            index.set_ef(int(header["ef"]))
            index._restore(header["params"], arrays)
        except IndexFileError:
            raise
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise IndexFileError(f"{where} is inconsistent: {exc!r}") from exc
        return index


def _ordered_prefix(scores: np.ndarray, count: int) -> np.ndarray:
    """Indices of the ``count`` smallest scores (and any ties at the cut), sorted by
    (score, index): a total order, so a longer prefix always extends a shorter one."""
    if count < len(scores):
        cut = np.partition(scores, count - 1)[count - 1]
        idx = np.flatnonzero(scores <= cut)
    else:
        idx = np.arange(len(scores))
    return idx[np.argsort(scores[idx], kind="stable")]


def _admitted_prefix(scores: np.ndarray, k: int, pool: np.ndarray | None,
                     call: Any) -> np.ndarray:
    """The first ``k`` indices in score order whose slot passes ``call``, widening the
    sorted window fourfold each time it runs out."""
    found: list[int] = []
    done = 0
    window = max(4 * k, 64)
    while True:
        order = _ordered_prefix(scores, window)
        for j in order[done:].tolist():
            if scores[j] == np.inf:
                return np.asarray(found, dtype=np.int64)
            if call(j if pool is None else int(pool[j])):
                found.append(j)
                if len(found) == k:
                    return np.asarray(found, dtype=np.int64)
        if window >= len(scores):
            return np.asarray(found, dtype=np.int64)
        done, window = len(order), window * 4
