"""all-MiniLM-L6-v2 on onnxruntime: tokenise, run, mean-pool over the attention mask, normalise."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import EmbedderError, ModelChecksumError, ModelNotFoundError
from .._heap import release_free_memory
from ._base import Embedder, l2_normalise
from ._blocks import fuse_blocks
from ._int8 import fuse_int8_products
from ._locate import MODEL_SHA256, TOKENIZER_PATH, locate_model, verify_sha256
from ._onnx_graph import Graph, GraphFormatError

__all__ = ["OnnxMiniLMEmbedder", "mean_pool"]

logger = logging.getLogger("cacheback")

_TRIM_AFTER_TOKENS = 128
_TRIM_AFTER_TEXTS = 64


def mean_pool(last_hidden_state: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    """Average the token vectors of each row over its real (unpadded) tokens."""
    mask = attention_mask.astype(np.float32)[:, :, None]
    summed = (last_hidden_state * mask).sum(axis=1)
    return summed / np.maximum(mask.sum(axis=1), 1e-9)


class OnnxMiniLMEmbedder(Embedder):
    """The default embedder; files are located and verified here, the session is built lazily.

    Construction fails fast with :class:`ModelNotFoundError` or :class:`ModelChecksumError`, so
    the cache can switch its semantic tier off before serving anything. ``int8_matmul`` runs the
    weight products in int8 (see :mod:`._int8`) and, on the shipped model, each layer's attention
    and GELU as single kernels (see :mod:`._blocks`); ``False`` runs the graph exactly as shipped.
    Vectors of the modes differ slightly, so they carry different names and a cache never
    compares one with another.
    """

    name = "all-MiniLM-L6-v2-int8-fused"
    dim = 384

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        *,
        tokenizer_path: str | os.PathLike[str] | None = None,
        expected_sha256: str | None = MODEL_SHA256,
        max_length: int = 256,
        batch_size: int = 32,
        threads: int | None = None,
        int8_matmul: bool = True,
    ) -> None:
        self.model_path = locate_model(model_path)
        self.expected_sha256 = expected_sha256
        if expected_sha256 is not None:
            verify_sha256(self.model_path, expected_sha256)
        self.tokenizer_path = Path(tokenizer_path) if tokenizer_path else TOKENIZER_PATH
        if not self.tokenizer_path.is_file():
            raise ModelNotFoundError(f"tokenizer file {self.tokenizer_path} does not exist")
        self.max_length = max_length
        # int8 products scale the activations per call, over every row of the batch: a text's
        # vector would depend on its neighbours, so that mode embeds one text per call (which
        # measured no slower than batches of 32 there).
        self.batch_size = 1 if int8_matmul else batch_size
        self.threads = threads
        self.int8_matmul = int8_matmul
        self.fuse_blocks = int8_matmul and expected_sha256 == MODEL_SHA256
        if not int8_matmul:
            self.name = "all-MiniLM-L6-v2-int8"
        elif not self.fuse_blocks:
            self.name = "all-MiniLM-L6-v2-int8-dynamic"
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None
        self._input_names: frozenset[str] = frozenset()

    def _ensure_loaded(self) -> None:
        if self._session is not None:
            return
        with self._lock:
            if self._session is not None:
                return
            try:
                import onnxruntime as ort
                from tokenizers import Tokenizer

                tokenizer = Tokenizer.from_file(str(self.tokenizer_path))
                tokenizer.enable_truncation(max_length=self.max_length)
                tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
                options = ort.SessionOptions()
                if self.threads:
                    options.intra_op_num_threads = self.threads
                options.inter_op_num_threads = 1
                options.log_severity_level = 3
                # Idle pool threads would spin for a while after each inference, taking the
                # cores that the app, the proxy's other requests or a database server on the
                # same host need next (measured on 2 shared cores: embedding p50 4 ms without
                # spinning, 16-19 ms with; a PostgreSQL semantic hit 9-15 ms against 43-47 ms;
                # CPU per query with two threads 7.0 -> 4.3 ms).
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                # The arena keeps the peak of every batch shape ever seen (hundreds of MB after
                # one long batch); a cache living inside an app should give that memory back.
                options.enable_cpu_mem_arena = False
                options.enable_mem_pattern = False
                session = ort.InferenceSession(
                    self._model_bytes(), options, providers=["CPUExecutionProvider"]
                )
            except Exception as exc:
                raise EmbedderError(f"cannot load the embedding model: {exc}") from exc
            self._tokenizer = tokenizer
            self._input_names = frozenset(i.name for i in session.get_inputs())
            self._session = session
            release_free_memory()  # the model bytes and load-time copies: ~80 MB

    def _model_bytes(self) -> bytes:
        """The verified model (checked again: the file may have changed since construction)."""
        model = self.model_path.read_bytes()
        digest = hashlib.sha256(model).hexdigest()
        if self.expected_sha256 is not None and digest != self.expected_sha256:
            raise ModelChecksumError(f"model file {self.model_path} changed since it was verified")
        if not self.int8_matmul:
            return model
        try:
            graph = Graph(model)
        except GraphFormatError as exc:
            logger.warning("cacheback: cannot rewrite %s (%s); run as shipped", self.model_path, exc)
            return model
        if not fuse_int8_products(graph):
            logger.warning("cacheback: %s has no int8 products to fuse; run as shipped", self.model_path)
            return model
        if self.fuse_blocks:
            fused = fuse_blocks(graph)
            if not all(fused.values()):
                logger.warning("cacheback: %s: only %s of the layer blocks fused", self.model_path, fused)
        return graph.encode()

    def run_raw(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The model's ``last_hidden_state`` and the attention mask for one padded batch."""
        self._ensure_loaded()
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        feeds = {k: v for k, v in feeds.items() if k in self._input_names}
        try:
            (hidden,) = self._session.run(["last_hidden_state"], feeds)
        except Exception as exc:
            raise EmbedderError(f"embedding inference failed: {exc}") from exc
        return np.asarray(hidden, dtype=np.float32), mask

    def fits(self, text: str) -> bool:
        # Every token covers at least one character, plus [CLS] and [SEP].
        if len(text) + 2 <= self.max_length:
            return True
        self._ensure_loaded()
        return not self._tokenizer.encode(text).overflowing

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        longest = 0
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            hidden, mask = self.run_raw([texts[i] for i in chunk])
            out[chunk] = l2_normalise(mean_pool(hidden, mask))
            longest = max(longest, mask.shape[1])
        if longest >= _TRIM_AFTER_TOKENS or len(texts) >= _TRIM_AFTER_TEXTS:
            release_free_memory()  # long inputs leave tens of MB of freed activations behind
        if not np.isfinite(out).all():
            raise EmbedderError("the model produced a non-finite embedding")
        return out
