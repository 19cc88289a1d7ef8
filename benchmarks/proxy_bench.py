"""Benchmark cacheback-proxy in front of the fake upstream, everything over real HTTP on 127.0.0.1.

Prints three tables:

1. exact-hit requests/s and latency at concurrency 1, 16 and 64, for 1 and 2 workers (load
   from ``wrk``, a C load generator: a Python client on the same 2 cores measures itself);
2. latency a miss adds: the same new questions sent alternately straight to the fake upstream
   and through the proxy (one worker), p50 / p99 of each and of the difference; each question
   goes to one namespace (``X-Cacheback-Namespace``) seeded with a few unrelated answers, with
   ``Cache-Control: no-store`` so that no earlier question can become a match: the full miss path
   runs (exact lookup, embedding, a search that finds only unrelated entries) on every request
   (an empty namespace would skip the embedding, which the cache does not compute when there is
   nothing to compare with).
   Then the split: (a) added with the exact tier only, (b) added with the semantic tier too,
   (c) the embedding of each question alone, timed in this process with the same default
   embedder right after (b), and (b) - (c): what the proxy adds besides the embedding;
3. a mixed load from wrk (hits, misses, streams, both APIs, several keys) at concurrency 64 for
   ``--load-seconds``, counting status codes and cut answers; the target is zero 5xx;
5. ``POST /v1/embeddings`` sequentially, one worker: exact hits of 1 and 16 inputs (1536
   dimensions, float and base64) against the same calls straight to the fake upstream;
4. issue 15's mix at concurrency 32 (50% exact repeats, 20% paraphrases, 30% new, 30% streamed)
   for each of ``--workers`` and each database size in ``--sizes`` (10k and 100k entries of
   other tenants, written straight into the store with random vectors before the proxy starts,
   and indexed as a proxy that had been running would have left them: from 20k entries an HNSW
   graph is built once and saved beside the file, which every cell's copy starts from). Besides
   wrk's figures, each row gives the proxy's own CPU time per request (its processes' user +
   system time over the run), which moves far less than requests/s when other jobs share the
   machine; wrk and the fake upstream run on the same cores as the proxy.

Tables 1, 3 and 4 need ``wrk`` (``apt-get install wrk``). Each table states the load average
(1 minute) before and after it: on a shared machine the numbers move with it.

    python benchmarks/proxy_bench.py                      # full run (~6 minutes)
    python benchmarks/proxy_bench.py --tables miss        # only the miss latency (~1 minute)
    python benchmarks/proxy_bench.py --seconds 3 --load-seconds 10 --misses 100   # quick look
    python benchmarks/proxy_bench.py --tables mix --mix-seconds 8 --templates /tmp/mix-dbs
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from bench_common import markdown_table, percentiles_ms

HIT_BODY = {"model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": "What is the capital of France?"}]}
OPENAI_HEADERS = {"authorization": "Bearer sk-bench-key", "content-type": "application/json"}
TABLES = ("hits", "miss", "load", "mix", "embeddings")
FAKE_UPSTREAM = """
import sys, time
from cacheback.testing import FakeUpstream
FakeUpstream(port=int(sys.argv[1])).start()
print("ready", flush=True)
while True:
    time.sleep(3600)
"""
HIT_SCRIPT = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench-key"
"""
MIXED_SCRIPT = r"""
-- Both APIs, a third streamed, four keys; 4 in 5 requests repeat one of 50 questions.
threads = {}
statuses, outcomes, cut, n, tag = {}, {}, 0, 0, "0"

function setup(thread)
  table.insert(threads, thread)
  thread:set("tag", tostring(#threads))
end

function request()
  n = n + 1
  local question = "popular question " .. (n % 50)
  if n % 5 == 0 then question = "one-off question " .. tag .. "-" .. n end
  local stream = (n % 3 == 0) and "true" or "false"
  local key = "sk-load-" .. (n % 4)
  local ask = '"stream":' .. stream .. ',"messages":[{"role":"user","content":"' .. question .. '"}]}'
  if n % 2 == 1 then
    return wrk.format("POST", "/v1/chat/completions",
      {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key},
      '{"model":"gpt-4o-mini",' .. ask)
  end
  return wrk.format("POST", "/v1/messages",
    {["Content-Type"] = "application/json", ["x-api-key"] = key,
     ["anthropic-version"] = "2023-06-01"},
    '{"model":"claude-3-5-haiku-latest","max_tokens":200,' .. ask)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  local outcome = headers["x-cacheback"] or "none"
  outcomes[outcome] = (outcomes[outcome] or 0) + 1
  if status == 200 then
    local whole
    if body:sub(1, 5) == "data:" or body:sub(1, 6) == "event:" then
      whole = body:find("data: [DONE]", 1, true) or body:find('"message_stop"', 1, true)
    else
      whole = body:find("fake upstream's answer", 1, true)
    end
    if not whole then cut = cut + 1 end
  end
end

function done(summary, latency, requests)
  local all_statuses, all_outcomes, all_cut = {}, {}, 0
  for _, thread in ipairs(threads) do
    for k, v in pairs(thread:get("statuses")) do all_statuses[k] = (all_statuses[k] or 0) + v end
    for k, v in pairs(thread:get("outcomes")) do all_outcomes[k] = (all_outcomes[k] or 0) + v end
    all_cut = all_cut + thread:get("cut")
  end
  for k, v in pairs(all_statuses) do io.write(string.format("status %s %d\n", k, v)) end
  for k, v in pairs(all_outcomes) do io.write(string.format("outcome %s %d\n", k, v)) end
  local e = summary.errors
  io.write(string.format("cut %d\ntransport errors %d\n", all_cut,
                         e.connect + e.read + e.write + e.timeout))
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url} exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def wait_for_workers(url: str, workers: int, process: subprocess.Popen[bytes],
                     seconds: float = 120.0) -> None:
    """Wait until every worker is serving (``/stats`` counts a worker once it has published its
    metrics, which it starts doing after its start-up). ``/healthz`` answers as soon as one
    worker is ready; a load opened before the others are (wrk's keep-alive connections, all at
    once) would be accepted by that one worker alone and the cell would measure one worker: at
    100k entries a worker takes a few seconds to load its index, and did (h24perf)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url} exited with {process.returncode}")
        try:
            if httpx.get(url + "/stats", timeout=5.0).json().get("workers_reporting", 0) >= workers:
                return
        except (httpx.TransportError, ValueError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url}: not all {workers} workers came up")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def fake_upstream() -> Iterator[str]:
    """The fake upstream in its own process; yields its origin."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", FAKE_UPSTREAM, str(port)])
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url + "/", process)
        yield url
    finally:
        process.kill()
        process.wait()


@contextmanager
def proxy_process(upstream: str, workers: int, db: Path, *extra: str
                  ) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``python -m cacheback.proxy`` in front of ``upstream``; yields its origin and process."""
    port = free_port()
    process = subprocess.Popen([
        sys.executable, "-m", "cacheback.proxy", "--port", str(port), "--workers", str(workers),
        "--db", str(db), "--upstream-openai", upstream + "/v1", "--upstream-anthropic", upstream,
        "--log-level", "warning", *extra])
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url + "/healthz", process)
        if workers > 1:
            wait_for_workers(url, workers, process)
        yield url, process
    finally:
        stop(process)


@contextmanager
def proxy(upstream: str, workers: int, db: Path, *extra: str) -> Iterator[str]:
    """``python -m cacheback.proxy`` in front of ``upstream``; yields its origin."""
    with proxy_process(upstream, workers, db, *extra) as (url, _):
        yield url


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its live children (the workers), from /proc;
    0 where /proc is missing."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0.0
    children = Path(f"/proc/{pid}/task/{pid}/children")
    pids = [pid] + ([int(p) for p in children.read_text().split()] if children.exists() else [])
    for one in pids:
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


# ---------------------------------------------------------------- 1. exact hits


def prime_hit(url: str) -> None:
    """Store the benchmark question, then wait until it is served as an exact hit."""
    for _ in range(200):
        answer = httpx.post(url + "/v1/chat/completions", json=HIT_BODY, headers=OPENAI_HEADERS)
        if answer.headers.get("x-cacheback") == "hit":
            return
        time.sleep(0.05)
    raise SystemExit("the benchmark question never became a hit")


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise SystemExit(f"cannot read wrk latency {text!r}")
    value, unit = match.groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def wrk(url: str, script: str, concurrency: int, seconds: float) -> str:
    """wrk's report for ``script`` against ``url``: 2 threads (1 for one connection), 30 s timeout."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        return subprocess.run(
            ["wrk", f"-t{min(concurrency, 2)}", f"-c{concurrency}", f"-d{seconds:g}s", "--latency",
             "--timeout", "30s", "-s", handle.name, url],
            capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(handle.name)


def wrk_numbers(report: str) -> tuple[float, float, float]:
    """(requests/s, p50 ms, p99 ms) from a wrk report."""
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", report).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)\s*$", report, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)\s*$", report, re.M).group(1))  # type: ignore[union-attr]
    return rate, p50, p99


def hit_table(upstream: str, workdir: Path, workers: Sequence[int], seconds: float) -> str:
    load = os.getloadavg()[0]
    script = HIT_SCRIPT.format(body=json.dumps(json.dumps(HIT_BODY)))
    rows = []
    for count in workers:
        with proxy(upstream, count, workdir / f"hits-{count}.db") as url:
            prime_hit(url)
            for concurrency in (1, 16, 64):
                report = wrk(url + "/v1/chat/completions", script, concurrency, seconds)
                bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", report)
                rows.append([count, concurrency, *wrk_numbers(report), int(bad.group(1)) if bad else 0])
    for row in rows:
        row[2] = round(row[2])
    return (f"Exact hits, POST /v1/chat/completions (JSON), {seconds:g} s per row, load from wrk "
            f"(load average {load:.1f} -> {os.getloadavg()[0]:.1f})\n\n"
            + markdown_table(["workers", "concurrency", "requests/s", "p50 ms", "p99 ms", "non-2xx"],
                             rows))


# ---------------------------------------------------------------- 2. latency added on a miss


@dataclass
class MissSamples:
    """Seconds per question: straight to the fake upstream, through the proxy, and (semantic
    row) the embedding of the same question alone."""

    direct: list[float] = field(default_factory=list)
    proxied: list[float] = field(default_factory=list)
    embed: list[float] = field(default_factory=list)

    def added(self) -> list[float]:
        return [p - d for p, d in zip(self.proxied, self.direct)]

    def beyond_embedding(self) -> list[float]:
        return [a - e for a, e in zip(self.added(), self.embed)]


_SEED_QUESTIONS = (
    "How do I bake sourdough bread at home?", "Which houseplants need little light?",
    "What is the offside rule in football?", "How long should I boil an egg?",
    "Where can I see the northern lights in Europe?", "How do I change a bicycle tyre?",
)


def miss_samples(upstream: str, workdir: Path, samples: int, semantic: bool) -> MissSamples:
    """Each new question goes straight to the fake upstream, then through the proxy, then (with
    the semantic tier) through the same default embedder in this process, so (c) is measured
    on the same text in the same second as (b)."""
    embedder = None
    if semantic:
        from cacheback.embed import default_embedder

        embedder = default_embedder()
        embedder.embed("warm up the model")
    flags = () if semantic else ("--no-semantic",)
    out = MissSamples()
    run = f"{time.time():.0f}"
    namespace = {"x-cacheback-namespace": f"miss-{run}"}
    with proxy(upstream, 1, workdir / f"miss{'-'.join(flags)}.db", *flags) as url:
        with httpx.Client(timeout=30) as client:
            for seed in _SEED_QUESTIONS:
                body = {**HIT_BODY, "messages": [{"role": "user", "content": seed}]}
                client.post(url + "/v1/chat/completions", json=body,
                            headers={**OPENAI_HEADERS, **namespace})
            time.sleep(0.5)  # the seeds are stored after their answers were sent
            for i in range(samples + 20):
                question = f"What is new in release {i} of project {run}?"
                body = {**HIT_BODY, "messages": [{"role": "user", "content": question}]}
                headers = {**OPENAI_HEADERS, **namespace, "cache-control": "no-store"}
                timings = []
                for target in (upstream, url):
                    started = time.perf_counter()
                    answer = client.post(target + "/v1/chat/completions", json=body,
                                         headers=headers)
                    timings.append(time.perf_counter() - started)
                    if target == url and answer.headers.get("x-cacheback") != "miss":
                        raise SystemExit(f"expected a miss, got {answer.headers.get('x-cacheback')}")
                if embedder is not None:
                    started = time.perf_counter()
                    embedder.embed(question)
                    timings.append(time.perf_counter() - started)
                if i >= 20:
                    out.direct.append(timings[0])
                    out.proxied.append(timings[1])
                    out.embed.extend(timings[2:])
                time.sleep(0.005)
    return out


def _p50_p99(seconds: Sequence[float]) -> list[float]:
    p50, p99, _ = percentiles_ms(seconds)
    return [p50, p99]


def miss_table(upstream: str, workdir: Path, samples: int) -> str:
    load = os.getloadavg()[0]
    exact = miss_samples(upstream, workdir, samples, semantic=False)
    semantic = miss_samples(upstream, workdir, samples, semantic=True)
    rows = []
    for name, run in (("exact only (--no-semantic)", exact), ("exact + semantic (default)", semantic)):
        d50, d99 = _p50_p99(run.direct)
        p50, p99 = _p50_p99(run.proxied)
        rows.append([name, samples, d50, d99, p50, p99, p50 - d50, p99 - d99,
                     *_p50_p99(run.added())])
    split = [
        ["(a) added by the proxy, exact tier only", *_p50_p99(exact.added())],
        ["(b) added by the proxy, exact + semantic tiers", *_p50_p99(semantic.added())],
        ["(c) embedding the question alone (MiniLM, same run)", *_p50_p99(semantic.embed)],
        ["(b) - (c) per question: the proxy's own share with the semantic tier",
         *_p50_p99(semantic.beyond_embedding())],
    ]
    return ("Latency a miss adds, 1 worker, sequential new questions (JSON), direct and proxied "
            f"requests interleaved (load average {load:.1f} -> {os.getloadavg()[0]:.1f})\n\n"
            + markdown_table(["tiers", "requests", "direct p50", "direct p99", "proxy p50",
                              "proxy p99", "added p50", "added p99", "paired added p50",
                              "paired added p99"], rows)
            + "\n(ms; 'added' = proxy percentile - direct percentile; 'paired' = percentiles of "
              "the per-question differences)\n\n"
            + markdown_table(["per question, paired", "p50 ms", "p99 ms"], split))


# ---------------------------------------------------------------- 3. sustained mixed load


def load_row(upstream: str, workdir: Path, seconds: float, workers: int, *flags: str
             ) -> list[object]:
    with proxy(upstream, workers, workdir / f"load{'-'.join(flags)}.db", *flags) as url:
        report = wrk(url, MIXED_SCRIPT, 64, seconds)
        errors = httpx.get(url + "/stats").json()["errors"]
    rate, p50, p99 = wrk_numbers(report)
    counts = dict(re.findall(r"^(status \d+|outcome \S+|cut|transport errors) (\d+)$", report, re.M))
    statuses = {k.split()[1]: int(v) for k, v in counts.items() if k.startswith("status")}
    outcomes = ", ".join(f"{k.split()[1]} {v}" for k, v in sorted(counts.items())
                         if k.startswith("outcome"))
    return ["exact only" if flags else "exact + semantic", workers, 64, f"{seconds:g}",
            sum(statuses.values()), round(rate), p50, p99,
            sum(n for code, n in statuses.items() if code.startswith("5")),
            int(counts["transport errors"]), int(counts["cut"]), outcomes, errors or "none"]


def load_table(upstream: str, workdir: Path, seconds: float, workers: int) -> str:
    load = os.getloadavg()[0]
    rows = [load_row(upstream, workdir, seconds, workers, "--no-semantic"),
            load_row(upstream, workdir, seconds, workers)]
    return ("Mixed load from wrk: both APIs, 1/3 streamed, 4 keys, 4 in 5 requests repeat one of "
            f"50 questions (load average {load:.1f} -> {os.getloadavg()[0]:.1f})\n\n"
            + markdown_table(["tiers", "workers", "concurrency", "seconds", "requests", "requests/s",
                              "p50 ms", "p99 ms", "5xx", "transport errors", "cut answers",
                              "X-Cacheback", "proxy errors"], rows))


# ---------------------------------------------------------------- 4. the issue-15 mix at size

ISSUE_MIX_SCRIPT = ("""
-- Per 10 requests: 5 exact repeats of one of 50 questions, 2 paraphrases of them, 3 new
-- questions; 3 of 10 streamed; the APIs alternate every 10 requests; one key.
""" + MIXED_SCRIPT[MIXED_SCRIPT.index("threads = {}"):MIXED_SCRIPT.index("function request")] + r"""
function request()
  n = n + 1
  local slot, k = n % 10, (n * 7) % 50
  local question = "how do I reset the password on my account, case " .. k
  if slot == 5 or slot == 6 then
    question = "what are the steps to reset my account password, case " .. k
  elseif slot >= 7 then
    question = "a new question " .. tag .. "-" .. n .. " about invoice " .. (n * 31)
  end
  local stream = (slot == 2 or slot == 5 or slot == 8) and "true" or "false"
  local ask = '"stream":' .. stream .. ',"messages":[{"role":"user","content":"' .. question .. '"}]}'
  if math.floor(n / 10) % 2 == 0 then
    return wrk.format("POST", "/v1/chat/completions",
      {["Content-Type"] = "application/json", ["Authorization"] = "Bearer sk-mix"},
      '{"model":"gpt-4o-mini",' .. ask)
  end
  return wrk.format("POST", "/v1/messages",
    {["Content-Type"] = "application/json", ["x-api-key"] = "sk-mix",
     ["anthropic-version"] = "2023-06-01"},
    '{"model":"claude-3-5-haiku-latest","max_tokens":200,' .. ask)
end
""" + MIXED_SCRIPT[MIXED_SCRIPT.index("function response"):])


def filled_db(path: Path, entries: int) -> None:
    """A database holding ``entries`` answers of 16 other tenants (random unit vectors): the
    database, its index and the tenants' share of it grow as a busy proxy's would."""
    import numpy as np

    from cacheback._normalize import normalise_query, query_hash
    from cacheback.embed import OnnxMiniLMEmbedder
    from cacheback.storage import NewEntry, SQLiteStorage

    rng = np.random.default_rng(entries)
    storage = SQLiteStorage(path)
    now = time.time()
    for begin in range(0, entries, 5000):
        block = rng.standard_normal((min(5000, entries - begin), 384)).astype(np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        with storage.transaction():
            for offset, vector in enumerate(block):
                i = begin + offset
                query = f"stored question {i} about order {rng.integers(1 << 30)}"
                norm = normalise_query(query)
                storage.put(NewEntry(
                    namespace=f"key:fill{i % 16:02d}", scope_key="", query_hash=query_hash(norm),
                    norm_query=norm, query=query, response=f"stored answer {i}", payload=None,
                    embedding=vector, embed_model=OnnxMiniLMEmbedder.name, created=now,
                    expires=None, metadata=None))
    storage.checkpoint()
    storage.close()
    settle_index(path)


def settle_index(path: Path) -> None:
    """Bring the index beside ``path`` to the state a proxy that has been running would leave:
    an HNSW graph (from 20k entries) built, its link buffer linked, and saved, so that each cell
    measures serving rather than the one-off build and linking a cold start on a large file
    runs in the background (16k rows of linking: about a minute of one core at 100k).

    Templates made before the links were saved (``python -c "from cacheback import
    SemanticCache as C; c = C('fill-100000.db'); c.load_index(); c._vectors.wait_for_links();
    c.close()"`` brings one up to date; 4982947 and earlier saved the index with 16k rows
    unlinked)."""
    from cacheback import SemanticCache

    with SemanticCache(path) as cache:
        if hasattr(cache, "load_index"):
            cache.load_index()
        else:  # the proxy as it was before load_index (a before/after run)
            cache.candidates("settle the index", namespace="key:bench-settle", k=1)
        cache._vectors.wait_for_build()
        if hasattr(cache._vectors, "wait_for_links"):
            cache._vectors.wait_for_links()


def mix_table(upstream: str, workdir: Path, seconds: float, workers: Sequence[int],
              sizes: Sequence[int], templates: Path | None = None) -> str:
    load = os.getloadavg()[0]
    rows = []
    for size in sizes:
        template = (templates or workdir) / f"fill-{size}.db"
        if not template.exists():
            filled_db(template, size)
        for count in workers:
            db = workdir / f"mix-{size}-{count}.db"
            shutil.copy(template, db)
            index = template.with_name(template.name + ".index")
            if index.exists():
                shutil.copy(index, db.with_name(db.name + ".index"))
            with proxy_process(upstream, count, db) as (url, process):
                cpu = cpu_seconds(process.pid)
                report = wrk(url, ISSUE_MIX_SCRIPT, 32, seconds)
                cpu = cpu_seconds(process.pid) - cpu
            rate, p50, p99 = wrk_numbers(report)
            counts = dict(re.findall(r"^(status \d+|outcome \S+|cut|transport errors) (\d+)$",
                                     report, re.M))
            statuses = {k.split()[1]: int(v) for k, v in counts.items() if k.startswith("status")}
            outcomes = ", ".join(f"{k.split()[1]} {v}" for k, v in sorted(counts.items())
                                 if k.startswith("outcome"))
            requests = sum(statuses.values())
            rows.append([f"{size:,}", count, f"{seconds:g}", requests, round(rate),
                         p50, p99, round(1000 * cpu / max(requests, 1), 2),
                         sum(n for c, n in statuses.items() if c.startswith("5")),
                         int(counts["cut"]), outcomes])
    return ("Issue-15 mix from wrk at concurrency 32, exact + semantic tiers: 50% exact repeats, "
            "20% paraphrases, 30% new, 30% streamed, both APIs; the database pre-filled with other "
            f"tenants' entries, index built (load average {load:.1f} -> "
            f"{os.getloadavg()[0]:.1f}); wrk and the fake upstream run on the same cores\n\n"
            + markdown_table(["entries", "workers", "seconds", "requests", "requests/s", "p50 ms",
                              "p99 ms", "proxy CPU ms/request", "5xx", "cut answers",
                              "X-Cacheback"], rows)
            + "\n(proxy CPU: user + system seconds of the proxy and its workers during the run, "
              "per request: what the proxy itself costs, whatever else shares the machine)")


# ---------------------------------------------------------------- 5. embeddings


def embeddings_table(upstream: str, workdir: Path, samples: int) -> str:
    """Sequential embeddings calls over one keep-alive connection: proxy hits against the
    fake upstream answering the same request itself."""
    texts = [f"embedding benchmark text number {i}" for i in range(16)]
    cases = [("1 input, float", {"input": texts[0]}),
             ("16 inputs, float", {"input": texts}),
             ("16 inputs, base64", {"input": texts, "encoding_format": "base64"})]
    rows = []
    with proxy(upstream, 1, workdir / "embeddings.db") as url, httpx.Client() as http:
        before = os.getloadavg()[0]
        for name, extra in cases:
            body = {"model": "text-embedding-3-small", **extra}
            http.post(url + "/v1/embeddings", json=body, headers=OPENAI_HEADERS)
            timings: dict[str, list[float]] = {"proxy": [], "upstream": []}
            outcomes: set[str] = set()
            for _ in range(samples):
                for where, base in (("proxy", url), ("upstream", upstream)):
                    start = time.perf_counter()
                    answer = http.post(base + "/v1/embeddings", json=body, headers=OPENAI_HEADERS)
                    timings[where].append(time.perf_counter() - start)
                    if where == "proxy":
                        outcomes.add(answer.headers.get("x-cacheback", "none"))
            rows.append([name, samples, ",".join(sorted(outcomes)),
                         *_p50_p99(timings["proxy"]), *_p50_p99(timings["upstream"])])
        after = os.getloadavg()[0]
    return (f"## /v1/embeddings through the proxy, exact hits, 1 worker (load {before:.1f} -> "
            f"{after:.1f})\n\n" + markdown_table(
                ["request", "n", "proxy outcome", "proxy p50 ms", "proxy p99 ms",
                 "fake upstream p50 ms", "fake upstream p99 ms"], rows))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per throughput cell")
    parser.add_argument("--misses", type=int, default=400, help="miss latency samples per row")
    parser.add_argument("--load-seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--mix-seconds", type=float, default=30.0, help="per issue-15 mix cell")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000],
                        help="database sizes of the issue-15 mix table")
    parser.add_argument("--templates", type=Path,
                        help="keep the pre-filled databases of the issue-15 mix here and reuse "
                             "them (filling and indexing 100k entries takes minutes)")
    parser.add_argument("--tables", nargs="+", choices=TABLES, default=list(TABLES),
                        help="which tables to print (default: all)")
    args = parser.parse_args(argv)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start",
          flush=True)
    with tempfile.TemporaryDirectory(prefix="proxy-bench-") as tmp, fake_upstream() as upstream:
        workdir = Path(tmp)
        has_wrk = shutil.which("wrk") is not None
        if not has_wrk and {"hits", "load"} & set(args.tables):
            print("\nwrk is not installed (apt-get install wrk): no throughput or load tables")
        if has_wrk and "hits" in args.tables:
            print("\n" + hit_table(upstream, workdir, args.workers, args.seconds), flush=True)
        if "miss" in args.tables:
            print("\n" + miss_table(upstream, workdir, args.misses), flush=True)
        if has_wrk and "load" in args.tables:
            print("\n" + load_table(upstream, workdir, args.load_seconds, max(args.workers)),
                  flush=True)
        if "embeddings" in args.tables:
            print("\n" + embeddings_table(upstream, workdir, min(args.misses, 200)), flush=True)
        if has_wrk and "mix" in args.tables:
            print("\n" + mix_table(upstream, workdir, args.mix_seconds, args.workers, args.sizes,
                                    args.templates), flush=True)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
