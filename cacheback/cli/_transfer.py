"""``cacheback export`` / ``cacheback import``: entries as JSON Lines, to back up or warm a cache.

An export line holds ``query``, ``response``, ``namespace``, ``scope_key``, ``payload``,
``metadata``, ``created`` and ``expires``. An import line needs only ``query`` and ``response``;
it may give ``scope_key`` (as exported) or ``scope`` (the raw value, hashed as the clients do),
and ``ttl`` in seconds instead of ``expires``. Imported queries are embedded again.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import IO, Any

import numpy as np

from .._errors import EmbedderError, InvalidInputError
from .._files import resolve_file_mode
from .._normalize import normalise_query, query_hash, scope_key, validate_text
from .._validate import check_depth, check_namespace
from ..embed import Embedder, default_embedder
from ..storage import NewEntry, Storage, open_storage
from ._common import CommandError, add_db_argument, db_path, open_existing

__all__ = ["ImportResult", "add_parsers", "export_entries", "import_entries", "parse_line"]

_BATCH = 64
_SHOWN_ERRORS = 5


def export_entries(storage: Storage, out: IO[str], namespace: str | None = None) -> int:
    """Write every entry (or one namespace's) as a JSON line; returns how many. A damaged row
    (failed checksum) is left out and reported on standard error."""
    written = 0
    for row in storage.iter_entries(namespace):
        if row.get("damaged"):
            print(f"warning: entry {row['id']} is damaged and was not exported", file=sys.stderr)
            continue
        line = {
            "query": row["query"],
            "response": row["response"],
            "namespace": row["namespace"],
            "scope_key": row["scope_key"],
            "payload": row["payload"],
            "metadata": json.loads(row["metadata"]) if row["metadata"] else None,
            "created": row["created"],
            "expires": row["expires"],
        }
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
        written += 1
    return written


def _optional_number(record: dict[str, Any], name: str) -> float | None:
    value = record.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInputError(f"{name} must be a number")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise InvalidInputError(f"{name} must be a finite number")
    return number


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _record(text: str) -> dict[str, Any]:
    """A line as a JSON object: NaN, Infinity and nesting no reader can follow are refused."""
    try:
        record = json.loads(text, parse_constant=_not_json)
    except ValueError as exc:
        raise InvalidInputError(f"not JSON: {exc}") from exc
    except RecursionError as exc:
        raise InvalidInputError("not JSON: nested too deeply") from exc
    if not isinstance(record, dict):
        raise InvalidInputError("a line must be a JSON object")
    return record


def parse_line(text: str, default_namespace: str, now: float) -> NewEntry | None:
    """One import line as an entry without its vector; ``None`` if it has already expired.

    Raises :class:`InvalidInputError` with the reason when the line cannot be imported.
    """
    record = _record(text)
    query = validate_text(record.get("query"), "query")
    response = validate_text(record.get("response"), "response")
    namespace = record.get("namespace") or default_namespace
    if not isinstance(namespace, str):
        raise InvalidInputError("namespace must be a string")
    check_namespace(namespace)
    for name in ("scope", "payload", "metadata"):
        check_depth(record.get(name), name)
    if "scope_key" in record:
        key = record["scope_key"]
        if not isinstance(key, str):
            raise InvalidInputError("scope_key must be a string")
    else:
        key = scope_key(record.get("scope"))
    payload = record.get("payload")
    if payload is not None and not isinstance(payload, str):
        payload = json.dumps(payload, ensure_ascii=False, allow_nan=False)
    metadata = record.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise InvalidInputError("metadata must be an object")
    created = _optional_number(record, "created") or now
    ttl = _optional_number(record, "ttl")
    expires = now + ttl if ttl is not None else _optional_number(record, "expires")
    if expires is not None and expires <= now:
        return None
    norm = normalise_query(query)
    return NewEntry(
        namespace=namespace, scope_key=key, query_hash=query_hash(norm), norm_query=norm,
        query=query, response=response, payload=payload, embedding=None, embed_model=None,
        created=created, expires=expires, metadata=metadata,
    )


@dataclass
class ImportResult:
    """How an import went: rows written, rows skipped as expired, and rejected lines."""

    imported: int = 0
    expired: int = 0
    embedded: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def _store_batch(
    storage: Storage, batch: list[NewEntry], embedder: Embedder | None, result: ImportResult
) -> None:
    vectors: np.ndarray | None = None
    if embedder is not None:
        vectors = embedder.embed_batch([entry.query for entry in batch])
    with storage.transaction():
        for i, entry in enumerate(batch):
            if vectors is not None and embedder is not None:
                entry = replace(entry, embedding=vectors[i], embed_model=embedder.name)
            storage.put(entry)
    result.imported += len(batch)
    result.embedded += len(batch) if vectors is not None else 0


def import_entries(
    storage: Storage, lines: IO[str], embedder: Embedder | None, default_namespace: str = "default"
) -> ImportResult:
    """Store every valid line, embedding queries in batches; bad lines are reported, not fatal."""
    result = ImportResult()
    now = time.time()
    batch: list[NewEntry] = []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            entry = parse_line(text, default_namespace, now)
        except InvalidInputError as exc:
            result.errors.append((number, str(exc)))
            continue
        if entry is None:
            result.expired += 1
            continue
        batch.append(entry)
        if len(batch) == _BATCH:
            _store_batch(storage, batch, embedder, result)
            batch = []
    if batch:
        _store_batch(storage, batch, embedder, result)
    return result


@contextmanager
def _opened(name: str, mode: str) -> Iterator[IO[str]]:
    """``name`` opened as text; a new export file is created private (0600, or
    ``$CACHEBACK_FILE_MODE``) like the database whose prompts and answers it holds."""
    if name == "-":
        yield sys.stdout if "w" in mode else sys.stdin
        return
    try:
        if "w" in mode:
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, resolve_file_mode(None))
            handle = open(fd, "w", encoding="utf-8")  # noqa: SIM115 - closed by the with below
        else:  # utf-8-sig: a byte order mark (Notepad's) is not part of the first line
            handle = open(name, mode, encoding="utf-8-sig")  # noqa: SIM115
        with handle as fh:
            yield fh
    except OSError as exc:
        raise CommandError(f"cannot open {name}: {exc.strerror or exc}") from exc


def _export(args: argparse.Namespace) -> int:
    storage = open_existing(db_path(args))
    try:
        with _opened(args.out, "w") as out:
            written = export_entries(storage, out, args.namespace)
    finally:
        storage.close()
    print(f"exported {written} entries", file=sys.stderr)
    return 0


def _load_embedder(enabled: bool) -> Embedder | None:
    if not enabled:
        return None
    try:
        return default_embedder()
    except EmbedderError as exc:
        print(f"warning: {exc}; importing without vectors (exact tier only)", file=sys.stderr)
        return None


def _check_text_file(name: str) -> None:
    """Refuse a missing, unreadable or binary input before any database is opened or created."""
    if name == "-":
        return
    try:
        with open(name, "rb") as fh:
            head = fh.read(65536)
    except OSError as exc:
        raise CommandError(f"cannot open {name}: {exc.strerror or exc}") from exc
    if b"\0" in head:
        raise CommandError(f"{name} is not a text file (JSON Lines expected)")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        cut_at_the_end = len(head) == 65536 and exc.start >= len(head) - 3
        if not cut_at_the_end:
            raise CommandError(f"{name} is not UTF-8 text (byte {exc.start})") from exc


def _import(args: argparse.Namespace) -> int:
    path = db_path(args)
    _check_text_file(args.file)
    embedder = _load_embedder(not args.no_embed)
    storage = open_storage(path)
    try:
        with _opened(args.file, "r") as lines:
            result = import_entries(storage, lines, embedder, args.namespace)
        storage.checkpoint()
    except UnicodeDecodeError as exc:
        raise CommandError(f"{args.file} is not UTF-8 text past byte {exc.start} of a line; "
                           "the lines before it were imported") from exc
    finally:
        storage.close()
    print(
        f"imported {result.imported} entries into {path} ({result.embedded} embedded), "
        f"skipped {result.expired} expired, rejected {len(result.errors)} lines",
        file=sys.stderr,
    )
    for number, reason in result.errors[:_SHOWN_ERRORS]:
        print(f"  line {number}: {reason}", file=sys.stderr)
    if len(result.errors) > _SHOWN_ERRORS:
        print(f"  ... and {len(result.errors) - _SHOWN_ERRORS} more", file=sys.stderr)
    return 1 if result.errors else 0


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    export = commands.add_parser("export", help="write entries as JSON Lines")
    add_db_argument(export)
    export.add_argument("--out", default="-", help="output file (default: standard output)")
    export.add_argument("--namespace", help="export only this namespace")
    export.set_defaults(func=_export)

    load = commands.add_parser(
        "import", help="add entries from JSON Lines (an export, or query/response logs)"
    )
    add_db_argument(load)
    load.add_argument("file", help="JSON Lines file, or - for standard input")
    load.add_argument(
        "--namespace", default="default", help="namespace for lines that name none (default: default)"
    )
    load.add_argument(
        "--no-embed", action="store_true", help="store without vectors (exact-tier hits only)"
    )
    load.set_defaults(func=_import)
