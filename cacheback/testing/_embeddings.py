"""The fake upstream's embeddings: deterministic unit vectors per (model, input, dimensions).

A vector is drawn from a generator seeded with the sha256 of the model and the input (a text or
a token array), so the same input always gets the same float32 vector and two inputs never
share one. ``float`` answers write each float32 as OpenAI does (its exact value as a float64,
``-0.006929283495992422``), or as the shortest decimal that reads back as the same float32
(``style="short"``); ``base64`` answers are the little-endian float32 bytes.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..providers.openai_embeddings import embedding_inputs
from ._answers import token_count

__all__ = ["DEFAULT_DIMENSIONS", "embeddings_answer", "fake_embedding"]

DEFAULT_DIMENSIONS = 1536
_MODEL_DIMENSIONS = {"text-embedding-3-large": 3072}


def fake_embedding(model: str, item: str | tuple[int, ...], dimensions: int) -> np.ndarray:
    """The float32 unit vector the fake upstream answers for ``item``."""
    tag = item if isinstance(item, str) else "tokens:" + ",".join(map(str, item))
    seed = hashlib.sha256(f"{model}\0{tag}".encode("utf-8", "surrogatepass")).digest()
    vector = np.random.default_rng(int.from_bytes(seed[:8], "little")).standard_normal(dimensions)
    return (vector / np.linalg.norm(vector)).astype("<f4")


def _render(vector: np.ndarray, encoding_format: str, style: str) -> Any:
    if encoding_format == "base64":
        return base64.b64encode(vector.tobytes()).decode("ascii")
    if style == "short":
        return [float(v) for v in vector.astype(str)]
    return vector.astype(np.float64).tolist()


def embeddings_answer(body: Mapping[str, Any], style: str = "exact"
                      ) -> tuple[int, dict[str, Any], list[str | tuple[int, ...]]]:
    """(status, JSON body, inputs embedded) for an embeddings request ``body``."""
    parsed = embedding_inputs(body.get("input"))
    model = body.get("model")
    fmt = body.get("encoding_format") or "float"
    dimensions = body.get("dimensions")
    problem = ("'input' must be a non-empty string, token array or list of them" if parsed is None
               else "'model' is required" if not isinstance(model, str) or not model
               else f"unknown encoding_format {fmt!r}" if fmt not in ("float", "base64")
               else "'dimensions' must be a positive integer" if dimensions is not None and (
                   type(dimensions) is not int or dimensions <= 0) else None)
    if problem is not None or parsed is None or not isinstance(model, str):
        return 400, {"error": {"message": problem, "type": "invalid_request_error",
                               "param": None, "code": None}}, []
    inputs, _ = parsed
    size = dimensions or _MODEL_DIMENSIONS.get(model, DEFAULT_DIMENSIONS)
    tokens = sum(token_count(i) if isinstance(i, str) else len(i) for i in inputs)
    data = [{"object": "embedding", "index": i,
             "embedding": _render(fake_embedding(model, item, size), fmt, style)}
            for i, item in enumerate(inputs)]
    return 200, {"object": "list", "data": data, "model": model,
                 "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}, inputs
