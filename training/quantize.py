"""int8 dynamic quantisation of an exported verifier and the fp32-vs-int8 agreement check."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

__all__ = ["quantize", "sha256", "session", "run"]


def quantize(fp32: Path, int8: Path, per_channel: bool = False, gather: bool = False) -> None:
    """Dynamic int8 weights for MatMul/Gemm (activations quantised at run time); ``gather``
    stores the word-embedding table as int8 too (a quarter of the file)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=per_channel,
        extra_options={"DefaultTensorType": 1},
        op_types_to_quantize=["MatMul", "Gemm", "Attention"]
        + (["Gather", "EmbedLayerNormalization"] if gather else []),
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def session(path: Path, threads: int = 1):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def run(sess, batch: dict[str, np.ndarray]) -> np.ndarray:
    return sess.run(["logits"], batch)[0][:, 0]


def fuse(fp32: Path, out: Path, hidden: int = 384, heads: int = 12) -> dict[str, int]:
    """onnxruntime's BERT fusions (Attention, SkipLayerNormalization, Gelu, embedding layer norm)
    on the exported graph: the same network in fewer, faster kernels."""
    from onnxruntime.transformers.optimizer import optimize_model

    opt = optimize_model(str(fp32), model_type="bert", num_heads=heads, hidden_size=hidden,
                         opt_level=1)
    opt.save_model_to_file(str(out))
    return opt.get_fused_operator_statistics()
