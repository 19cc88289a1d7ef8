"""Re-quantise a trained verifier from its kept fp32 ONNX (``<stem>-fp32.onnx``) and bring its
json up to date (sha256, quantisation, int8-vs-fp32 agreement on the same dev pairs as training).

    python training/requantize.py --stem /work/artifacts/verifier/no_G3 \\
        --pairs /work/artifacts/verifier/pairs.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from evaluate import auc  # noqa: E402
from pairs import PairTokenizer  # noqa: E402
from quantize import quantize, run, session, sha256  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stem", type=Path, required=True)
    ap.add_argument("--pairs", type=Path, required=True)
    ap.add_argument("--per-tensor", action="store_true")
    ap.add_argument("--seed", type=int, default=16)
    args = ap.parse_args()
    meta_path = args.stem.with_suffix(".json")
    meta = json.loads(meta_path.read_text("utf-8"))
    fp32 = args.stem.with_name(args.stem.name + "-fp32.onnx")
    int8 = args.stem.with_suffix(".onnx")
    quantize(fp32, int8, per_channel=not args.per_tensor, gather=True)
    dev = []
    with args.pairs.open(encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            if r["split"] == "dev" and r["group"] not in meta["excluded_groups"]:
                dev.append(r)
    random.Random(args.seed).shuffle(dev)
    check = dev[:400]
    tok = PairTokenizer(meta["max_length"])
    s32, s8 = session(fp32), session(int8)
    a32, a8 = [], []
    for i in range(0, len(check), 32):
        enc = tok([r["a"] for r in check[i:i + 32]], [r["b"] for r in check[i:i + 32]])
        a32.append(run(s32, enc))
        a8.append(run(s8, enc))
    l32, l8 = np.concatenate(a32), np.concatenate(a8)
    labels = np.array([r["label"] for r in check])
    diff = np.abs(l32 - l8)
    meta["sha256"] = sha256(int8)
    meta["quantization"] = ("onnxruntime quantize_dynamic, QInt8 weights, "
                            + ("per-tensor" if args.per_tensor else "per-channel")
                            + ", MatMul/Gemm + word embeddings")
    meta["int8_vs_fp32"] = {"pairs": len(check), "max_abs_diff": float(diff.max()),
                            "p99_abs_diff": float(np.percentile(diff, 99)),
                            "mean_abs_diff": float(diff.mean()),
                            "dev_auc_fp32": auc(labels, l32), "dev_auc_int8": auc(labels, l8)}
    meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(meta["int8_vs_fp32"]))


if __name__ == "__main__":
    main()
