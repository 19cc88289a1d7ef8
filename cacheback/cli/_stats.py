"""``cacheback stats``: what the store holds and what its hits saved, from SQLite alone.

Hit counters of a running process live in that process; what persists is each entry's hit
count, so the hit rate here counts every stored answer as the one miss that created it.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from typing import Any

from ..pricing import estimate_cost, usage_tokens
from ..storage import Storage
from ._common import add_db_argument, db_path, format_bytes, open_existing

__all__ = ["add_parser", "collect_stats"]


def _payload_cost(payload: str | None) -> tuple[int, int, float]:
    """(input tokens, output tokens, USD) of the upstream call that produced a stored response."""
    if not payload:
        return 0, 0, 0.0
    try:
        body = json.loads(payload)
    except ValueError:
        return 0, 0, 0.0
    if not isinstance(body, dict) or not isinstance(body.get("usage"), dict):
        return 0, 0, 0.0
    tokens_in, tokens_out = usage_tokens(body["usage"])
    return tokens_in, tokens_out, estimate_cost(str(body.get("model") or ""), body["usage"])


def collect_stats(storage: Storage, now: float | None = None) -> dict[str, Any]:
    """Entries, size, all-time hits and the tokens and dollars those hits did not spend."""
    now = time.time() if now is None else now
    namespaces: Counter[str] = Counter()
    expired = hits = saved_in = saved_out = damaged = 0
    saved_usd = 0.0
    for row in storage.iter_entries():
        if row.get("damaged"):
            damaged += 1
            continue
        namespaces[row["namespace"]] += 1
        if row["expires"] is not None and row["expires"] <= now:
            expired += 1
        count = int(row["hit_count"] or 0)
        if count:
            hits += count
            tokens_in, tokens_out, usd = _payload_cost(row["payload"])
            saved_in += count * tokens_in
            saved_out += count * tokens_out
            saved_usd += count * usd
    counts = storage.counts()
    entries = counts["entries"]
    return {
        "path": storage.path,  # type: ignore[attr-defined]
        "entries": entries,
        "expired_entries": expired,
        "damaged_entries": damaged,
        "namespaces": dict(sorted(namespaces.items())),
        "file_bytes": counts["file_bytes"],
        "payload_bytes": counts["payload_bytes"],
        "feedback": counts["feedback"],
        "hits": hits,
        "hit_rate": hits / (hits + entries) if hits + entries else 0.0,
        "saved": {"input_tokens": saved_in, "output_tokens": saved_out, "usd": round(saved_usd, 6)},
    }


def _printable(name: str) -> str:
    """A namespace as it may be printed: control and unprintable characters escaped."""
    return name if name.isprintable() else name.encode("unicode_escape").decode("ascii")


def _print_human(stats: dict[str, Any]) -> None:
    saved, expired = stats["saved"], stats["expired_entries"]
    namespaces = ", ".join(f"{_printable(name)} ({n})"
                           for name, n in stats["namespaces"].items()) or "none"
    damaged = stats["damaged_entries"]
    notes = [f"{expired:,} expired"] * bool(expired) + [
        f"{damaged:,} damaged: run cacheback doctor"] * bool(damaged)
    lines = [
        ("database", stats["path"]),
        ("entries", f"{stats['entries']:,}" + (f" ({'; '.join(notes)})" if notes else "")),
        ("namespaces", namespaces),
        ("size on disk", format_bytes(stats["file_bytes"])),
        ("stored text", format_bytes(stats["payload_bytes"])),
        ("hits served", f"{stats['hits']:,}"),
        ("hit rate", f"{stats['hit_rate']:.1%} (hits / (hits + stored answers))"),
        ("tokens saved", f"{saved['input_tokens']:,} in, {saved['output_tokens']:,} out"),
        ("dollars saved", f"${saved['usd']:.4f} (list prices, from the stored responses' usage)"),
        ("feedback rows", f"{stats['feedback']:,}"),
    ]
    width = max(len(name) for name, _ in lines)
    for name, value in lines:
        print(f"{name:<{width}}  {value}")


def _run(args: argparse.Namespace) -> int:
    storage = open_existing(db_path(args))
    try:
        stats = collect_stats(storage)
    finally:
        storage.close()
    if args.json:
        print(json.dumps(stats, indent=2))
    else:
        _print_human(stats)
    return 0


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("stats", help="entries, size, hit rate and savings of a cache")
    add_db_argument(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=_run)
