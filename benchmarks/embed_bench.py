"""One-query embedding latency of the default model in its three graph modes, and how close
their vectors are to the graph as shipped. Prints one markdown table.

Modes: the graph as shipped (``int8_matmul=False``); int8 weight products only (what a model
file not known by its hash gets); int8 products plus the fused attention / GELU / projections
(the default). Each mode embeds the same BANKING77 questions one per call, in alternating blocks
so that a drift in the machine's speed reaches every mode alike; one session lives at a time,
so no other session's threads compete with it.

    python benchmarks/embed_bench.py [--texts 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import banking77_texts, markdown_table, percentiles_ms  # noqa: E402

from cacheback.embed import MODEL_SHA256, OnnxMiniLMEmbedder  # noqa: E402

MODES = {
    "as shipped": {"int8_matmul": False},
    "int8 products": {"expected_sha256": None},
    "int8 + fused blocks (default)": {"expected_sha256": MODEL_SHA256},
}


def _block(kwargs: dict[str, object], texts: list[str]) -> tuple[list[float], np.ndarray]:
    embedder = OnnxMiniLMEmbedder(**kwargs)  # type: ignore[arg-type]
    embedder.embed("warm the session up")
    seconds, rows = [], []
    for text in texts:
        start = time.perf_counter()
        rows.append(embedder.embed(text))
        seconds.append(time.perf_counter() - start)
    del embedder
    gc.collect()
    return seconds, np.stack(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    texts = [t for t, _ in banking77_texts()][: args.texts]
    load_before = os.getloadavg()[0]
    timings: dict[str, list[float]] = {mode: [] for mode in MODES}
    vectors: dict[str, np.ndarray] = {}
    for _ in range(args.rounds):
        for mode, kwargs in MODES.items():
            seconds, vectors[mode] = _block(kwargs, texts)
            timings[mode] += seconds
    reference = vectors["as shipped"]
    table = []
    for mode in MODES:
        p50, p99, mean = percentiles_ms(timings[mode])
        cosines = (vectors[mode] * reference).sum(axis=1)
        table.append([mode, len(timings[mode]), p50, p99, mean,
                      f"{np.median(cosines):.4f}", f"{cosines.min():.4f}"])
    print(f"load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}; "
          f"{args.texts} BANKING77 questions x {args.rounds} rounds, one text per call\n")
    print(markdown_table(
        ["graph", "queries", "p50 ms", "p99 ms", "mean ms", "median cos vs shipped", "min cos"],
        table,
    ))


if __name__ == "__main__":
    main()
