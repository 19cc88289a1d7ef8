"""Embedders: the abstract interface and the default offline all-MiniLM-L6-v2 ONNX model."""

from __future__ import annotations

import threading

from ._base import Embedder, l2_normalise
from ._locate import MODEL_ENV_VAR, MODEL_SHA256, TOKENIZER_PATH, locate_model, verify_sha256
from ._onnx import OnnxMiniLMEmbedder, mean_pool

__all__ = [
    "MODEL_ENV_VAR",
    "MODEL_SHA256",
    "TOKENIZER_PATH",
    "Embedder",
    "OnnxMiniLMEmbedder",
    "default_embedder",
    "l2_normalise",
    "locate_model",
    "mean_pool",
    "verify_sha256",
]

_default: OnnxMiniLMEmbedder | None = None
_default_lock = threading.Lock()


def default_embedder() -> OnnxMiniLMEmbedder:
    """A process-wide shared default embedder, so several caches load the model once."""
    global _default
    with _default_lock:
        if _default is None:
            _default = OnnxMiniLMEmbedder()
        return _default
