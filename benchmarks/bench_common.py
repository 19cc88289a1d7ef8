"""Helpers shared by core_bench, memory_bench and gptcache_compare: data location, cached
embeddings, percentiles, RSS and markdown tables."""

from __future__ import annotations

import csv
import hashlib
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np

from cacheback.embed import Embedder

__all__ = [
    "CACHE_DIR",
    "REPO",
    "banking77_texts",
    "embed_cached",
    "markdown_table",
    "peak_rss_mb",
    "percentiles_ms",
    "rss_mb",
    "shared_data_dir",
    "timed_calls",
]

T = TypeVar("T")
R = TypeVar("R")

REPO = Path(__file__).resolve().parents[1]
CACHE_DIR = REPO / "benchmarks" / ".cache"


def shared_data_dir() -> Path:
    """The shared evaluation data: ``$CACHEBACK_SHARED_DATA`` or ``../shared/data`` beside the repo."""
    env = os.environ.get("CACHEBACK_SHARED_DATA")
    return Path(env) if env else (REPO / ".." / "shared" / "data").resolve()


def banking77_texts() -> list[tuple[str, str]]:
    """(text, intent) rows of BANKING77 train, or exit with a message when the data is absent."""
    path = shared_data_dir() / "banking77" / "train.csv"
    if not path.is_file():
        raise SystemExit(f"skipped: {path} not found (set CACHEBACK_SHARED_DATA)")
    with open(path, newline="", encoding="utf-8") as fh:
        return [(row["text"], row["category"]) for row in csv.DictReader(fh)]


def embed_cached(texts: Sequence[str], tag: str) -> np.ndarray:
    """MiniLM vectors of ``texts`` from cacheback's embedder, cached under benchmarks/.cache/ by
    embedder name and texts."""
    from cacheback.embed import default_embedder

    embedder = default_embedder()
    digest = hashlib.sha256("\n".join([embedder.name, *texts]).encode("utf-8")).hexdigest()[:16]
    path = CACHE_DIR / f"{tag}-{digest}.npy"
    if path.is_file():
        return np.load(path)
    print(f"embedding {len(texts)} texts for {tag} (cached afterwards)", file=sys.stderr, flush=True)
    vectors = embedder.embed_batch(list(texts))
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.npy")
    np.save(tmp, vectors)
    os.replace(tmp, path)
    return vectors


def timed_calls(items: Sequence[T], call: Callable[[T], R]) -> tuple[list[float], list[R]]:
    """Seconds per call of ``call`` on each item, and what each call returned."""
    seconds: list[float] = []
    results: list[R] = []
    for item in items:
        start = time.perf_counter()
        results.append(call(item))
        seconds.append(time.perf_counter() - start)
    return seconds, results


def percentiles_ms(seconds: Sequence[float]) -> tuple[float, float, float]:
    """(p50, p99, mean) in milliseconds; NaN for an empty list."""
    if not seconds:
        return float("nan"), float("nan"), float("nan")
    ms = np.asarray(seconds) * 1e3
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99)), float(ms.mean())


def _status_mb(field: str) -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def rss_mb() -> float:
    """Resident set size of this process now, in MB (Linux /proc)."""
    return _status_mb("VmRSS")


def peak_rss_mb() -> float:
    """The highest RSS this process image reached, in MB: ``VmHWM``, which unlike ``ru_maxrss``
    does not inherit the parent's peak across fork and exec."""
    return _status_mb("VmHWM")


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured markdown table; floats get 2 decimals."""

    def cell(value: object) -> str:
        return f"{value:,.2f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


class LookupEmbedder(Embedder):
    """Precomputed MiniLM vectors served by text: a cache under test sees exactly these vectors,
    and timings show the cache, not the model."""

    name = "all-MiniLM-L6-v2-int8"
    dim = 384

    def __init__(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        self._rows = dict(zip(texts, vectors))

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._rows[t] for t in texts])
