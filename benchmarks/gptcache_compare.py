"""cacheback and GPTCache side by side: same data, same MiniLM ONNX embedder, one run, one table.

GPTCache 0.1.44 runs with its defaults (sqlite + faiss stores, SearchDistanceEvaluation,
similarity_threshold 0.8, i.e. cosine >= 0.6 on unit vectors) except ``max_size``, raised so that
neither system evicts; its embedding function is cacheback's own embedder. cacheback runs with
its defaults. Both live in benchmarks/.venv-gptcache (made by setup_gptcache_venv.sh on first use).

Data: gptcache-mock (GPTCache's own benchmark: insert every origin, query every paraphrase), and
support-bot streams (the bundled demo set, and all of BANKING77) where a miss stores the answer
of the question's intent and a hit is right only if it returns that intent's answer.

    python benchmarks/gptcache_compare.py [--stream 1000]
"""

from __future__ import annotations

import argparse
import atexit
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

HERE = Path(__file__).resolve().parent
VENV_PYTHON = HERE / ".venv-gptcache" / "bin" / "python"
sys.path.insert(0, str(HERE))


class System(Protocol):
    name: str

    def get(self, query: str) -> str | None: ...

    def put(self, query: str, answer: str) -> None: ...

    def close(self) -> None: ...


class CachebackSystem:
    """cacheback's ``SemanticCache`` with its default settings."""

    name = "cacheback"

    def __init__(self, directory: Path) -> None:
        from cacheback import SemanticCache

        self.cache = SemanticCache(directory / "cacheback.db")
        self.setting = f"{type(self.cache.matcher).__name__} (default)"

    def get(self, query: str) -> str | None:
        hit = self.cache.get(query)
        return None if hit is None else hit.response

    def put(self, query: str, answer: str) -> None:
        self.cache.put(query, answer)

    def close(self) -> None:
        self.cache.close()


class GPTCacheSystem:
    """GPTCache's ``init_similar_cache`` defaults, embedding with cacheback's MiniLM."""

    name = "GPTCache 0.1.44"

    def __init__(self, directory: Path) -> None:
        from gptcache import Cache, Config
        from gptcache.adapter.api import get, init_similar_cache, put
        from gptcache.embedding.base import BaseEmbedding
        from gptcache.manager import manager_factory

        from cacheback.embed import default_embedder

        embedder = default_embedder()

        class MiniLM(BaseEmbedding):
            def to_embeddings(self, data: str, **_: Any) -> Any:
                return embedder.embed(data)

            @property
            def dimension(self) -> int:
                return embedder.dim

        self._get, self._put = get, put
        self.cache = Cache()
        manager = manager_factory("sqlite,faiss", data_dir=str(directory), max_size=1_000_000,
                                  vector_params={"dimension": embedder.dim})
        init_similar_cache(cache_obj=self.cache, embedding=MiniLM(), data_manager=manager)
        self.setting = f"SearchDistanceEvaluation, similarity_threshold={Config().similarity_threshold}"

    def get(self, query: str) -> str | None:
        answer = self._get(query, cache_obj=self.cache)
        return None if answer is None else str(answer)

    def put(self, query: str, answer: str) -> None:
        self._put(query, answer, cache_obj=self.cache)

    def close(self) -> None:
        self.cache.data_manager.close()


@dataclass
class Tally:
    """Correct hits, wrong hits and misses, with the latency of every lookup and of the hits."""

    correct: int = 0
    wrong: int = 0
    misses: int = 0
    lookup_s: list[float] = field(default_factory=list)
    hit_s: list[float] = field(default_factory=list)
    insert_s: list[float] = field(default_factory=list)

    def judge(self, seconds: float, answer: str | None, expected: str) -> None:
        self.lookup_s.append(seconds)
        if answer is None:
            self.misses += 1
            return
        self.hit_s.append(seconds)
        if answer == expected:
            self.correct += 1
        else:
            self.wrong += 1


def _timed(action: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action(*args)
    return time.perf_counter() - start, result


def run_pairs(system: System, pairs: list[dict[str, str]]) -> Tally:
    """GPTCache's benchmark: store every origin with an id, look up every paraphrase.

    The id is that of the origin's first occurrence, so the 37 origins the file repeats count
    as one question rather than as wrong answers to each other.
    """
    first: dict[str, str] = {}
    ids = [first.setdefault(p["origin"].strip().lower(), str(i)) for i, p in enumerate(pairs)]
    tally = Tally()
    for pair, answer in zip(pairs, ids):
        seconds, _ = _timed(system.put, pair["origin"], answer)
        tally.insert_s.append(seconds)
    for pair, answer in zip(pairs, ids):
        seconds, got = _timed(system.get, pair["similar"])
        tally.judge(seconds, got, answer)
    return tally


def run_stream(system: System, stream: Iterable[tuple[str, str]]) -> Tally:
    """A support bot: look up each question; on a miss, store the right answer as the LLM would."""
    tally = Tally()
    for question, answer in stream:
        seconds, got = _timed(system.get, question)
        tally.judge(seconds, got, answer)
        if got is None:
            seconds, _ = _timed(system.put, question, answer)
            tally.insert_s.append(seconds)
    return tally


def _datasets(stream_length: int) -> list[tuple[str, str, Any]]:
    from bench_common import banking77_texts, shared_data_dir

    from cacheback.demo import Intent, SupportSet, build_stream, load_support_set

    sets: list[tuple[str, str, Any]] = []
    mock = shared_data_dir() / "gptcache-mock" / "mock_data.json"
    if mock.is_file():
        sets.append(("gptcache-mock (999 pairs)", "pairs", json.loads(mock.read_text("utf-8"))))
    bundled = load_support_set()
    sets.append((f"support bot, bundled set ({stream_length} q)", "stream",
                 [(i.text, bundled.answer_for(i.intent)) for i in build_stream(bundled, stream_length, 11)]))
    try:
        rows = banking77_texts()
    except SystemExit:
        return sets
    by_intent: dict[str, list[str]] = {}
    for text, intent in rows:
        by_intent.setdefault(intent, []).append(text)
    full = SupportSet([Intent(name, f"Answer about {name}.", tuple(texts))
                       for name, texts in sorted(by_intent.items())], "BANKING77")
    sets.append((f"support bot, BANKING77 77 intents ({2 * stream_length} q)", "stream",
                 [(i.text, full.answer_for(i.intent)) for i in build_stream(full, 2 * stream_length, 11)]))
    return sets


def compare(stream_length: int) -> str:
    """Run both systems on every data set and return the markdown report."""
    from bench_common import markdown_table, percentiles_ms

    from cacheback.embed import default_embedder

    logging.getLogger("gptcache").setLevel(logging.ERROR)
    root = Path(tempfile.mkdtemp(prefix="gptcache-compare-"))
    atexit.register(shutil.rmtree, root, True)  # registered first, so it runs after GPTCache's own
    default_embedder().embed("warm up the shared model")
    rows, settings = [], {}
    for n, (label, kind, data) in enumerate(_datasets(stream_length)):
        for factory in (CachebackSystem, GPTCacheSystem):
            directory = root / f"{n}-{factory.__name__}"
            directory.mkdir()
            system = factory(directory)
            settings[system.name] = system.setting
            tally = run_pairs(system, data) if kind == "pairs" else run_stream(system, data)
            system.close()
            hits = tally.correct + tally.wrong
            hit_p50, hit_p99, _ = percentiles_ms(tally.hit_s)
            look_p50, look_p99, _ = percentiles_ms(tally.lookup_s)
            ins_p50, _, _ = percentiles_ms(tally.insert_s)
            rows.append([label, system.name, len(tally.lookup_s), tally.correct, tally.wrong,
                         tally.misses, f"{tally.correct / hits:.1%}" if hits else "-",
                         hit_p50, hit_p99, look_p50, look_p99, ins_p50])
            print(f"done: {label} / {system.name}", file=sys.stderr, flush=True)
    import faiss
    import onnxruntime

    lines = [
        "## cacheback vs GPTCache (same MiniLM int8 ONNX embedder, same data, one run)", "",
        markdown_table(["data", "system", "lookups", "correct hits", "wrong hits", "misses",
                        "hit precision", "hit p50 ms", "hit p99 ms", "lookup p50 ms",
                        "lookup p99 ms", "insert p50 ms"], rows),
        "",
        *(f"- {name}: {setting}" for name, setting in settings.items()),
        f"- onnxruntime {onnxruntime.__version__}, faiss {faiss.__version__}, "
        f"{os.cpu_count()} CPUs, 1-min load average {os.getloadavg()[0]:.1f}",
    ]
    return "\n".join(lines)


def _in_benchmark_venv() -> bool:
    try:
        import gptcache  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stream", type=int, default=1000, help="support-bot stream length (1000)")
    args = parser.parse_args()
    if not _in_benchmark_venv():
        if not VENV_PYTHON.exists():
            print("creating benchmarks/.venv-gptcache (GPTCache + faiss-cpu + cacheback)", file=sys.stderr)
            subprocess.run(["bash", str(HERE / "setup_gptcache_venv.sh")], check=True,
                           env={**os.environ, "PYTHON": sys.executable})
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), __file__, *sys.argv[1:]])
    print(compare(args.stream))


if __name__ == "__main__":
    main()
