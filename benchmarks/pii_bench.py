"""PII guard: detection recall per kind on generated data, false positives on ordinary
questions, and the latency the scan adds to a cache hit. Prints markdown tables (docs/pii.md).

    PYTHONPATH=$PWD python benchmarks/pii_bench.py [--per-kind 1000] [--section all]

Needs Faker (dev extra); names use spaCy NER when the [pii] extra is installed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import markdown_table, shared_data_dir  # noqa: E402
from pii_data import LOCALES, bitext_named, generate, ordinary_questions  # noqa: E402

from cacheback import SemanticCache  # noqa: E402
from cacheback.pii import KINDS, Scanner, ner_status  # noqa: E402


def recall(per_kind: int, scanner: Scanner) -> None:
    rows = []
    locale_rows = []
    for kind in KINDS:
        samples = generate(kind, per_kind, seed=1)
        same = anyk = 0
        by_locale: Counter[str] = Counter()
        for _, question, a, b, locale in samples:
            found = scanner.scan(question)
            overlap = [f for f in found if f.start < b and f.end > a]
            same += any(f.kind == kind for f in overlap)
            anyk += bool(found)
            by_locale[locale] += any(f.kind == kind for f in overlap)
        n = len(samples)
        target = 0.85 if kind in ("name", "address") else 0.98
        rows.append([kind, n, f"{same / n:.3f}", f"{anyk / n:.3f}", f"{target:.2f}"])
        per = n // len(LOCALES)
        locale_rows.append([kind, *(f"{by_locale[loc] / per:.2f}" for loc in LOCALES)])
    rules = Scanner(ner=False)
    samples = generate("name", per_kind, seed=1)
    alone = sum(any(f.kind == "name" and f.start < b and f.end > a for f in rules.scan(q))
                for _, q, a, b, _ in samples)
    rows.append(["name, rules only (no NER)", len(samples), f"{alone / len(samples):.3f}", "-", "-"])
    print("\n### Recall on generated questions (Faker, 7 locales)\n")
    print(markdown_table(["kind", "samples", "recall (right kind)", "flagged (bypassed)", "target"],
                         rows))
    print("\n### Recall by locale\n")
    print(markdown_table(["kind", *LOCALES], locale_rows))


def false_positives(scanner: Scanner, root: Path) -> None:
    rows = []
    for name, questions in ordinary_questions(root).items():
        kinds: Counter[str] = Counter()
        flagged = 0
        runs = scanner.ner_runs
        for q in questions:
            found = scanner.scan(q)
            flagged += bool(found)
            kinds.update({f.kind for f in found})
        detail = ", ".join(f"{k} {n}" for k, n in kinds.most_common()) or "-"
        rows.append([name, len(questions), flagged, f"{flagged / len(questions):.2%}", detail,
                     f"{(scanner.ner_runs - runs) / len(questions):.1%}"])
    named = bitext_named(root)
    caught = sum(bool(scanner.scan(q)) for q in named)
    print("\n### Ordinary questions treated as personal\n")
    print(markdown_table(["data set", "questions", "flagged", "share", "by kind", "NER ran on"], rows))
    print(f"\nbitext questions that do name a person (\"bill from Mr. Jones\", left out above): "
          f"{caught} of {len(named)} flagged")


def _p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1e3


def latency(root: Path) -> None:
    data = ordinary_questions(root)
    questions = data["banking77"][:2000] + data["clinc150"][:2000] + data["bitext"][:1000]
    rows = []
    for label, scanner in (("rules only (no NER)", Scanner(ner=False)), ("with spaCy NER", Scanner())):
        for q in questions[:50]:
            scanner.scan(q)  # warm: regexes, the model
        times, ner_times = [], []
        for q in questions:
            runs = scanner.ner_runs
            t = time.perf_counter()
            scanner.scan(q)
            dt = time.perf_counter() - t
            times.append(dt)
            if scanner.ner_runs > runs:
                ner_times.append(dt)
        rows.append([label, len(times), f"{_p(times, 0.5):.3f}", f"{_p(times, 0.95):.3f}",
                     f"{statistics.mean(times) * 1e3:.3f}",
                     f"{len(ner_times) / len(times):.1%}",
                     f"{_p(ner_times, 0.5):.2f}" if ner_times else "-"])
    print("\n### Scan time per question (ms)\n")
    print(markdown_table(["scanner", "questions", "p50", "p95", "mean", "NER ran on",
                          "p50 when NER ran"], rows))
    # What the guard adds to an exact hit: the same hits with pii="off" and pii="bypass".
    hit_rows = []
    hits = questions[:1000]
    with tempfile.TemporaryDirectory() as tmp:
        for mode, scanner in (("off", None), ("bypass, rules only", Scanner(ner=False)),
                              ("bypass, with NER", Scanner())):
            with SemanticCache(Path(tmp) / f"{len(hit_rows)}.db", embedder=None, pii="off",
                               pii_scanner=scanner) as cache:
                for q in hits:
                    cache.put(q, "answer", pii="off")
                call_mode = "off" if scanner is None else "bypass"
                for q in hits[:50]:
                    cache.get(q, pii=call_mode)
                times = []
                for _ in range(3):
                    for q in hits:
                        t = time.perf_counter()
                        hit = cache.get(q, pii=call_mode)
                        times.append(time.perf_counter() - t)
                        assert hit is not None or call_mode != "off"
                hit_rows.append([mode, len(times), f"{_p(times, 0.5):.3f}", f"{_p(times, 0.95):.3f}"])
    # The clients' and the proxy's screening: the question plus a 10 kB system prompt (the
    # demo's), remembered by digest after the first call.
    from cacheback._clients._pii import screened
    from cacheback._clients._policy import Plan
    from cacheback.demo._data import load_support_set
    from cacheback.demo._run import system_prompt

    prompt = system_prompt(load_support_set())
    with SemanticCache(":memory:", embedder=None, pii_scanner=Scanner(ner=False)) as cache:
        times = []
        for q in hits:
            body = {"messages": [{"role": "system", "content": prompt}, {"role": "user", "content": q}]}
            t = time.perf_counter()
            screened(cache, Plan(q), body, None)
            times.append(time.perf_counter() - t)
    print(f"\nclient/proxy screening with the demo's {len(prompt):,}-character system prompt, "
          f"rules only: p50 {_p(times, 0.5):.3f} ms, p95 {_p(times, 0.95):.3f} ms")
    base = float(hit_rows[0][2])
    for row in hit_rows:
        row.append(f"{float(row[2]) - base:+.3f}")
    print("\n### Exact-tier hit latency, SemanticCache.get (ms)\n")
    print(markdown_table(["pii", "gets", "p50", "p95", "added p50"], hit_rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--per-kind", type=int, default=1050)
    parser.add_argument("--section", choices=("all", "recall", "fp", "latency"), default="all")
    args = parser.parse_args()
    root = shared_data_dir()
    ner, how = ner_status()
    print(f"NER: {how}" if ner else f"NER off: {how}")
    scanner = Scanner()
    if args.section in ("all", "recall"):
        recall(args.per_kind, scanner)
    if args.section in ("all", "fp"):
        false_positives(scanner, root)
    if args.section in ("all", "latency"):
        latency(root)


if __name__ == "__main__":
    main()
