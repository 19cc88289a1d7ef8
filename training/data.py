"""Training pairs for the verifier, built from the shared development data only.

The verifier only ever sees pairs that already passed the cosine gate, so that is what it is
trained on. For every stream of ``benchmarks/match_data.py`` that searches a cache (BANKING77,
CLINC150, bitext, GPTCache mock) half the utterances are stored and the rest asked; each asked
query is paired with its nearest stored utterances by MiniLM cosine (cacheback's own embedder)
above ``FLOOR``, labelled by the stream's own rule (same intent; bitext: same intent and same
order id / name / account value; GPTCache: the query's own origin). Most positives are then
ordinary paraphrases at high cosine, and the negatives are the near misses a cache really meets.
fow-cache contributes its labelled pairs; PAWS, SNLI and STS-B their labels (SNLI: entailment is
positive only in the direction given, neutral and contradiction negative; STS-B: score >= 4).
Rule-made traps (``traps.py``) and harmless rewrites are made from intent-set questions.

Each data set is capped or repeated to a similar weight, every pair except SNLI entailment is
used in both orders, and a few percent of each set (whole queries) is kept aside as the dev split
whose AUC the training log reports. Every row says which data set and group it came from, so
``--exclude-group`` can drop a group together with the traps derived from it.

    PYTHONPATH=$PWD python training/data.py --out /work/artifacts/verifier/pairs.jsonl --per-set 2500
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "benchmarks"), str(Path(__file__).resolve().parent)]

from match_data import Stream, load_stream, shared_data_dir  # noqa: E402
from traps import make_repeats, make_traps  # noqa: E402

__all__ = ["GROUPS", "group_of", "build", "candidate_pairs"]

GROUPS = {
    "G1": ("banking77", "bitext"),
    "G2": ("clinc150", "gptcache-mock", "stsb"),
    "G3": ("fow-cache", "paws", "snli"),
}
FLOOR = 0.5
TOP_K = 3
SEED = 16


def group_of(dataset: str) -> str:
    base = dataset.split(":")[0]
    for group, members in GROUPS.items():
        if base in members:
            return group
    raise KeyError(dataset)


def _row(a: str, b: str, label: int, dataset: str, cos: float | None = None, kind: str = "natural",
         key: str | None = None) -> dict:
    return {"a": a, "b": b, "label": int(label), "set": dataset, "group": group_of(dataset),
            "cos": None if cos is None else round(float(cos), 4), "kind": kind, "key": key or a}


def candidate_pairs(stream: Stream, top_k: int = TOP_K, floor: float = FLOOR) -> list[dict]:
    """Each query with its ``top_k`` nearest stored texts whose cosine is at least ``floor``."""
    assert stream.stored_vectors is not None and stream.query_vectors is not None
    rows = []
    stored = stream.stored_vectors
    for start in range(0, len(stream.queries), 512):
        sims = stream.query_vectors[start:start + 512] @ stored.T
        top = np.argpartition(-sims, top_k, axis=1)[:, :top_k]
        for r, cands in enumerate(top):
            i = start + r
            for j in sorted(cands, key=lambda c: -sims[r, c]):
                if sims[r, j] >= floor:
                    rows.append(_row(stream.queries[i], stream.stored[j], stream.right(i, int(j)),
                                     stream.name, sims[r, j]))
    return rows


def _jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _general_pairs(data: Path) -> dict[str, list[dict]]:
    pairs = data / "pairs"
    out: dict[str, list[dict]] = {"paws": [], "snli": [], "stsb": []}
    for r in _jsonl(pairs / "paws_wiki.jsonl"):
        out["paws"].append(_row(r["a"], r["b"], r["label"], "paws"))
    for r in _jsonl(pairs / "snli.jsonl"):
        row = _row(r["a"], r["b"], r["nli"] == "entailment", "snli")
        row["one_way"] = r["nli"] == "entailment"
        out["snli"].append(row)
    for r in _jsonl(pairs / "stsb.jsonl"):
        out["stsb"].append(_row(r["a"], r["b"], r["score"] >= 4.0, "stsb"))
    return out


def _fow(data: Path) -> list[dict]:
    return [_row(r["a"], r["b"], r["same_answer"], "fow-cache", kind=r["category"])
            for r in _jsonl(data / "fow-cache" / "pairs_dev.jsonl")]


def _is_dev(key: str, share: float) -> bool:
    return int(hashlib.sha1(key.encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF < share


def build(per_set: int, dev_share: float = 0.04, seed: int = SEED, data: Path | None = None) -> list[dict]:
    """Every training and dev row (``split`` = train / dev), both orders where symmetric."""
    data = data or shared_data_dir()
    rng = random.Random(seed)
    natural: dict[str, list[dict]] = {}
    intent_texts: dict[str, list[str]] = {}
    for name in ("banking77", "clinc150", "bitext", "gptcache-mock"):
        stream = load_stream(name, data)
        natural[name] = candidate_pairs(stream)
        if name != "gptcache-mock":
            intent_texts[name] = stream.stored
    natural["fow-cache"] = _fow(data)
    natural.update(_general_pairs(data))

    rows: list[dict] = []
    for items in natural.values():
        rng.shuffle(items)
        take = items[:per_set]
        if len(take) < per_set // 2:
            take = take * max(1, min(4, (per_set // 2) // max(1, len(take))))
        rows += take
    for name, texts in intent_texts.items():
        per_rule = per_set // 10
        for a, b, rule in make_traps(texts, rng, per_rule):
            rows.append(_row(a, b, 0, name, kind=f"trap:{rule}", key=a))
        for a, b, rule in make_repeats(texts, rng, per_rule * 2):
            rows.append(_row(a, b, 1, name, kind=rule, key=a))

    out = []
    for r in rows:
        r["split"] = "dev" if _is_dev(r["key"], dev_share) else "train"
        out.append(r)
        if not r.get("one_way"):
            out.append({**r, "a": r["b"], "b": r["a"]})
    rng.shuffle(out)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--per-set", type=int, default=4000, help="natural pairs kept per data set")
    args = ap.parse_args()
    rows = build(args.per_set)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    counts = Counter((r["set"], r["split"], r["label"]) for r in rows)
    kinds = Counter((r["set"], r["kind"]) for r in rows if r["kind"] != "natural")
    for key in sorted(counts):
        print(*key, counts[key], sep="\t")
    for key in sorted(kinds):
        print(*key, kinds[key], sep="\t")
    print("total", len(rows))


if __name__ == "__main__":
    main()
