"""Benchmark cacheback's ANN indexes against brute force and hnswlib.

Prints one table per data set (10k and 100k real MiniLM embeddings of the shared data's texts,
padded with everyday rewrites of them, plus a clustered synthetic set): build time, query p50/p99,
recall@1, recall@10 and memory. Embeddings are cached under benchmarks/.cache/ (gitignored).

    OPENBLAS_NUM_THREADS=1 python benchmarks/ann_bench.py   # full run (~30 min: three 100k builds)
    python benchmarks/ann_bench.py --prepare-only  # embed and cache the vectors, then stop
    python benchmarks/ann_bench.py --crossover     # also find where HNSW starts beating brute force

Query times are single-query calls (k=10) after a warm-up; hnswlib is held to one thread
(``set_num_threads(1)``), so run with ``OPENBLAS_NUM_THREADS=1`` to hold numpy to one as well
(threaded BLAS also stalls the exact scan for milliseconds on a busy machine). Memory is the
growth of the process's resident set while building. The machine line records the load average,
which moves these numbers.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

if TYPE_CHECKING:
    from cacheback.ann import ANNIndex

REPO = Path(__file__).resolve().parents[1]
CACHE_DIR = REPO / "benchmarks" / ".cache"
TARGET_REAL = 100_000
_T = TypeVar("_T")
_I = TypeVar("_I", bound="ANNIndex")


def shared_data_dir() -> Path:
    """The shared evaluation data, from CACHEBACK_SHARED_DATA or next to the repository."""
    env = os.environ.get("CACHEBACK_SHARED_DATA")
    return Path(env) if env else (REPO / ".." / "shared" / "data").resolve()


# ---------------------------------------------------------------- real texts


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.strip()) > 3]


def collect_texts(data: Path) -> list[str]:
    """Every distinct text of the shared data sets, in a fixed order."""
    texts: list[str] = []
    with open(data / "banking77" / "train.csv", newline="", encoding="utf-8") as fh:
        texts += [row["text"] for row in csv.DictReader(fh)]
    clinc = json.loads((data / "clinc150" / "clinc150_dev.json").read_text(encoding="utf-8"))
    texts += [utt for split in clinc.values() for utt, _intent in split]
    with open(data / "bitext" / "bitext_customer_support_6480.csv", newline="",
              encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            texts.append(row["instruction"])
            texts += _sentences(row["response"])
    for pair in json.loads((data / "gptcache-mock" / "mock_data.json").read_text("utf-8")):
        texts += [pair["origin"], pair["similar"]]
    for line in (data / "fow-cache" / "pairs_dev.jsonl").read_text("utf-8").splitlines():
        pair = json.loads(line)
        texts += [pair["a"], pair["b"]]
    for line in (data / "fow-cache" / "conversations_dev.jsonl").read_text("utf-8").splitlines():
        conv = json.loads(line)
        texts += [turn["content"] for side in ("a", "b") for turn in conv[side]]
    return list(dict.fromkeys(t.strip() for t in texts if t.strip()))


_PREFIXES = ("Quick question: ", "Hi, ", "Please tell me ", "I need help. ", "Hello! ",
             "Can you help? ", "Sorry to bother you, ", "One more thing: ", "hey ", "So ")
_SUFFIXES = (" Thanks.", " Please.", " Thank you!", " ASAP.", " Any ideas?", " Cheers.",
             " thx", " please help")


def _prefix(text: str, rng: random.Random) -> str:
    return rng.choice(_PREFIXES) + text[:1].lower() + text[1:]


def _suffix(text: str, rng: random.Random) -> str:
    return text.rstrip(".?!") + rng.choice(_SUFFIXES)


def _typo(text: str, rng: random.Random) -> str:
    """Swap, drop or double one letter, as a hurried typist does."""
    spots = [i for i, ch in enumerate(text[:-1]) if ch.isalpha()]
    if not spots:
        return text
    i = rng.choice(spots)
    kind = rng.randrange(3)
    if kind == 0:
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    return text[:i] + text[i + 1:] if kind == 1 else text[:i] + text[i] + text[i:]


def _casual(text: str, rng: random.Random) -> str:
    return text.lower().rstrip(".?!")


_REWRITES = (_prefix, _suffix, _typo, _casual)


def rewrites(texts: list[str], count: int, seed: int = 1) -> list[str]:
    """``count`` distinct new texts, each one original with 1-3 everyday rewrites (greeting,
    sign-off, typo, casual case): the paraphrase-heavy mix a busy cache holds."""
    rng = random.Random(seed)
    seen = set(texts)
    out: list[str] = []
    while len(out) < count:
        text = rng.choice(texts)
        for rewrite in rng.sample(_REWRITES, rng.randint(1, 3)):
            text = rewrite(text, rng)
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


def embed_texts(texts: Sequence[str]) -> np.ndarray:
    """MiniLM sentence embeddings from cacheback's default embedder, float32, L2-normalised."""
    from cacheback.embed import default_embedder

    return np.asarray(default_embedder().embed_batch(list(texts)), dtype=np.float32)


def _cached_embeddings(name: str, texts: Callable[[], list[str]]) -> np.ndarray:
    path = CACHE_DIR / name
    if path.exists():
        return np.load(path)
    todo = texts()
    print(f"embedding {len(todo)} texts into {path.name}", file=sys.stderr, flush=True)
    vecs = embed_texts(todo)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, vecs)
    os.replace(tmp, path)
    return vecs


def real_pool() -> np.ndarray:
    """101k MiniLM vectors, shuffled (seeded): every distinct text of the shared data, then
    everyday rewrites of them up to 100k + the held-out queries."""
    data = shared_data_dir()
    if not data.is_dir():
        raise SystemExit(f"shared data not found at {data}; set CACHEBACK_SHARED_DATA")
    base = collect_texts(data)
    extra = TARGET_REAL + N_QUERIES - len(base)
    pool = np.concatenate([
        _cached_embeddings("minilm_originals.npy", lambda: base),
        _cached_embeddings(f"minilm_rewrites_{extra}.npy", lambda: rewrites(base, extra)),
    ])
    return pool[np.random.default_rng(7).permutation(len(pool))]


def clustered(n: int, dim: int = 384, clusters: int = 1000, seed: int = 0
              ) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters of unequal size and spread, unit-normalised; queries from the mixture."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    weights = rng.pareto(1.5, clusters) + 1
    spread = rng.uniform(0.2, 0.6, clusters).astype(np.float32)

    def draw(count: int) -> np.ndarray:
        pick = rng.choice(clusters, count, p=weights / weights.sum())
        noise = rng.standard_normal((count, dim)).astype(np.float32) * spread[pick, None]
        vecs = centres[pick] + noise
        return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)

    return draw(n), draw(N_QUERIES)


# ---------------------------------------------------------------- measuring

N_QUERIES = 1000
K = 10
EFS = (16, 32, 48, 64, 96, 128)
PROJECTED_EFS = (128, 256, 512)


@dataclass
class Row:
    index: str
    ef: int | None
    build_s: float
    p50_ms: float
    p99_ms: float
    recall1: float
    recall10: float
    memory_mb: float


def rss_mb() -> float:
    """Resident set size of this process, from /proc."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def timed_queries(search: Callable[[np.ndarray], np.ndarray],
                  queries: np.ndarray) -> tuple[float, float, np.ndarray]:
    """p50 and p99 (ms) of one-query calls, and the labels found."""
    for q in queries[:50]:
        search(q)
    times, labels = [], []
    for q in queries:
        t0 = time.perf_counter()
        labels.append(search(q))
        times.append(time.perf_counter() - t0)
    ms = np.array(times) * 1e3
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99)), np.stack(labels)


def top_k(index: object) -> Callable[[np.ndarray], np.ndarray]:
    """One-query search returning the k labels (both our indexes and hnswlib's)."""
    return lambda q: index.knn_query(q, K)[0][0]  # type: ignore[attr-defined]


def recalls(found: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    r1 = float(np.mean(found[:, 0] == truth[:, 0]))
    r10 = float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth)]))
    return r1, r10


def built(make: Callable[[], _T]) -> tuple[_T, float, float]:
    """(index, build seconds, RSS growth in MB)."""
    before = rss_mb()
    t0 = time.perf_counter()
    index = make()
    return index, time.perf_counter() - t0, rss_mb() - before


def bench_set(base: np.ndarray, queries: np.ndarray, efs: Sequence[int],
              with_hnswlib: bool) -> list[Row]:
    from cacheback.ann import BruteForceIndex, HNSWIndex, ProjectedIndex

    n, dim = base.shape
    ids = np.arange(n, dtype=np.int64)

    def fill(index: _I) -> _I:
        index.add_items(base, ids)
        index.knn_query(base[0], 1)  # a ProjectedIndex fits its axes at its first search
        return index

    rows = []
    brute, secs, mem = built(lambda: fill(BruteForceIndex(dim, "cosine", max_elements=n)))
    p50, p99, truth = timed_queries(top_k(brute), queries)
    rows.append(Row("BruteForceIndex", None, secs, p50, p99, 1.0, 1.0, mem))
    scan, secs, mem = built(lambda: fill(ProjectedIndex(dim, "cosine", max_elements=n)))
    for ef in PROJECTED_EFS:
        scan.set_ef(ef)
        p50, p99, found = timed_queries(top_k(scan), queries)
        rows.append(Row("ProjectedIndex", ef, secs, p50, p99, *recalls(found, truth), mem))
        secs = mem = float("nan")
    graph, secs, mem = built(lambda: fill(HNSWIndex(dim, "cosine", M=16, ef_construction=200,
                                                    seed=0, max_elements=n)))
    print(f"  HNSWIndex built in {secs:.1f} s", file=sys.stderr, flush=True)
    for ef in efs:
        graph.set_ef(ef)
        p50, p99, found = timed_queries(top_k(graph), queries)
        rows.append(Row("HNSWIndex", ef, secs, p50, p99, *recalls(found, truth), mem))
        secs = mem = float("nan")
    if with_hnswlib:
        rows += _bench_hnswlib(base, ids, queries, truth, efs)
    return rows


def _bench_hnswlib(base: np.ndarray, ids: np.ndarray, queries: np.ndarray, truth: np.ndarray,
                   efs: Sequence[int]) -> list[Row]:
    try:
        import hnswlib  # benchmark-only comparison
    except ImportError:
        print("  hnswlib not installed: skipped", file=sys.stderr)
        return []

    def make() -> object:
        index = hnswlib.Index(space="cosine", dim=base.shape[1])
        index.init_index(max_elements=len(base), M=16, ef_construction=200, random_seed=0)
        index.set_num_threads(1)
        index.add_items(base, ids)
        return index

    index, secs, mem = built(make)
    rows = []
    for ef in efs:
        index.set_ef(ef)  # type: ignore[attr-defined]
        p50, p99, found = timed_queries(top_k(index), queries)
        rows.append(Row("hnswlib", ef, secs, p50, p99, *recalls(found, truth), mem))
        secs = mem = float("nan")
    return rows


# ---------------------------------------------------------------- reporting


def _fmt(value: float, spec: str) -> str:
    return "" if value != value else format(value, spec)


def print_table(title: str, rows: list[Row]) -> None:
    hnswlib_p50 = {r.ef: r.p50_ms for r in rows if r.index == "hnswlib"}
    brute_p50 = next(r.p50_ms for r in rows if r.index == "BruteForceIndex")
    print(f"\n{title}")
    head = (f"{'index':<16}{'ef':>5}{'build s':>9}{'p50 ms':>9}{'p99 ms':>9}{'recall@1':>10}"
            f"{'recall@10':>11}{'mem MB':>9}{'vs brute':>10}{'vs hnswlib':>12}")
    print(head)
    print("-" * len(head))
    for r in rows:
        speed = brute_p50 / r.p50_ms
        ratio = r.p50_ms / hnswlib_p50[r.ef] if r.index == "HNSWIndex" and r.ef in hnswlib_p50 \
            else float("nan")
        print(f"{r.index:<16}{'-' if r.ef is None else r.ef:>5}{_fmt(r.build_s, '.1f'):>9}"
              f"{r.p50_ms:>9.3f}{r.p99_ms:>9.3f}{r.recall1:>10.4f}{r.recall10:>11.4f}"
              f"{_fmt(r.memory_mb, '.0f'):>9}{speed:>9.1f}x"
              f"{_fmt(ratio, '.1f') + ('x' if ratio == ratio else ''):>12}")
    good = [r for r in rows if r.index == "HNSWIndex" and r.recall1 >= 0.99]
    if good:
        best = min(good, key=lambda r: r.p50_ms)
        print(f"smallest-latency HNSWIndex with recall@1 >= 0.99: ef={best.ef}, "
              f"p50 {best.p50_ms:.3f} ms = {brute_p50 / best.p50_ms:.1f}x faster than brute force"
              + (f", {best.p50_ms / hnswlib_p50[best.ef]:.1f}x hnswlib's p50 at that ef"
                 if best.ef in hnswlib_p50 else ""))
    else:
        print("no HNSWIndex setting reached recall@1 >= 0.99")


def crossover(pool: np.ndarray, sizes: Sequence[int], rounds: int = 3) -> None:
    """Query latency of the exact scan, the projected scan (default settings) and HNSW (at the
    smallest ef giving recall@1 >= 0.99); each p50 is the best of ``rounds`` alternating runs,
    to see through load spikes."""
    from cacheback.ann import BruteForceIndex, HNSWIndex, ProjectedIndex

    queries = pool[-300:]
    print(f"\nwhich index answers fastest (real MiniLM, k={K}, 300 queries, best p50 of {rounds})")
    head = (f"{'items':>8}{'brute ms':>10}{'projected ms':>14}{'recall@1':>10}"
            f"{'hnsw ef':>9}{'hnsw ms':>9}{'recall@1':>10}")
    print(head)
    print("-" * len(head))
    for n in sizes:
        base, ids = pool[:n], np.arange(n)
        brute = BruteForceIndex(384, "cosine")
        brute.add_items(base, ids)
        scan = ProjectedIndex(384, "cosine")
        scan.add_items(base, ids)
        graph = HNSWIndex(384, "cosine", seed=0)
        graph.add_items(base, ids)
        _, _, truth = timed_queries(top_k(brute), queries)
        p_r1, _ = recalls(timed_queries(top_k(scan), queries)[2], truth)
        for ef in (16, 24, 32, 48, 64, 96, 128):
            graph.set_ef(ef)
            r1, _ = recalls(timed_queries(top_k(graph), queries)[2], truth)
            if r1 >= 0.99:
                break
        b50 = p50 = h50 = float("inf")
        for _ in range(rounds):
            b50 = min(b50, timed_queries(top_k(brute), queries)[0])
            p50 = min(p50, timed_queries(top_k(scan), queries)[0])
            h50 = min(h50, timed_queries(top_k(graph), queries)[0])
        print(f"{n:>8}{b50:>10.3f}{p50:>14.3f}{p_r1:>10.4f}{ef:>9}{h50:>9.3f}{r1:>10.4f}",
              flush=True)


def machine() -> str:
    import numpy

    load = os.getloadavg()
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    return (f"{os.cpu_count()} cpus, load average {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}, "
            f"numpy {numpy.__version__}, OPENBLAS_NUM_THREADS={threads}, "
            f"python {sys.version.split()[0]}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--synthetic", type=int, default=100_000,
                        help="size of the clustered synthetic set (0 to skip)")
    parser.add_argument("--efs", type=int, nargs="+", default=list(EFS))
    parser.add_argument("--no-hnswlib", action="store_true")
    parser.add_argument("--prepare-only", action="store_true")
    parser.add_argument("--crossover", type=int, nargs="*", default=None,
                        help="also time brute force vs HNSW at these sizes")
    args = parser.parse_args(argv)
    pool = real_pool()
    if args.prepare_only:
        return
    print(f"machine: {machine()}")
    queries = pool[-N_QUERIES:]
    for n in args.sizes:
        rows = bench_set(pool[:n], queries, args.efs, not args.no_hnswlib)
        print_table(f"real MiniLM embeddings, {n:,} x 384, {N_QUERIES} held-out queries, "
                    f"k={K}, cosine", rows)
    if args.synthetic:
        base, synth_queries = clustered(args.synthetic)
        rows = bench_set(base, synth_queries, args.efs, not args.no_hnswlib)
        print_table(f"clustered synthetic, {args.synthetic:,} x 384, {N_QUERIES} queries, "
                    f"k={K}, cosine", rows)
    if args.crossover is not None:
        crossover(pool, args.crossover or [1_000, 2_000, 5_000, 10_000, 20_000, 40_000])
    print(f"\nmachine after: {machine()}")


if __name__ == "__main__":
    main()
