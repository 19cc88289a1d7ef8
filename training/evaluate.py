"""Quick held-out check of a verifier: on the natural pairs of data sets it was trained without,
how well does its int8 logit rank same-question pairs above different-question pairs, against
plain MiniLM cosine? fow-cache (when held out) also gets its trap pass rates per category.

This is the model card's sanity table, not the product's evaluation (h16match's
leave-one-dataset-out decides what ships): it ranks pairs, it does not calibrate or serve.

    PYTHONPATH=$PWD python training/evaluate.py --model /work/artifacts/verifier/no_G3.onnx \\
        --pairs /work/artifacts/verifier/pairs.jsonl --sets fow-cache paws snli
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pairs import PairTokenizer  # noqa: E402

__all__ = ["auc", "natural_pairs"]


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (ties count half)."""
    labels = np.asarray(labels, dtype=bool)
    scores = np.asarray(scores, dtype=float)
    pos, neg = scores[labels], scores[~labels]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    allv = np.concatenate([pos, neg])
    order = allv.argsort(kind="mergesort")
    ranks = np.empty(len(allv))
    ranks[order] = np.arange(1, len(allv) + 1)
    for v in np.unique(allv):
        tie = allv == v
        if tie.sum() > 1:
            ranks[tie] = ranks[tie].mean()
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def natural_pairs(path: Path, dataset: str, cap: int) -> list[dict]:
    """One order of each natural (not rule-made) pair of ``dataset``, at most ``cap``, seeded."""
    seen, out = set(), []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            if r["set"] != dataset or r["kind"].startswith("trap:") or r["kind"] == "repeat":
                continue
            key = frozenset((r["a"], r["b"]))
            if key in seen:
                continue
            seen.add(key)
            out.append(r)
    rng = np.random.default_rng(16)
    idx = rng.permutation(len(out))[:cap]
    return [out[i] for i in sorted(idx)]


def logits(model: Path, rows: list[dict], max_length: int) -> np.ndarray:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])
    tok = PairTokenizer(max_length)
    out = []
    for s in range(0, len(rows), 64):
        chunk = rows[s:s + 64]
        out.append(sess.run(["logits"], tok([r["a"] for r in chunk], [r["b"] for r in chunk]))[0][:, 0])
    return np.concatenate(out)


def cosines(rows: list[dict]) -> np.ndarray:
    from cacheback.embed import default_embedder

    missing = sorted({t for r in rows if r["cos"] is None for t in (r["a"], r["b"])})
    vec = {}
    if missing:
        emb = default_embedder()
        for s in range(0, len(missing), 256):
            for t, v in zip(missing[s:s + 256], emb.embed_batch(missing[s:s + 256])):
                vec[t] = v
    return np.array([r["cos"] if r["cos"] is not None else float(vec[r["a"]] @ vec[r["b"]]) for r in rows])


def _at_recall(labels: np.ndarray, scores: np.ndarray, recall: float) -> tuple[float, float]:
    """The threshold keeping ``recall`` of the positives, and the precision there."""
    thr = float(np.quantile(scores[labels], 1 - recall))
    served = scores >= thr
    return thr, float(labels[served].mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--pairs", type=Path, required=True)
    ap.add_argument("--sets", nargs="+", required=True)
    ap.add_argument("--cap", type=int, default=1500)
    ap.add_argument("--out", type=Path, help="append the result as one json line")
    args = ap.parse_args()
    meta = json.loads(args.model.with_suffix(".json").read_text("utf-8"))
    results = []
    for dataset in args.sets:
        rows = natural_pairs(args.pairs, dataset, args.cap)
        labels = np.array([bool(r["label"]) for r in rows])
        v = logits(args.model, rows, meta["max_length"])
        c = cosines(rows)
        both = (np.argsort(np.argsort(v)) + np.argsort(np.argsort(c))) / 2
        res = {"model": args.model.name, "set": dataset, "pairs": len(rows), "positives": int(labels.sum()),
               "auc_verifier": round(auc(labels, v), 4), "auc_cosine": round(auc(labels, c), 4),
               "auc_rank_mean": round(auc(labels, both), 4)}
        for name, s in (("verifier", v), ("cosine", c)):
            res[f"precision_at_recall_0.4_{name}"] = round(_at_recall(labels, s, 0.4)[1], 4)
        if dataset == "fow-cache":
            kinds = np.array([r["kind"] for r in rows])
            for name, s in (("verifier", v), ("cosine", c)):
                thr, _ = _at_recall(labels, s, 0.70)
                per = defaultdict(float)
                for k in sorted(set(kinds[~labels])):
                    per[k] = round(float((s[kinds == k] >= thr).mean()), 4)
                res[f"trap_pass_at_recall_0.70_{name}"] = dict(per)
        print(json.dumps(res), flush=True)
        results.append(res)
    if args.out:
        with args.out.open("a", encoding="utf-8") as fh:
            for r in results:
                fh.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
