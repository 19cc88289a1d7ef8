"""The in-memory candidate finder: one ANN index over every vector, searched per partition.

SQLite holds the truth; this is rebuilt from it (or from a saved index file checked against it)
and kept in step by id. The index starts as a scan (exact while small, then of the vectors'
principal axes with an exact re-rank) and is promoted to HNSW in a background thread once it
holds ``hnsw_min_items`` vectors, the size from which the graph is the better choice; writes
made during the build are replayed onto the graph before it is swapped in.

Linking a row into a large graph costs milliseconds of Python at 100k rows, so the graph takes
new rows into its link buffer (searched exactly, found at once) and a background thread links
them a few at a time, using a small share of one core while requests come in (more as the buffer
fills) and all it needs when idle. It holds no lock while it searches for a row's neighbours,
only while it writes them (``HNSWIndex.link_next``), so searches never queue behind it.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import IndexFileError
from .ann import HNSW_MIN_ITEMS, ANNIndex, HNSWIndex, ProjectedIndex, load_index

__all__ = ["PartitionCodes", "PartitionedVectors", "link_duty", "remove_stale_temp_files"]

logger = logging.getLogger("cacheback")

Partition = tuple[str, str]
Journal = list[tuple[np.ndarray, np.ndarray | None, np.ndarray | None]]
#: The build swaps its graph in, under the lock, once at most this many journaled rows remain.
_SWAP_ROWS = 256
_TEMP_FILE_MAX_AGE = 600.0
#: How the HNSW graph keeps its vectors: int8 codes take 38 MB at 100k entries instead of 77 MB
#: (int16) or 154 MB (float32); the cache re-ranks the few candidates by their exact vectors.
GRAPH_CODES = "int8"
#: Rows the graph keeps unlinked (searched exactly: about 2 ms for a partition holding all of
#: them); beyond it, the thread that adds rows links as many of the oldest, after releasing the
#: lock (``HNSWIndex.link_next``), so a burst slows its writer and nobody else.
LINK_BUFFER = 16_384
#: The graph's own cap (``HNSWIndex.set_buffer``), past which an add links under the lock: only
#: a single add of thousands of rows reaches it.
_BUFFER_CAP = 2 * LINK_BUFFER
#: The linker works for about this long between pauses (it links one row at least).
_LINK_SLICE_SECONDS = 0.01
#: Its share of one core while the index is in use: _LINK_DUTY, and while rows are being added
#: (within _WRITING_SECONDS) rising with the square of how full the buffer is (a burst is
#: absorbed, sustained writes are linked before the buffer fills); idle for _IDLE_SECONDS, it
#: links flat out. A buffer saved full and drained under lookups alone stays at _LINK_DUTY
#: (see link_duty).
_LINK_DUTY = 0.1
_IDLE_SECONDS = 0.25
_WRITING_SECONDS = 1.0


def link_duty(buffered: int, since_add: float, since_use: float) -> float:
    """The linker's share of one core: all of it when the index has been idle for
    ``_IDLE_SECONDS``; else ``_LINK_DUTY``, rising with the square of how full the buffer is
    only while rows are being added (within ``_WRITING_SECONDS``), so that sustained writes are
    linked before the buffer fills. A buffer saved full and drained under lookups alone keeps
    to ``_LINK_DUTY``: at full duty the linker took most of the CPU from the lookups (100k
    entries, 16k buffered, measured while links were still planned under the lock: lookup p50
    11.9 ms, 8.5 ms at ``_LINK_DUTY``, 1.4 ms once drained)."""
    if since_use >= _IDLE_SECONDS:
        return 1.0
    if since_add < _WRITING_SECONDS:
        return max(_LINK_DUTY, min(1.0, buffered / LINK_BUFFER) ** 2)
    return _LINK_DUTY


def remove_stale_temp_files(path: str | os.PathLike[str]) -> int:
    """Delete temporary files a save killed mid-write left beside ``path``; returns how many."""
    target = Path(path)
    removed = 0
    cutoff = time.time() - _TEMP_FILE_MAX_AGE
    for temp in target.parent.glob(f".{target.name}.*.tmp"):
        try:
            if temp.stat().st_mtime < cutoff:
                temp.unlink()
                removed += 1
        except OSError:
            continue
    return removed


def _replay(graph: HNSWIndex, ops: Journal) -> None:
    """Apply journaled writes to ``graph``: (ids, vectors, groups), or (ids, None, None) for a
    removal."""
    for op_ids, op_vectors, op_groups in ops:
        if op_vectors is None:
            for entry_id in op_ids.tolist():
                if entry_id in graph:
                    graph.mark_deleted(entry_id)
        else:
            graph.add_items(op_vectors, op_ids, op_groups)


class PartitionCodes:
    """Small int codes for partitions, with how many indexed entries each has; the code of a
    partition that empties out is given to the next new one."""

    def __init__(self, table: list[Partition | None] | None = None) -> None:
        self._table: list[Partition | None] = list(table or [])
        self._code = {part: code for code, part in enumerate(self._table) if part is not None}
        self._free = [code for code, part in enumerate(self._table) if part is None]
        self._sizes = np.zeros(len(self._table), dtype=np.int64)

    @classmethod
    def from_table(cls, table: Any) -> PartitionCodes:
        """Codes from :meth:`table` as saved in JSON; IndexFileError when it is malformed."""
        if not isinstance(table, list):
            raise IndexFileError("index file has no partition table")
        parts: list[Partition | None] = []
        for item in table:
            if item is None:
                parts.append(None)
            elif isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item):
                parts.append((item[0], item[1]))
            else:
                raise IndexFileError(f"index file has a malformed partition {item!r}")
        codes = cls(parts)
        if len(codes._code) + len(codes._free) != len(parts):
            raise IndexFileError("index file lists a partition twice")
        return codes

    def table(self) -> list[list[str] | None]:
        """The partition of every code (None for a free one), JSON-ready."""
        return [None if part is None else list(part) for part in self._table]

    def code(self, partition: Partition) -> int | None:
        """The code of ``partition``, None when it has no entries."""
        return self._code.get(partition)

    def size(self, code: int) -> int:
        """How many indexed entries carry ``code``."""
        return int(self._sizes[code])

    def lookup(self, partitions: Iterable[Partition]) -> np.ndarray:
        """The code of each partition, ``-1`` for unknown ones."""
        get = self._code.get
        return np.fromiter((get(p, -1) for p in partitions), dtype=np.int32)

    def claim(self, partitions: list[Partition]) -> np.ndarray:
        """Codes for one new entry in each of ``partitions`` (new partitions get codes)."""
        codes = np.empty(len(partitions), dtype=np.int32)
        for i, part in enumerate(partitions):
            code = self._code.get(part)
            if code is None:
                code = self._new_code(part)
            codes[i] = code
        np.add.at(self._sizes, codes, 1)
        return codes

    def count(self, codes: np.ndarray) -> None:
        """Count entries already coded ``codes`` (as read back from a saved index)."""
        self._sizes += np.bincount(codes, minlength=len(self._sizes))

    def release(self, codes: np.ndarray) -> None:
        """Uncount one entry per code (``-1`` entries were not indexed); free emptied codes."""
        codes = codes[codes >= 0]
        np.subtract.at(self._sizes, codes, 1)
        for code in np.unique(codes).tolist():
            if self._sizes[code] == 0:
                part = self._table[code]
                assert part is not None
                del self._code[part]
                self._table[code] = None
                self._free.append(code)

    def of_namespace(self, namespace: str) -> list[int]:
        """The codes of every partition in ``namespace``."""
        return [code for part, code in self._code.items() if part[0] == namespace]

    def nbytes(self) -> int:
        """Approximate bytes held (the table's strings included)."""
        strings = sum(sys.getsizeof(x) for part in self._code for x in part)
        return (sys.getsizeof(self._code) + sys.getsizeof(self._table) + self._sizes.nbytes
                + 56 * len(self._code) + strings)

    def _new_code(self, part: Partition) -> int:
        """A free code for ``part``, or the next one (growing the counts geometrically)."""
        if self._free:
            code = self._free.pop()
            self._table[code] = part
        else:
            code = len(self._table)
            self._table.append(part)
            if code >= len(self._sizes):
                self._sizes = np.concatenate([self._sizes, np.zeros(max(16, code), np.int64)])
        self._code[part] = code
        return code


class PartitionedVectors:
    """Nearest-neighbour search restricted to one (namespace, scope) partition at a time.

    Each partition gets a small int code, stored with its vectors as the index's item group:
    per entry that is 4 bytes in a numpy array instead of a dict entry, a set entry and a
    tuple. The codes of partitions that empty out are reused.
    """

    def __init__(
        self,
        dim: int,
        *,
        hnsw_min_items: int = HNSW_MIN_ITEMS,
        on_promoted: Callable[[], None] | None = None,
    ) -> None:
        self.dim = dim
        self.hnsw_min_items = hnsw_min_items
        self.on_promoted = on_promoted
        self.dirty = False
        self._lock = threading.RLock()
        self._index: ANNIndex = self._scan()
        self._codes = PartitionCodes()
        self._journal: Journal | None = None
        self._builder: threading.Thread | None = None
        self._linker: threading.Thread | None = None
        self._link_failed = False
        self._last_use = 0.0
        self._last_add = 0.0
        self._generation = 0

    def __len__(self) -> int:
        return len(self._index)

    def _scan(self) -> ProjectedIndex:
        """The index a cache starts with; it is not fitted from the size at which the graph
        replaces it (a cold start of a large cache then scans exactly until the graph is
        built, without the projection's memory)."""
        return ProjectedIndex(max(self.dim, 1), fit_below=self.hnsw_min_items)

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self._index

    @property
    def kind(self) -> str:
        return self._index.kind

    @property
    def exact(self) -> bool:
        """Whether search similarities are exact (the scans keep float32 vectors); the graph's
        int8 codes are not (about 4e-4 off, near-ties may swap), so its candidates are
        re-ranked by the stored vectors."""
        return not isinstance(self._index, HNSWIndex)

    def add(self, ids: np.ndarray, partitions: list[Partition], vectors: np.ndarray) -> int:
        """Add or replace rows; rows whose vector is not finite are skipped and counted."""
        ids = np.asarray(ids, dtype=np.int64)
        finite = np.flatnonzero(np.isfinite(vectors).all(axis=1))
        if finite.size:
            _, last = np.unique(ids[finite][::-1], return_index=True)
            rows = finite[np.sort(len(finite) - 1 - last)]  # a repeated id keeps its last row
            keep_ids = ids[rows]
            keep_vectors = np.ascontiguousarray(vectors[rows], dtype=np.float32)
            with self._lock:
                old = self._index.groups_of(keep_ids)
                codes = self._codes.claim([partitions[i] for i in rows.tolist()])
                try:
                    self._index.add_items(keep_vectors, keep_ids, codes)
                except BaseException:
                    self._codes.release(codes)
                    raise
                self._codes.release(old)
                if self._journal is not None:
                    self._journal.append((keep_ids, keep_vectors, codes))
                self.dirty = True
                self._last_use = self._last_add = time.monotonic()
                self._maybe_promote()
                self._maybe_link()
                index = self._index
            if isinstance(index, HNSWIndex):
                for _ in range(min(len(rows), index.buffered - LINK_BUFFER)):
                    index.link_next()
        return len(ids) - len(finite)

    def remove(self, entry_id: int) -> None:
        with self._lock:
            if entry_id not in self._index:
                return
            self._codes.release(self._index.groups_of([entry_id]))
            self._index.mark_deleted(entry_id)
            if self._journal is not None:
                self._journal.append((np.array([entry_id], dtype=np.int64), None, None))
            self.dirty = True

    def clear(self, namespace: str | None = None) -> None:
        with self._lock:
            if namespace is None:
                self._generation += 1
                self._journal = None
                self._builder = None
                self._linker = None
                self._index = self._scan()
                self._codes = PartitionCodes()
                self.dirty = True
                return
            for code in self._codes.of_namespace(namespace):
                for entry_id in self._index.ids(group=code).tolist():
                    self.remove(entry_id)

    def prepare(self) -> None:
        """The index's deferred upkeep, now (see :meth:`ANNIndex.prepare`)."""
        with self._lock:
            self._index.prepare()

    def count(self, partition: Partition) -> int:
        """How many rows ``partition`` holds (0 when it is unknown). Lock-free: one dict and
        one array read of the current code table, each atomic; a lookup asks before it embeds,
        and the search that follows takes the lock anyway."""
        codes = self._codes
        code = codes.code(partition)
        return 0 if code is None else codes.size(code)

    def search(self, query: np.ndarray, partition: Partition, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Ids and cosine similarities of the ``k`` nearest rows in ``partition``, best first."""
        with self._lock:
            code = self._codes.code(partition)
            size = 0 if code is None else self._codes.size(code)
            if not size:
                return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
            self._last_use = time.monotonic()
            group = None if size == len(self._index) else code
            labels, distances = self._index.knn_query(query, min(k, size), group=group)
        found = labels[0] >= 0
        return labels[0][found], (1.0 - distances[0][found]).astype(np.float32)

    def nbytes(self) -> int:
        """Approximate bytes held: the sum of :meth:`memory`."""
        return sum(self.memory().values())

    def memory(self) -> dict[str, int]:
        """Approximate bytes held, by part: the index's ``vectors``, ``graph`` and ``ids``, and
        the ``partitions`` table."""
        with self._lock:
            return {**self._index.memory(), "partitions": self._codes.nbytes()}

    # -- HNSW promotion ------------------------------------------------------------------

    def _maybe_promote(self) -> None:
        if (
            self._builder is None
            and not isinstance(self._index, HNSWIndex)
            and len(self._index) >= self.hnsw_min_items
        ):
            self._builder = threading.Thread(
                target=self._build, args=(self._generation,),
                name="cacheback-hnsw-build", daemon=True,
            )
            self._builder.start()

    def _build(self, generation: int) -> None:
        """Build the graph from a snapshot, then catch up with the writes journaled meanwhile,
        outside the lock while many remain (the scan keeps answering); swap it in."""
        try:
            with self._lock:
                if generation != self._generation:
                    return
                vectors, ids = self._index.items()
                groups = self._index.groups_of(ids)
                self._journal = []
            graph = HNSWIndex(self.dim, "cosine", max_elements=max(2 * len(ids), 1024),
                              codes=GRAPH_CODES)
            graph.add_items(vectors, ids, groups)
            graph.set_buffer(LINK_BUFFER)
            del vectors
            while True:
                # The replayed rows are linked here, unseen, so the graph swapped in has only
                # the last few writes to link: rows left in the buffer would be linked at the
                # linker's pace under lookups, and saved unlinked (100k entries: 16k rows, lookup
                # p50 7.8 ms instead of about 5 until they were linked).
                graph.link_buffered()
                with self._lock:
                    if generation != self._generation or self._journal is None:
                        return
                    ops, self._journal = self._journal, []
                    if sum(len(op_ids) for op_ids, _, _ in ops) <= _SWAP_ROWS:
                        _replay(graph, ops)
                        graph.set_buffer(_BUFFER_CAP)
                        self._index, self._journal, self._builder = graph, None, None
                        self.dirty = True
                        self._maybe_link()
                        break
                _replay(graph, ops)
        except Exception as exc:  # noqa: BLE001 - the scan keeps serving
            logger.warning("cacheback: HNSW build failed, the scan continues: %s", exc)
            with self._lock:
                if generation == self._generation:
                    self._journal = None
                    self.hnsw_min_items = max(self.hnsw_min_items, 2 * len(self._index))
                    if isinstance(self._index, ProjectedIndex):
                        self._index.fit_below = self.hnsw_min_items
                    self._builder = None
            return
        if self.on_promoted is not None:
            self.on_promoted()

    # -- background linking --------------------------------------------------------------

    def _maybe_link(self) -> None:
        """Start the linker when the graph holds unlinked rows (called with the lock held)."""
        index = self._index
        if (self._linker is None and not self._link_failed and isinstance(index, HNSWIndex)
                and index.buffered):
            self._linker = threading.Thread(
                target=self._link, args=(self._generation, index),
                name="cacheback-hnsw-link", daemon=True,
            )
            self._linker.start()

    def _link(self, generation: int, index: HNSWIndex) -> None:
        """Link the graph's buffered rows a slice at a time, pausing between slices while the
        index is in use so that requests keep most of the CPU (and the GIL). Searches wait
        only while a row's links are written, never while its neighbours are searched for."""
        try:
            while True:
                with self._lock:
                    if generation != self._generation or index is not self._index \
                            or not index.buffered:
                        if self._linker is threading.current_thread():
                            self._linker = None
                        return
                start = time.monotonic()
                while generation == self._generation and index.link_next():
                    self.dirty = True  # the links are worth saving: a reopen need not redo them
                    if time.monotonic() - start >= _LINK_SLICE_SECONDS:
                        break
                took = time.monotonic() - start
                duty = link_duty(index.buffered, start - self._last_add, start - self._last_use)
                time.sleep(took * (1.0 - duty) / duty)
        except Exception as exc:  # noqa: BLE001 - buffered rows are still searched exactly
            logger.warning("cacheback: background HNSW linking failed; rows are linked as they "
                           "are added from now on: %s", exc)
            with self._lock:
                self._link_failed = True
                if self._linker is threading.current_thread():
                    self._linker = None

    def stop(self) -> None:
        """Stop the background build and linking (the cache is closing); the index still
        answers searches."""
        with self._lock:
            self._generation += 1
            self._journal, self._builder, self._linker = None, None, None

    def wait_for_links(self, timeout: float | None = None) -> bool:
        """Block until the background linker has emptied the graph's buffer; ``True`` if it
        has (or there was nothing to link)."""
        linker = self._linker
        if linker is not None:
            linker.join(timeout)
        return self._linker is None

    def wait_for_build(self, timeout: float | None = None) -> bool:
        """Block until a background HNSW build has finished; ``True`` if none is running."""
        builder = self._builder
        if builder is not None:
            builder.join(timeout)
        return self._builder is None

    # -- persistence ---------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str], meta: dict[str, Any]) -> None:
        """Write the index beside the database (atomic); only an HNSW graph is worth keeping."""
        with self._lock:
            if not isinstance(self._index, HNSWIndex) or self._journal is not None:
                return
            self._index.meta = {**meta, "partitions": self._codes.table()}
            self._index.save(path)
            self.dirty = False

    def adopt(
        self, path: str | os.PathLike[str], meta: dict[str, Any], rows: Callable[[int], dict[int, Partition]]
    ) -> int:
        """Load a saved index if its meta matches ``meta`` (database, model) and its ids agree
        with SQLite; returns the last row id it covers. Raises :class:`IndexFileError` otherwise,
        and the caller rebuilds from SQLite."""
        index = load_index(path, dim=self.dim)
        saved = index.meta
        for key, value in meta.items():
            if saved.get(key) != value:
                raise IndexFileError(f"{path} was built for {key}={saved.get(key)!r}, not {value!r}")
        synced = int(saved.get("synced_id", -1))
        if synced < 0:
            raise IndexFileError(f"{path} does not say which rows it covers")
        partitions = rows(synced)
        sql_ids = np.fromiter(partitions, dtype=np.int64, count=len(partitions))
        indexed = index.ids()
        if np.setdiff1d(sql_ids, indexed).size:
            raise IndexFileError(f"{path} lacks rows that SQLite holds")
        for entry_id in np.setdiff1d(indexed, sql_ids).tolist():
            index.mark_deleted(entry_id)
        codes = PartitionCodes.from_table(saved.get("partitions"))
        expected = codes.lookup(partitions.values())
        if not np.array_equal(expected, index.groups_of(sql_ids)):
            raise IndexFileError(f"{path} files rows under other partitions than SQLite does")
        codes.count(expected)
        if isinstance(index, HNSWIndex):
            index.set_buffer(_BUFFER_CAP)
        with self._lock:
            self._generation += 1
            self._journal, self._builder, self._linker = None, None, None
            self._index = index
            self._codes = codes
            self.dirty = False
            self._maybe_link()
        return synced
