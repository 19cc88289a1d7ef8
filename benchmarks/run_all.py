"""Run every benchmark script that exists, one after another, and collect their tables.

Each script prints markdown to stdout; its stderr goes to benchmarks/out/<name>.log. The result
is benchmarks/out/RESULTS.md: a summary table (what ran, how long, whether it passed) followed by
every script's own tables. Scripts run in sequence so they do not disturb each other's timings.

    python benchmarks/run_all.py                      # everything (tens of minutes on 2 cores)
    python benchmarks/run_all.py --only core memory   # a subset, by name prefix
    python benchmarks/run_all.py --quick              # shorter settings where a script has them
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import REPO, markdown_table  # noqa: E402

OUT = REPO / "benchmarks" / "out"


@dataclass(frozen=True)
class Benchmark:
    """A script, what it measures, and the arguments of a quick run."""

    script: str
    measures: str
    quick_args: tuple[str, ...] = ()
    pytest: bool = False  # a pytest-benchmark file rather than a script


BENCHMARKS = (
    Benchmark("test_latency.py", "pytest-benchmark: core and CachedOpenAI hit latency at 10k entries",
              pytest=True),
    Benchmark("embed_bench.py", "one-query embedding latency per graph mode, and vector agreement"),
    Benchmark("core_bench.py", "exact / semantic hit latency at 10k entries", ("--lookups", "300")),
    Benchmark("client_bench.py", "hit latency through CachedOpenAI at 10k entries", ("--lookups", "200")),
    Benchmark("ann_bench.py", "ANN index: build time, recall, query latency, memory"),
    Benchmark("match_quality.py", "match decision: right and wrong hits per data set", ("--no-lodo",)),
    Benchmark("index_quality.py", "served answers with the exact scan, the projected scan and HNSW"),
    Benchmark("conversation_quality.py", "conversation-aware matching on fow-cache conversations"),
    Benchmark("ceag_quality.py", "synthesis tier: quality score and cost per tier", ("--queries", "300")),
    Benchmark("proxy_bench.py", "proxy throughput and the latency a miss adds",
              ("--seconds", "3", "--load-seconds", "10", "--misses", "100")),
    Benchmark("pii_bench.py", "PII guard: recall per kind, false positives, latency added to a hit",
              ("--per-kind", "300")),
    Benchmark("memory_bench.py", "RSS and open time at 10k and 100k entries"),
    Benchmark("gptcache_compare.py", "side by side with GPTCache on the same data and embedder",
              ("--stream", "300")),
)


@dataclass(frozen=True)
class Result:
    benchmark: Benchmark
    status: str
    seconds: float
    output: str


def run(benchmark: Benchmark, quick: bool, timeout: float) -> Result:
    """Run one script with the same interpreter; its stderr is kept in a log file."""
    path = str(REPO / "benchmarks" / benchmark.script)
    if benchmark.pytest:
        args = [sys.executable, "-m", "pytest", path, "-q", "-p", "no:cacheprovider",
                "--benchmark-enable", "--benchmark-columns=median,mean,max,rounds"]
    else:
        args = [sys.executable, path]
    args += list(benchmark.quick_args) if quick else []
    log = OUT / (Path(benchmark.script).stem + ".log")
    print(f"running {benchmark.script} ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    with open(log, "w", encoding="utf-8") as err:
        try:
            done = subprocess.run(args, cwd=REPO, stdout=subprocess.PIPE, stderr=err, text=True,
                                  timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            partial = exc.stdout if isinstance(exc.stdout, str) else ""
            return Result(benchmark, f"timed out after {timeout:.0f} s", time.perf_counter() - start,
                          partial)
    seconds = time.perf_counter() - start
    if done.returncode == 0:
        status = "ok"
    elif done.stdout.strip().startswith("skipped") or "skipped:" in log.read_text("utf-8"):
        status = "skipped (see log)"
    else:
        status = f"failed (exit {done.returncode}, see out/{log.name})"
    return Result(benchmark, status, seconds, done.stdout)


def report(results: list[Result], quick: bool) -> str:
    """RESULTS.md: when and where it ran, the summary table, then every script's tables."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                            text=True, check=False).stdout.strip() or "unknown"
    summary = markdown_table(
        ["benchmark", "measures", "status", "seconds"],
        [[f"`{r.benchmark.script}`", r.benchmark.measures, r.status, f"{r.seconds:.0f}"] for r in results],
    )
    parts = [
        "# Benchmark results", "",
        f"{time.strftime('%Y-%m-%d %H:%M')} - commit {commit} - Python {platform.python_version()} - "
        f"{os.cpu_count()} CPUs - load average {os.getloadavg()[0]:.1f}"
        + (" - quick settings" if quick else ""), "",
        summary,
    ]
    for r in results:
        parts += ["", f"# {r.benchmark.script}", "", r.output.strip() or f"(no output: {r.status})"]
    return "\n".join(parts) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", default=None, help="run scripts whose names start so")
    parser.add_argument("--quick", action="store_true", help="shorter settings where available")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per script (1800)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    chosen = [b for b in BENCHMARKS if (REPO / "benchmarks" / b.script).is_file()
              and (args.only is None or any(b.script.startswith(p) for p in args.only))]
    missing = [b.script for b in BENCHMARKS if not (REPO / "benchmarks" / b.script).is_file()]
    if missing:
        print(f"not present (skipped): {', '.join(missing)}", file=sys.stderr)
    results = [run(b, args.quick, args.timeout) for b in chosen]
    path = OUT / "RESULTS.md"
    path.write_text(report(results, args.quick), encoding="utf-8")
    print(f"wrote {path}", file=sys.stderr)
    print(markdown_table(["benchmark", "status", "seconds"],
                         [[r.benchmark.script, r.status, f"{r.seconds:.0f}"] for r in results]))


if __name__ == "__main__":
    main()
