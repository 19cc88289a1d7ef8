"""What the choice of index does to the answers a cache serves, on the labelled data sets.

Each data set's stored texts go into a ``SemanticCache`` (real MiniLM vectors, precomputed), and
every query is asked through ``get`` three times over: with the cache searching by the exact
scan, by the projected scan (the default below ``HNSW_MIN_ITEMS``) and by the HNSW graph (the
default above). The table gives hits, wrong hits (a served answer whose stored text has another
label) and how many queries got another answer than with the exact scan.

    python benchmarks/index_quality.py [--datasets banking77 clinc150 bitext]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import LookupEmbedder, markdown_table  # noqa: E402
from match_data import Stream, load_stream  # noqa: E402

from cacheback import SemanticCache  # noqa: E402
from cacheback.ann import BruteForceIndex, ProjectedIndex  # noqa: E402

INDEXES = ("exact scan", "projected scan", "HNSW graph")


def _cache(stream: Stream, index: str) -> SemanticCache:
    assert stream.stored_vectors is not None and stream.query_vectors is not None
    embedder = LookupEmbedder(stream.stored + stream.queries,
                              np.vstack([stream.stored_vectors, stream.query_vectors]))
    cache = SemanticCache(":memory:", embedder=embedder)
    vectors = cache._vectors
    if index == "exact scan":
        vectors._index = BruteForceIndex(384)
    elif index == "HNSW graph":
        vectors.hnsw_min_items = 1
    else:
        assert isinstance(vectors._index, ProjectedIndex)
    for j, text in enumerate(stream.stored):
        cache.put(text, str(j))
    vectors.wait_for_build()
    return cache


def served(stream: Stream, index: str) -> tuple[list[int | None], str]:
    """The stored row served for each query (None for a miss), and the index kind used."""
    cache = _cache(stream, index)
    kind = cache._vectors.kind
    out: list[int | None] = []
    for query in stream.queries:
        hit: Any = cache.get(query)
        out.append(None if hit is None or hit.tier != "semantic" else int(hit.response))
    cache.close()
    return out, kind


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["banking77", "clinc150", "bitext"])
    args = parser.parse_args(argv)
    rows = []
    for name in args.datasets:
        stream = load_stream(name)
        if stream.pairs_only:
            continue
        base: list[int | None] | None = None
        for index in INDEXES:
            answers, kind = served(stream, index)
            base = answers if base is None else base
            hits = [(i, j) for i, j in enumerate(answers) if j is not None]
            wrong = sum(not stream.right(i, j) for i, j in hits)
            differ = sum(a != b for a, b in zip(answers, base))
            rows.append([name, f"{len(stream.stored):,}", index, kind, len(hits), wrong, differ])
            print(f"  {name} {index}: {len(hits)} hits, {wrong} wrong", file=sys.stderr, flush=True)
    print(markdown_table(["data set", "stored", "index", "kind", "semantic hits", "wrong hits",
                          "answers unlike the exact scan's"], rows))


if __name__ == "__main__":
    main()
