"""Core lookup latency at 10k entries: exact hits, semantic lookups, misses and puts.

The cache holds BANKING77 train (about 10k real customer questions, real MiniLM vectors, built
through the storage layer from vectors cached in benchmarks/.cache/). Lookups go through the
public ``SemanticCache`` with its default settings. Prints one markdown table.

    python benchmarks/core_bench.py [--lookups 1000]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import (  # noqa: E402
    banking77_texts,
    embed_cached,
    markdown_table,
    percentiles_ms,
    timed_calls,
)

from cacheback import SemanticCache  # noqa: E402
from cacheback._normalize import normalise_query, query_hash  # noqa: E402
from cacheback.embed import default_embedder  # noqa: E402
from cacheback.storage import NewEntry, SQLiteStorage  # noqa: E402

_REWORDINGS = ("Hi, {}", "{} Thanks!", "Hello, {}", "{} Please help.")
_UNRELATED = (
    "What is the boiling point of water at high altitude?", "Recommend a good science fiction novel",
    "How many players are on a rugby team?", "Translate 'good morning' into Italian",
    "What year did the Berlin Wall fall?", "Give me a recipe for banana bread",
)


def _fill(path: Path, texts: list[str], intents: list[str]) -> None:
    vectors = embed_cached(texts, "core-banking77")
    name = default_embedder().name
    storage = SQLiteStorage(path)
    now = time.time()
    with storage.transaction():
        for text, intent, vector in zip(texts, intents, vectors):
            norm = normalise_query(text)
            storage.put(NewEntry(
                namespace="default", scope_key="", query_hash=query_hash(norm), norm_query=norm,
                query=text, response=f"Canned answer about {intent}.", payload=None,
                embedding=vector, embed_model=name, created=now, expires=None, metadata=None,
            ))
    storage.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lookups", type=int, default=1000)
    args = parser.parse_args()
    rows = banking77_texts()
    unique = list({normalise_query(t): (t, i) for t, i in rows}.values())
    texts, intents = [t for t, _ in unique], [i for _, i in unique]
    rng = random.Random(0)
    sample = rng.sample(texts, args.lookups)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "core.db"
        _fill(db, texts, intents)
        start = time.perf_counter()
        cache = SemanticCache(db)
        open_s = time.perf_counter() - start
        cache.get("warm up the model session")
        table = []

        def row(name: str, seconds: list[float], outcome: str) -> None:
            p50, p99, mean = percentiles_ms(seconds)
            table.append([name, len(seconds), outcome, p50, p99, mean])

        seconds, hits = timed_calls(sample, cache.get)
        row("exact hit (stored question)", seconds,
            f"{sum(1 for h in hits if getattr(h, 'tier', None) == 'exact')} exact hits")
        reworded = [rng.choice(_REWORDINGS).format(t) for t in sample]
        seconds, hits = timed_calls(reworded, cache.get)
        semantic = [s for s, h in zip(seconds, hits) if getattr(h, "tier", None) == "semantic"]
        row("semantic lookup (reworded question)", seconds,
            f"{len(semantic)} semantic hits, {sum(h is None for h in hits)} misses")
        row("  of which semantic hits", semantic, "served")
        unrelated = [f"{q} ({i})" for i, q in enumerate(_UNRELATED * (args.lookups // len(_UNRELATED)))]
        seconds, hits = timed_calls(unrelated, cache.get)
        row("miss (unrelated question)", seconds, f"{sum(h is None for h in hits)} misses")
        fresh = [f"New question {i}: {q}" for i, q in enumerate(rng.sample(texts, 200))]
        seconds, _ = timed_calls(fresh, lambda q: cache.put(q, "An answer."))
        row("put (embed + write)", seconds, "stored")
        entries = cache.stats()["entries"]
        cache.close()
    print(f"## Core lookup latency at {entries:,} entries (BANKING77, real MiniLM vectors)\n")
    print(markdown_table(["operation", "n", "outcome", "p50 ms", "p99 ms", "mean ms"], table))
    print(f"\nopen (SemanticCache() on the {entries:,}-entry file): {open_s:.2f} s; matcher: "
          f"{type(cache.matcher).__name__}; 1-min load average {load_before:.1f} -> "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
