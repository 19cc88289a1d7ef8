"""Embedder faults: model file missing, wrong sha256, tokenizer missing, onnxruntime raising at
inference, NaN embeddings. The exact tier keeps caching throughout; the semantic tier steps aside
and comes back by itself once the fault clears."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import cacheback.embed as embed_package
from cacheback.embed import MODEL_ENV_VAR, OnnxMiniLMEmbedder, locate_model
from cacheback.embed import _onnx as onnx_module

from .harness import FaultHarness

#: Paraphrase -> the stored question whose answer is right for it (cosine >= 0.96 with MiniLM).
PARAPHRASES = {
    "How can I reset my password?": "How do I reset my password?",
    "How can I cancel my subscription?": "How do I cancel my subscription?",
    "Where do I download my invoice?": "Where can I download my invoice?",
}
LATER_PARAPHRASE = ("How do I change my email address?", "How can I change my email address?")


def _semantic_works(harness: FaultHarness, original: str, paraphrase: str) -> None:
    harness.same_as[paraphrase] = original
    harness.ask(original)
    reply = harness.ask(paraphrase)
    assert reply.hit is not None and reply.hit.tier == "semantic", "the semantic tier is not serving"


def _run(harness: FaultHarness, path: Path, embedder: Any, inject: Callable[[], None],
         clear: Callable[[], None], log: str) -> None:
    harness.same_as.update(PARAPHRASES)
    originals = list(PARAPHRASES.values())
    if embedder == "default":
        inject()
    mark = harness.mark()
    harness.open(path, embedder=embedder)
    harness.exercise(originals, rounds=1)
    if embedder != "default":
        assert harness.ask(next(iter(PARAPHRASES))).hit is not None
        inject()
    tally = harness.exercise([*originals, *PARAPHRASES], rounds=1)
    assert tally.hits >= len(originals), "the exact tier must keep working"
    stats = harness.assert_visible(mark, "errors.embedder", log=log)
    assert "semantic" in stats["degraded"] or stats["breaker"] == "closed"
    clear()
    harness.assert_recovers()
    _semantic_works(harness, *LATER_PARAPHRASE)


@pytest.fixture
def fresh_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``embedder="default"`` load the model again instead of reusing the process-wide one."""
    monkeypatch.setattr(embed_package, "_default", None)


@pytest.fixture
def model_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_default: None) -> Path:
    """A copy of the real model, pointed to by ``$CACHEBACK_MODEL_PATH``."""
    copy = tmp_path / "model" / "model.onnx"
    copy.parent.mkdir()
    shutil.copyfile(locate_model(), copy)
    monkeypatch.setenv(MODEL_ENV_VAR, str(copy))
    return copy


def test_model_file_missing(harness: FaultHarness, tmp_path: Path, model_copy: Path) -> None:
    hidden = model_copy.with_name("elsewhere.onnx")
    _run(
        harness, tmp_path / "cache.db", "default",
        inject=lambda: model_copy.rename(hidden), clear=lambda: hidden.rename(model_copy),
        log="does not exist",
    )


def test_model_sha256_mismatch(harness: FaultHarness, tmp_path: Path, model_copy: Path) -> None:
    original = model_copy.read_bytes()
    damaged = bytearray(original)
    damaged[len(damaged) // 2] ^= 0xFF
    _run(
        harness, tmp_path / "cache.db", "default",
        inject=lambda: model_copy.write_bytes(bytes(damaged)),
        clear=lambda: model_copy.write_bytes(original), log="sha256",
    )


def test_tokenizer_missing(
    harness: FaultHarness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_default: None
) -> None:
    real = onnx_module.TOKENIZER_PATH
    _run(
        harness, tmp_path / "cache.db", "default",
        inject=lambda: monkeypatch.setattr(onnx_module, "TOKENIZER_PATH", tmp_path / "gone.json"),
        clear=lambda: monkeypatch.setattr(onnx_module, "TOKENIZER_PATH", real),
        log="tokenizer",
    )


class _BrokenSession:
    """Wraps an onnxruntime session: raises, or returns NaN, while ``mode`` says so."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.mode = "ok"

    def run(self, names: list[str], feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        if self.mode == "raise":
            raise RuntimeError("[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : injected failure")
        out = self.session.run(names, feeds)
        if self.mode == "nan":
            out[0][...] = np.nan
        return out  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.session, name)


@pytest.mark.parametrize(("mode", "log"), [("raise", "inference failed"), ("nan", "non-finite")],
                         ids=["onnxruntime-raises-at-inference", "embedding-is-nan"])
def test_inference_fault(harness: FaultHarness, tmp_path: Path, mode: str, log: str) -> None:
    embedder = OnnxMiniLMEmbedder()
    embedder.embed("load the session")
    session = _BrokenSession(embedder._session)
    embedder._session = session

    def inject() -> None:
        session.mode = mode

    def clear() -> None:
        session.mode = "ok"

    _run(harness, tmp_path / "cache.db", embedder, inject, clear, log)
