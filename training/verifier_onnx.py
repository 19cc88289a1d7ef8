"""A trained verifier run as the package would have run it: the int8 ONNX cross-encoder on one
onnxruntime thread, its file checked against the sha256 in its json before it loads.

Evaluation-time only (``training/evaluate.py``, ``benchmarks/verifier_quality.py``): the verifier
did not beat the feature-only matcher leave-one-data-set-out, so the package does not ship it
(docs/matching.md)."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pairs import PairTokenizer

__all__ = ["OnnxVerifier", "VerifierError"]



class VerifierError(RuntimeError):
    """The verifier model is missing, altered or failing."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class OnnxVerifier:
    """A cross-encoder described by ``meta_path`` (json: file, sha256, max_length, inputs...).

    The json is read and the model's sha256 checked when the verifier is built (a missing or
    altered file raises :class:`VerifierError` at once); the onnxruntime session is created on
    first use. Pairs are ``[CLS] query [SEP] cached [SEP]``, truncated longest-first to
    ``max_length`` tokens, with the tokenizer the embedder uses.
    """

    def __init__(self, meta_path: str | Path, *, threads: int = 1, verify_checksum: bool = True) -> None:
        meta_path = Path(meta_path)
        try:
            self.meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
            self.model_path = meta_path.parent / str(self.meta["file"])
            self.max_length = int(self.meta["max_length"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise VerifierError(f"verifier description {meta_path} is unusable: {exc!r}") from exc
        if not self.model_path.is_file():
            raise VerifierError(f"verifier model {self.model_path} is missing")
        if verify_checksum and _sha256(self.model_path) != self.meta.get("sha256"):
            raise VerifierError(f"verifier model {self.model_path} does not match its sha256")
        self.name = f"{self.meta.get('base_model', 'cross-encoder').split(' ')[0]}-" \
                    f"{self.meta.get('layers', '?')}L-{self.meta.get('sha256', '')[:12]}"
        self.threads = threads
        self._session: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        with self._lock:
            self._load_locked()

    def _load_locked(self) -> None:
        if self._session is not None:
            return
        try:
            import onnxruntime as ort

            tokenizer = PairTokenizer(self.max_length)
            options = ort.SessionOptions()
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
            session = ort.InferenceSession(str(self.model_path), options,
                                           providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types
            raise VerifierError(f"the verifier model does not load: {exc!r}") from exc
        self._tokenizer, self._session = tokenizer, session

    def encode(self, pairs: Sequence[tuple[str, str]]) -> dict[str, np.ndarray]:
        """The model inputs of ``pairs``, padded to the longest."""
        with self._lock:
            self._load_locked()
        return self._tokenizer([a for a, _ in pairs], [b for _, b in pairs])

    def score(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """One onnxruntime call per pair: the int8 products quantize their activations per
        call, so a pair scored in a batch would depend on the other pairs (by up to 0.07 in
        logit here); alone, its score is always the same."""
        if not pairs:
            return np.zeros(0)
        out = []
        for pair in pairs:
            feeds = self.encode([pair])
            try:
                out.append(float(self._session.run(["logits"], feeds)[0].reshape(-1)[0]))
            except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types
                raise VerifierError(f"the verifier failed: {exc!r}") from exc
        logits = np.asarray(out, dtype=np.float64)
        if not np.all(np.isfinite(logits)):
            raise VerifierError("the verifier returned a non-finite score")
        return logits
