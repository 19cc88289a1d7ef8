"""Where one proxy worker's CPU goes, per request kind and per phase.

Runs ``cacheback.proxy`` (one worker, in front of the fake upstream, on a copy of a mix
template database) with a CPU timer around each phase of a cached request, then loads it
with wrk, one request kind at a time, at concurrency 32:

- ``mix``: issue 15's mix (``proxy_bench.ISSUE_MIX_SCRIPT``);
- ``exact`` / ``exact-stream``: repeats of 50 questions (all exact hits once primed),
  JSON or streamed;
- ``new`` / ``new-stream``: a question never asked before on every request (exact lookup,
  embedding, search, the upstream call, the store), JSON or streamed.

Each kind is warmed for ``--warm`` seconds, then measured for ``--seconds``. A phase's cost is
the CPU time (``time.thread_time``: user + system of the thread that runs it; waiting for the
GIL or a lock is not CPU) summed over its calls, per request of the run. Phases nest: the
indented rows are part of the row above them. Per thread: the event loop, the worker threads
that ``asyncio.to_thread`` runs the cache work in, and the process's other threads (the index's
background linker); "process" is every thread of the proxy, from /proc, per request.
The event loop's CPU outside the timed phases is the HTTP server (uvicorn, Starlette), the
upstream client, asyncio and the socket system calls.

    python benchmarks/proxy_phases.py --size 10000 --templates /work/scratch/mix-dbs-linked
    python benchmarks/proxy_phases.py --kinds mix --seconds 30

Needs ``wrk``. The timers cost about a microsecond per phase call, a few percent of a request.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import proxy_bench  # noqa: E402
from bench_common import markdown_table  # noqa: E402

KINDS = ("mix", "exact", "exact-stream", "new", "new-stream")

# (label, module, attribute path): the phases timed, in the order (and nesting, by the
# label's indentation) the table shows them.
PHASES: tuple[tuple[str, str, str], ...] = (
    ("parse JSON (request body; upstream answer)", "cacheback.proxy._cached", "_json_object"),
    ("tenant namespace (keyed hash of the API key)", "cacheback.proxy._tenant", "Tenants.namespace"),
    ("CacheAccess() per request", "cacheback._clients._access", "CacheAccess.__init__"),
    ("plan (dialect rules, PII screen, keys)", "cacheback._clients._access",
     "CacheAccess._prepare_view"),
    ("  PII screen", "cacheback._clients._access", "screened"),
    ("request parts (headers)", "cacheback.proxy._cached", "request_parts"),
    ("flight key", "cacheback.proxy._cached", "flight_key"),
    ("lookup (SemanticCache.get)", "cacheback._clients._access", "CacheAccess.lookup"),
    ("  exact read (SQLite)", "cacheback.storage._sqlite", "SQLiteStorage.get_exact"),
    ("  index sync", "cacheback.cache", "SemanticCache._sync_vectors"),
    ("  embed (get; put reuses the vector)", "cacheback.cache", "SemanticCache._embed"),
    ("  of which the model (tokenise + ONNX)", "cacheback.embed._onnx",
     "OnnxMiniLMEmbedder.embed_batch"),
    ("  index search", "cacheback._vectors", "PartitionedVectors.search"),
    ("  index add (in a sync, or a put's own row)", "cacheback._vectors", "PartitionedVectors.add"),
    ("  read candidates (SQLite)", "cacheback.storage._sqlite", "SQLiteStorage.get_many"),
    ("  match decision", "cacheback.match._calibrated", "CalibratedMatcher.decide"),
    ("hit -> response (payload, cost)", "cacheback._clients._access", "CacheAccess.served"),
    ("hit body: JSON", "cacheback.proxy._cached", "json_text"),
    ("hit body: SSE replay", "cacheback.proxy._cached", "replay_bytes"),
    ("relay headers", "cacheback.proxy._cached", "response_headers"),
    ("outcome headers", "cacheback.proxy._cached", "outcome_headers"),
    ("metrics (counters)", "cacheback.proxy._metrics", "Metrics.inc"),
    ("metrics (histograms)", "cacheback.proxy._metrics", "Metrics.observe"),
    ("SSE capture (fold events)", "cacheback.proxy._sse", "StreamCapture.feed"),
    ("SSE capture (assemble answer)", "cacheback.proxy._sse", "StreamCapture.result"),
    ("store verdict", "cacheback._clients._access", "CacheAccess.verdict"),
    ("store (SemanticCache.put)", "cacheback._clients._access", "CacheAccess.store"),
    ("  write row (SQLite)", "cacheback.storage._sqlite", "SQLiteStorage.put"),
    ("  add to index", "cacheback.cache", "SemanticCache._index_new"),
)


# ---------------------------------------------------------------- inside the proxy process


class Timers:
    """CPU and call counts per phase and thread role, summed across threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.cpu: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.main = threading.main_thread().ident

    def add(self, label: str, cpu: float) -> None:
        where = "loop" if threading.get_ident() == self.main else "threads"
        key = f"{label}|{where}"
        with self.lock:
            self.cpu[key] = self.cpu.get(key, 0.0) + cpu
            self.calls[key] = self.calls.get(key, 0) + 1

    def wrap(self, label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        clock = time.thread_time
        add = self.add

        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = clock()
            try:
                return function(*args, **kwargs)
            finally:
                add(label, clock() - start)

        if _is_async(function):
            raise TypeError(f"{label}: a coroutine's CPU between awaits is not its own")
        return timed

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            phases = {"cpu": dict(self.cpu), "calls": dict(self.calls)}
        return {"phases": phases, "threads": thread_cpu(), "time": time.time()}


def _is_async(function: Callable[..., Any]) -> bool:
    import inspect

    return inspect.iscoroutinefunction(function)


#: Name prefixes of the threads ``asyncio.to_thread`` runs in (Python's default pool, uvloop's,
#: the proxy's own).
_POOL_THREADS = ("asyncio", "ThreadPool", "uvloop", "cacheback-cache")


def thread_cpu() -> dict[str, float]:
    """CPU seconds per thread role of this process, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    roles: dict[int, str] = {}
    for thread in threading.enumerate():
        if thread.native_id is None:
            continue
        name = thread.name
        roles[thread.native_id] = ("loop" if thread is threading.main_thread()
                                   else "sampler" if name == "proxy-phases"
                                   else "threads" if name.startswith(_POOL_THREADS)
                                   else "other")
    totals: dict[str, float] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        role = roles.get(int(task.name), "native")
        totals[role] = totals.get(role, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return totals


def _resolve(module: str, path: str) -> tuple[Any, str]:
    import importlib

    owner: Any = importlib.import_module(module)
    *parents, name = path.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    return owner, name


def install(timers: Timers) -> None:
    """Wrap every phase, where it is looked up from (a module's imported name or a class)."""
    for label, module, path in PHASES:
        owner, name = _resolve(module, path)
        setattr(owner, name, timers.wrap(label.strip(), getattr(owner, name)))


def serve(out: str, proxy_args: Sequence[str]) -> None:
    """Run the proxy with the timers; write a snapshot to ``out.N`` whenever ``out.N.want``
    appears."""
    timers = Timers()
    install(timers)

    def answer_requests() -> None:
        folder, stem = os.path.split(out)
        while True:
            time.sleep(0.05)
            for want in Path(folder or ".").glob(stem + ".*.want"):
                target = str(want)[: -len(".want")]
                Path(target + ".tmp").write_text(json.dumps(timers.snapshot()))
                os.replace(target + ".tmp", target)
                want.unlink()

    threading.Thread(target=answer_requests, name="proxy-phases", daemon=True).start()
    from cacheback.proxy.__main__ import main

    main(list(proxy_args))


# ---------------------------------------------------------------- the driver

#: The issue-15 mix's slot (of every 10 requests) that each kind always takes: 0 an exact
#: repeat as JSON, 2 one streamed, 7 a new question as JSON, 8 one streamed.
_SLOTS = {"exact": 0, "exact-stream": 2, "new": 7, "new-stream": 8}
_SLOT_LINE = "local slot, k = n % 10, (n * 7) % 50"


def script(kind: str, salt: str) -> str:
    """The wrk script of one request kind: the issue-15 mix's (the APIs alternate every 10
    requests), held at one slot; ``salt`` keeps new questions new across runs."""
    mix = proxy_bench.ISSUE_MIX_SCRIPT
    if _SLOT_LINE not in mix:
        raise SystemExit("proxy_bench.ISSUE_MIX_SCRIPT changed: update proxy_phases.script")
    if kind != "mix":
        mix = mix.replace(_SLOT_LINE, f"local slot, k = {_SLOTS[kind]}, (n * 7) % 50")
    return mix.replace('"a new question " .. tag', f'"a new question {salt}-" .. tag')


@contextmanager
def timed_proxy(upstream: str, db: Path, out: Path) -> Iterator[tuple[str, Any]]:
    port = proxy_bench.free_port()
    process = subprocess.Popen([
        sys.executable, os.path.abspath(__file__), "--serve", str(out), "--",
        "--port", str(port), "--workers", "1", "--db", str(db),
        "--upstream-openai", upstream + "/v1", "--upstream-anthropic", upstream,
        "--log-level", "warning"])
    url = f"http://127.0.0.1:{port}"
    try:
        proxy_bench.wait_until_up(url + "/healthz", process)
        yield url, process
    finally:
        proxy_bench.stop(process)


def snapshot(out: Path, number: int) -> dict[str, Any]:
    target = Path(f"{out}.{number}")
    Path(f"{target}.want").touch()
    for _ in range(200):
        if target.exists():
            return json.loads(target.read_text())
        time.sleep(0.05)
    raise SystemExit("the proxy wrote no snapshot")


def measure(url: str, pid: int, out: Path, kind: str, warm: float, seconds: float,
            number: int) -> dict[str, Any]:
    salt = f"{os.getpid()}x{number}"
    if warm:
        proxy_bench.wrk(url, script(kind, salt + "w"), 32, warm)
    before, cpu = snapshot(out, 2 * number), proxy_bench.cpu_seconds(pid)
    report = proxy_bench.wrk(url, script(kind, salt), 32, seconds)
    after, cpu = snapshot(out, 2 * number + 1), proxy_bench.cpu_seconds(pid) - cpu
    rate, p50, p99 = proxy_bench.wrk_numbers(report)
    statuses = dict(re.findall(r"^status (\d+) (\d+)$", report, re.M))
    outcomes = dict(re.findall(r"^outcome (\S+) (\d+)$", report, re.M))
    requests = sum(int(v) for v in statuses.values())
    return {"kind": kind, "requests": requests, "rate": rate, "p50": p50, "p99": p99,
            "cpu": cpu, "outcomes": outcomes, "statuses": statuses,
            "cut": int(re.search(r"^cut (\d+)$", report, re.M).group(1)),  # type: ignore[union-attr]
            "before": before, "after": after}


def _diff(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: v - before.get(k, 0) for k, v in after.items()}


def table(results: Sequence[dict[str, Any]]) -> str:
    """Phases x kinds: CPU ms per request of the run (calls per request in brackets)."""
    rows = []
    per: list[tuple[dict[str, float], dict[str, float], dict[str, float], int]] = []
    for r in results:
        cpu = _diff(r["after"]["phases"]["cpu"], r["before"]["phases"]["cpu"])
        calls = _diff(r["after"]["phases"]["calls"], r["before"]["phases"]["calls"])
        threads = _diff(r["after"]["threads"], r["before"]["threads"])
        per.append((cpu, calls, threads, max(r["requests"], 1)))
    rows.append(["requests/s (wrk, c=32)"] + [f"{r['rate']:.0f}" for r in results])
    rows.append(["outcomes"] + [", ".join(f"{k} {v}" for k, v in sorted(r["outcomes"].items()))
                                for r in results])
    rows.append(["**process CPU ms/request**"]
                + [f"**{1000 * r['cpu'] / max(r['requests'], 1):.3f}**" for r in results])
    for role, name in (("loop", "event loop thread"), ("threads", "to_thread workers"),
                       ("other", "other Python threads (linker)"),
                       ("native", "native threads (onnxruntime, ...)")):
        rows.append([name] + [f"{1000 * t.get(role, 0) / n:.3f}" for _, _, t, n in per])
    for label, _, _ in PHASES:
        key = label.strip()
        cells = []
        for cpu, calls, _, n in per:
            where = [w for w in ("loop", "threads") if calls.get(f"{key}|{w}")]
            ms = sum(cpu.get(f"{key}|{w}", 0.0) for w in where) * 1000 / n
            count = sum(calls.get(f"{key}|{w}", 0) for w in where) / n
            tag = "/".join("L" if w == "loop" else "T" for w in where)
            cells.append(f"{ms:.3f} ({count:.2f} {tag})" if count else "-")
        indent = "&nbsp;&nbsp;" if label.startswith("  ") else ""
        rows.append([indent + key] + cells)
    loop_rest = []
    for cpu, _calls, threads, n in per:
        timed = sum(v for k, v in cpu.items()
                    if k.endswith("|loop") and not _nested(k.split("|")[0]))
        loop_rest.append(f"{1000 * (threads.get('loop', 0) - timed) / n:.3f}")
    rows.append(["event loop outside these phases (HTTP server, upstream client, asyncio)"]
                + loop_rest)
    thread_rest = []
    for cpu, _calls, threads, n in per:
        timed = sum(v for k, v in cpu.items()
                    if k.endswith("|threads") and not _nested(k.split("|")[0]))
        thread_rest.append(f"{1000 * (threads.get('threads', 0) - timed) / n:.3f}")
    rows.append(["to_thread workers outside these phases"] + thread_rest)
    return markdown_table(["CPU ms per request"] + [r["kind"] for r in results], rows)


def _nested(key: str) -> bool:
    return any(label.startswith("  ") and label.strip() == key for label, _, _ in PHASES)


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--serve"]:
        serve(argv[1], argv[3:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--size", type=int, default=10000, help="entries in the template")
    parser.add_argument("--templates", type=Path, help="folder of fill-SIZE.db (proxy_bench's)")
    parser.add_argument("--seconds", type=float, default=15.0, help="measured, per kind")
    parser.add_argument("--warm", type=float, default=3.0, help="warm-up, per kind")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed (apt-get install wrk)")
    with tempfile.TemporaryDirectory(prefix="proxy-phases-") as tmp:
        work = Path(tmp)
        template = (args.templates or work) / f"fill-{args.size}.db"
        if not template.exists():
            proxy_bench.filled_db(template, args.size)
        db = work / "phases.db"
        shutil.copy(template, db)
        index = template.with_name(template.name + ".index")
        if index.exists():
            shutil.copy(index, db.with_name(db.name + ".index"))
        load = os.getloadavg()[0]
        results = []
        with proxy_bench.fake_upstream() as upstream, \
                timed_proxy(upstream, db, work / "snap") as (url, process):
            for number, kind in enumerate(args.kinds):
                results.append(measure(url, process.pid, work / "snap", kind, args.warm,
                                       args.seconds, number))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    print(f"One worker, {args.size:,} entries, wrk at concurrency 32, {args.seconds:g} s per "
          f"kind after {args.warm:g} s of warm-up (load average {load:.1f} -> "
          f"{os.getloadavg()[0]:.1f}); cells: CPU ms per request (calls per request, "
          "L = on the event loop, T = in to_thread workers)\n")
    print(table(results))
    bad = [(r["kind"], r["statuses"], r["cut"]) for r in results
           if set(r["statuses"]) != {"200"} or r["cut"]]
    if bad:
        print(f"\nNOT ALL 200 / CUT ANSWERS: {bad}")


if __name__ == "__main__":
    main()
