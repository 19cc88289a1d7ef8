"""Memory and open time of a large cache: RSS and open time at 10k and 100k entries.

The databases are built once through the storage layer with seeded random unit vectors (same
size and dtype as MiniLM's, so memory is the same; embedding 100k texts would take minutes) and
kept in benchmarks/.cache/. Each size is then measured in a fresh process through the public
``SemanticCache``: open (index load), first lookup (model session load), then 200 lookups.

    python benchmarks/memory_bench.py                 # 10k and 100k
    python benchmarks/memory_bench.py --sizes 100000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import CACHE_DIR, REPO, markdown_table, peak_rss_mb, rss_mb  # noqa: E402

TARGET_RSS_MB = 250
_DIM = 384
_BUILD_VERSION = 1
_LOOKUPS = 200


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


def build_db(n: int) -> Path:
    """A cache file with ``n`` entries in one namespace and scope (the largest partition)."""
    from cacheback._normalize import normalise_query, query_hash
    from cacheback.demo import load_support_set
    from cacheback.embed import OnnxMiniLMEmbedder
    from cacheback.storage import NewEntry, SQLiteStorage

    path = CACHE_DIR / f"memory-{n}-v{_BUILD_VERSION}.db"
    if path.is_file():
        return path
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".building")
    tmp.unlink(missing_ok=True)
    answers = [intent.answer for intent in load_support_set().intents]
    rng = np.random.default_rng(n)
    storage = SQLiteStorage(tmp)
    start = time.perf_counter()
    now = time.time()
    for begin in range(0, n, 5000):
        count = min(5000, n - begin)
        vectors = rng.standard_normal((count, _DIM)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        with storage.transaction():
            for offset in range(count):
                query, answer, payload = _texts(begin + offset, rng, answers)
                norm = normalise_query(query)
                storage.put(NewEntry(
                    namespace="default", scope_key="", query_hash=query_hash(norm), norm_query=norm,
                    query=query, response=answer, payload=payload, embedding=vectors[offset],
                    embed_model=OnnxMiniLMEmbedder.name, created=now, expires=None, metadata=None,
                ))
    storage.checkpoint()
    storage.close()
    tmp.rename(path)
    print(f"built {path.name} in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return path


def measure(path: Path) -> dict[str, float]:
    """Run in a fresh process: RSS and timings of opening and querying the cache at ``path``."""
    import cacheback

    baseline = rss_mb()
    start = time.perf_counter()
    cache = cacheback.SemanticCache(path)
    opened = time.perf_counter() - start
    after_open = rss_mb()
    start = time.perf_counter()
    cache.get("How do I sort out an issue on my account?")
    first = time.perf_counter() - start
    timings = []
    for i in range(_LOOKUPS):
        start = time.perf_counter()
        cache.get(f"Customer question {i * 7}: how can I fix a problem with my account?")
        timings.append(time.perf_counter() - start)
    result = {
        "entries": cache.stats()["entries"], "indexed": cache.stats()["indexed_vectors"],
        "baseline_mb": baseline, "open_s": opened, "after_open_mb": after_open,
        "first_query_s": first, "after_queries_mb": rss_mb(), "peak_mb": peak_rss_mb(),
        "lookup_p50_ms": float(np.percentile(timings, 50) * 1e3),
        "file_mb": path.stat().st_size / 2**20,
    }
    cache.close()
    return result


def _measure_in_subprocess(path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", str(path)], check=True, capture_output=True,
        text=True, cwd=REPO,
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None:
        print(json.dumps(measure(args.measure)))
        return
    rows = []
    for n in args.sizes:
        r = _measure_in_subprocess(build_db(n))
        verdict = "yes" if r["after_queries_mb"] <= TARGET_RSS_MB else "no"
        rows.append([f"{int(r['entries']):,}", f"{r['file_mb']:.0f}", f"{r['open_s']:.2f}",
                     f"{r['first_query_s']:.2f}", f"{r['lookup_p50_ms']:.1f}",
                     f"{r['baseline_mb']:.0f}", f"{r['after_open_mb']:.0f}",
                     f"{r['after_queries_mb']:.0f}", f"{r['peak_mb']:.0f}",
                     f"{verdict} (<= {TARGET_RSS_MB})"])
    print("## Memory and open time (fresh process, public SemanticCache, one partition)\n")
    print(markdown_table(
        ["entries", "db MB", "open s", "first query s", "lookup p50 ms", "RSS after import MB",
         "RSS after open MB", "RSS after 200 lookups MB", "peak RSS MB", "within target"], rows))
    print("\nRSS after import: Python + numpy + cacheback before opening. Open: SemanticCache() "
          "incl. model sha256 check and loading every vector from SQLite. First query: loads the "
          "ONNX session. Vectors are seeded random unit vectors (MiniLM's size), texts synthetic.")


if __name__ == "__main__":
    main()
