"""Memory and open time of a large cache: RSS and open time at 10k and 100k entries.

The databases are built once through the storage layer (embedding 100k texts here would take
many minutes) and kept in benchmarks/.cache/. Their vectors are real MiniLM embeddings of the
shared data texts and their rewrites (ann_bench.py's cached pool), or seeded random unit vectors
when that pool is unavailable; the stored texts are synthetic. Each size is then measured
through the public ``SemanticCache`` in a fresh process: a cold open (vectors read from SQLite;
from HNSW_MIN_ITEMS entries the index is promoted to HNSW in the background, waited for, and
saved on close), then, when an index file was saved, a warm open from it. Each row: open, first
lookup (model session load), 200 lookups, and what the vector index holds by part.

With ``--no-model`` the lookups embed nothing: they are handed held-out query vectors of the
same pool, so the process never loads the ONNX session and its RSS is the cache's own.

    python benchmarks/memory_bench.py                 # 10k and 100k
    python benchmarks/memory_bench.py --sizes 100000 --no-model
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import CACHE_DIR, REPO, markdown_table, peak_rss_mb, rss_mb  # noqa: E402

from cacheback.ann import HNSW_MIN_ITEMS  # noqa: E402
from cacheback.embed import Embedder, OnnxMiniLMEmbedder  # noqa: E402

TARGET_RSS_MB = 250
_DIM = 384
_LOOKUPS = 200
_PARTS = ("vectors", "graph", "ids", "partitions")


class StoredVectors(Embedder):
    """Hands out precomputed query vectors in turn, under the default model's name (the one the
    benchmark databases are built with), so lookups run without an ONNX session."""

    name = OnnxMiniLMEmbedder.name
    dim = _DIM

    def __init__(self, vectors: np.ndarray) -> None:
        self._vectors = vectors
        self._next = 0

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        picks = (self._next + np.arange(len(texts))) % len(self._vectors)
        self._next += len(texts)
        return self._vectors[picks]


def _texts(i: int, rng: np.random.Generator, answers: list[str]) -> tuple[str, str, str]:
    """A distinct question, an answer of realistic length and an OpenAI-shaped payload."""
    query = f"Customer question {i}: how do I sort out issue number {rng.integers(1 << 30)} on my account?"
    answer = answers[i % len(answers)]
    payload = json.dumps({
        "id": f"chatcmpl-{i:08d}", "object": "chat.completion", "created": 1_700_000_000,
        "model": "gpt-4o", "choices": [{"index": 0, "finish_reason": "stop",
                                        "message": {"role": "assistant", "content": answer}}],
        "usage": {"prompt_tokens": 420, "completion_tokens": 80, "total_tokens": 500},
    })
    return query, answer, payload


def _vectors(n: int, queries: int = 0) -> tuple[np.ndarray, str]:
    """``n`` unit vectors, then ``queries`` held-out ones: ann_bench's real MiniLM pool when it
    can be had, else random ones."""
    try:
        from ann_bench import real_pool

        pool = real_pool()
        if len(pool) >= n + queries:
            rows = np.r_[0:n, len(pool) - queries:len(pool)]
            return np.ascontiguousarray(pool[rows], dtype=np.float32), "real"
    except (ImportError, SystemExit, OSError, ValueError) as exc:
        print(f"real vectors unavailable ({exc}); using random ones", file=sys.stderr)
    vectors = np.random.default_rng(n).standard_normal((n + queries, _DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True), "random"


def _db_path(n: int, source: str) -> Path:
    return CACHE_DIR / f"memory-{n}-{source}-{OnnxMiniLMEmbedder.name}.db"


def query_vectors(source: str) -> Path:
    """A file of ``_LOOKUPS + 1`` held-out query vectors for ``--no-model`` lookups."""
    path = CACHE_DIR / f"memory-queries-{source}.npy"
    if not path.is_file():
        vectors, got = _vectors(0, _LOOKUPS + 1)
        if got != source:
            raise SystemExit(f"{source} query vectors unavailable")
        np.save(path, vectors)
    return path


def build_db(n: int) -> tuple[Path, str]:
    """A cache file with ``n`` entries in one namespace and scope (the largest partition)."""
    from cacheback._normalize import normalise_query, query_hash
    from cacheback.demo import load_support_set
    from cacheback.embed import OnnxMiniLMEmbedder
    from cacheback.storage import NewEntry, SQLiteStorage

    for source in ("real", "random"):
        path = _db_path(n, source)
        if path.is_file():
            return path, source
    vectors, source = _vectors(n)
    path = _db_path(n, source)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".building")
    tmp.unlink(missing_ok=True)
    answers = [intent.answer for intent in load_support_set().intents]
    rng = np.random.default_rng(n)
    storage = SQLiteStorage(tmp)
    start = time.perf_counter()
    now = time.time()
    for begin in range(0, n, 5000):
        with storage.transaction():
            for i in range(begin, min(begin + 5000, n)):
                query, answer, payload = _texts(i, rng, answers)
                norm = normalise_query(query)
                storage.put(NewEntry(
                    namespace="default", scope_key="", query_hash=query_hash(norm), norm_query=norm,
                    query=query, response=answer, payload=payload, embedding=vectors[i],
                    embed_model=OnnxMiniLMEmbedder.name, created=now, expires=None, metadata=None,
                ))
    storage.checkpoint()
    storage.close()
    tmp.rename(path)
    print(f"built {path.name} in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return path, source


def measure(path: Path, build_timeout: float, queries: Path | None) -> dict[str, float | str]:
    """Run in a fresh process: RSS and timings of opening and querying the cache at ``path``,
    with the ONNX model, or with the query vectors in ``queries`` and no model.

    A cache of ``HNSW_MIN_ITEMS`` entries or more promotes its index to HNSW in a background
    thread; this waits for that (polling the public ``stats()``) before the lookups, and the
    close then saves the graph beside the database for the next (warm) open.
    """
    import cacheback

    warm = Path(str(path) + ".index").exists()
    embedder: Embedder | str = "default" if queries is None else StoredVectors(np.load(queries))
    baseline = rss_mb()
    start = time.perf_counter()
    cache = cacheback.SemanticCache(path, embedder=embedder)
    opened = time.perf_counter() - start
    after_open = rss_mb()
    start = time.perf_counter()
    cache.get("How do I sort out an issue on my account?")
    first = time.perf_counter() - start
    start = time.perf_counter()
    kind = cache.stats()["index_kind"]
    while time.perf_counter() - start < build_timeout:
        stats = cache.stats()
        if stats["index_kind"] == "hnsw" or stats["indexed_vectors"] < HNSW_MIN_ITEMS:
            kind = stats["index_kind"]
            break
        time.sleep(0.5)
    built = time.perf_counter() - start
    timings = []
    for i in range(_LOOKUPS):
        start = time.perf_counter()
        cache.get(f"Customer question {i * 7}: how can I fix a problem with my account?")
        timings.append(time.perf_counter() - start)
    stats = cache.stats()
    parts = cache._vectors.memory() if hasattr(cache._vectors, "memory") else {}
    result: dict[str, float | str] = {
        **{f"{part}_mb": parts[part] / 2**20 for part in _PARTS if part in parts},
        "model": "ONNX" if queries is None else "none",
        "open": "warm (index file)" if warm else "cold (from SQLite)",
        "entries": stats["entries"], "indexed": stats["indexed_vectors"], "index_kind": kind,
        "baseline_mb": baseline, "open_s": opened, "after_open_mb": after_open,
        "first_query_s": first, "hnsw_wait_s": built, "after_queries_mb": rss_mb(),
        "peak_mb": peak_rss_mb(), "lookup_p50_ms": float(np.percentile(timings, 50) * 1e3),
        "file_mb": path.stat().st_size / 2**20,
    }
    cache.close()
    return result


def _measure_in_subprocess(path: Path, build_timeout: float,
                           queries: Path | None) -> dict[str, float | str]:
    extra = [] if queries is None else ["--queries", str(queries)]
    out = subprocess.run(
        [sys.executable, __file__, "--measure", str(path), "--build-timeout", str(build_timeout),
         *extra],
        check=True, capture_output=True, text=True, cwd=REPO,
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def _mb(row: dict[str, float | str], key: str) -> str:
    return f"{float(row[key]):.1f}" if key in row else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--build-timeout", type=float, default=1200,
                        help="seconds to wait for the background HNSW build (1200)")
    parser.add_argument("--no-model", action="store_true",
                        help="look up held-out query vectors instead of running the ONNX model")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--queries", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None:
        print(json.dumps(measure(args.measure, args.build_timeout, args.queries)))
        return
    rows, parts = [], []
    sources = set()
    for n in args.sizes:
        path, source = build_db(n)
        sources.add(source)
        queries = query_vectors(source) if args.no_model else None
        Path(str(path) + ".index").unlink(missing_ok=True)
        runs = [_measure_in_subprocess(path, args.build_timeout, queries)]
        if Path(str(path) + ".index").exists():
            runs.append(_measure_in_subprocess(path, args.build_timeout, queries))
        for r in runs:
            rss = float(r["after_queries_mb"])
            head = [f"{int(r['entries']):,}", r["open"], r["index_kind"], r["model"]]
            rows.append([*head, f"{r['file_mb']:.0f}",
                         f"{r['open_s']:.2f}", f"{r['first_query_s']:.2f}", f"{r['hnsw_wait_s']:.0f}",
                         f"{r['lookup_p50_ms']:.1f}", f"{r['baseline_mb']:.0f}",
                         f"{r['after_open_mb']:.0f}", f"{rss:.0f}", f"{r['peak_mb']:.0f}",
                         f"{'yes' if rss <= TARGET_RSS_MB else 'no'} (<= {TARGET_RSS_MB})"])
            parts.append([*head, *(_mb(r, f"{part}_mb") for part in _PARTS), f"{rss:.0f}"])
    print("## Memory and open time (fresh process per row, public SemanticCache, one partition)\n")
    print(markdown_table(
        ["entries", "open", "index", "model", "db MB", "open s", "first query s",
         "HNSW build wait s", "lookup p50 ms", "RSS after import MB", "RSS after open MB",
         "RSS after lookups MB", "peak RSS MB", "within target"], rows))
    print("\nRSS after import: Python + numpy + cacheback before opening. Open: SemanticCache() "
          "incl. the model sha256 check and loading every vector (cold) or the saved HNSW index "
          "(warm). First query: loads the ONNX session (model ONNX) or nothing (model none: "
          "held-out query vectors, no session). HNSW build wait: from the first query "
          f"until the background promotion (at {HNSW_MIN_ITEMS:,} entries) finished. RSS after "
          f"lookups: after {_LOOKUPS} lookups. Vectors: {' and '.join(sorted(sources))} "
          "(real = MiniLM embeddings of the shared data and rewrites; random = seeded unit vectors, "
          "the hard case for HNSW); stored texts are synthetic.")
    print("\n## What the vector index holds after the lookups (MB)\n")
    print(markdown_table(["entries", "open", "index", "model", *_PARTS, "RSS after lookups"],
                         parts))
    print("\nvectors: the stored vectors (int8 or int16 codes in an HNSW index, float32 in the "
          "scans) and their norms; graph: HNSW links and levels, or the projected scan's "
          "coordinates; ids: labels, groups, tombstones and the id -> slot map; partitions: the "
          "(namespace, scope) code table.")


if __name__ == "__main__":
    main()
