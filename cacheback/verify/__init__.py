"""The verifier: a cross-encoder that reads a new question and a cached one together, the second
stage of the match decision (docs/matching.md). Only onnxruntime runs it; training code lives in
``training/`` and is never imported by the package."""

from ._base import Verifier
from ._onnx import DEFAULT_VERIFIER_JSON, VERIFIER_ENV_VAR, OnnxVerifier, default_verifier_json

__all__ = ["DEFAULT_VERIFIER_JSON", "VERIFIER_ENV_VAR", "OnnxVerifier", "Verifier", "default_verifier_json"]
