"""OpenAI Embeddings (``POST {base_url}/embeddings``): I/O-free request and response code.

Embeddings are a deterministic function of (model, dimensions, input), so a cache keeps one
float32 vector per input and renders it in either wire format exactly as the API does:

* ``base64`` is the little-endian float32 bytes, base64-encoded;
* ``float`` is a JSON list of numbers. Upstreams write float32 values in one of two ways: the
  exact float64 value of each float32 (OpenAI: ``-0.006929283495992422``) or the shortest
  decimal that reads back as the same float32 (``-0.0069292835``). :func:`decode_vector`
  detects which, and :func:`render_vector` writes the same numbers back, so the floats a client
  parses are bit-identical to the upstream's. A list that is neither (float64 precision) is
  not float32 and cannot be reproduced from float32 bytes: it is not stored.

``OpenAIEmbeddingsSpec`` is the chat spec's host, headers and errors at ``/embeddings`` (the
endpoint never streams).
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .openai_chat import OpenAIChatSpec

__all__ = [
    "FLOAT_STYLES",
    "EmbeddingInput",
    "FloatStyle",
    "OpenAIEmbeddingsSpec",
    "Vector",
    "decode_vector",
    "embedding_inputs",
    "embeddings_response",
    "render_vector",
    "response_vectors",
    "sdk_floats",
    "token_usage",
]

FloatStyle = Literal["exact", "short"]
FLOAT_STYLES: tuple[FloatStyle, ...] = ("exact", "short")
#: One input of a request: a text, or a token array.
EmbeddingInput = str | tuple[int, ...]
_LE_FLOAT32 = np.dtype("<f4")


class OpenAIEmbeddingsSpec(OpenAIChatSpec):
    """``POST {base_url}/embeddings``: chat's authentication, headers and error shapes."""

    path = "/embeddings"


@dataclass(frozen=True)
class Vector:
    """One embedding as float32 little-endian bytes, and how the upstream wrote it as floats
    (None: only seen as base64, rendered as ``exact``, the SDK's own decoding)."""

    data: bytes
    style: FloatStyle | None = None

    @property
    def dimensions(self) -> int:
        """The number of components."""
        return len(self.data) // 4


def _token_array(value: Any) -> tuple[int, ...] | None:
    if (isinstance(value, list) and value
            and all(type(t) is int and t >= 0 for t in value)):
        return tuple(value)
    return None


def embedding_inputs(value: Any) -> tuple[list[EmbeddingInput], bool] | None:
    """The inputs of a request's ``input`` (a text, a token array, or a list of either) and
    whether it was a single one; None when it is none of these shapes (the API decides)."""
    if isinstance(value, str):
        return ([value], True) if value else None
    single = _token_array(value)
    if single is not None:
        return [single], True
    if not isinstance(value, list) or not value:
        return None
    inputs: list[EmbeddingInput] = []
    for item in value:
        if isinstance(item, str) and item:
            inputs.append(item)
        elif (tokens := _token_array(item)) is not None:
            inputs.append(tokens)
        else:
            return None
    return inputs, False


def _is_float32(values: np.ndarray, as32: np.ndarray) -> bool:
    return bool(np.array_equal(as32.astype(np.float64), values))


def _is_short(values: np.ndarray, as32: np.ndarray) -> bool:
    return bool(np.array_equal(as32.astype(str).astype(np.float64), values))


def decode_vector(value: Any) -> Vector | None:
    """The vector of one ``embedding`` member (a list of numbers or a base64 string), or None
    when it is not a finite, non-empty float32 vector this module can reproduce exactly."""
    if isinstance(value, str):
        try:
            data = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return None
        if not data or len(data) % 4:
            return None
        if not np.isfinite(np.frombuffer(data, dtype=_LE_FLOAT32)).all():
            return None
        return Vector(data)
    if not isinstance(value, list) or not value:
        return None
    if not all(type(v) in (float, int) for v in value):
        return None
    values = np.asarray(value, dtype=np.float64)
    with np.errstate(over="ignore"):
        as32 = values.astype(_LE_FLOAT32)
    if not np.isfinite(as32).all():
        return None
    if _is_float32(values, as32):
        return Vector(as32.tobytes(), "exact")
    if _is_short(values, as32):
        return Vector(as32.tobytes(), "short")
    return None


def render_vector(vector: Vector, encoding_format: str) -> list[float] | str:
    """``vector`` as the API writes it in ``encoding_format`` ("float" or "base64")."""
    if encoding_format == "base64":
        return base64.b64encode(vector.data).decode("ascii")
    as32 = np.frombuffer(vector.data, dtype=_LE_FLOAT32)
    if vector.style == "short":
        return [float(v) for v in as32.astype(str)]
    floats: list[float] = as32.astype(np.float64).tolist()
    return floats


def embeddings_response(embeddings: Sequence[list[float] | str], model: str,
                        usage: Mapping[str, Any] | None) -> dict[str, Any]:
    """A ``CreateEmbeddingResponse`` body with ``embeddings`` in input order."""
    tokens = dict(usage or {})
    tokens.setdefault("prompt_tokens", 0)
    tokens.setdefault("total_tokens", tokens["prompt_tokens"])
    return {"object": "list", "model": model, "usage": tokens,
            "data": [{"object": "embedding", "index": i, "embedding": e}
                     for i, e in enumerate(embeddings)]}


def response_vectors(response: Mapping[str, Any], expected: int) -> list[Vector | None] | None:
    """The vectors of an upstream response by ``index`` (None for one that cannot be kept),
    or None when the response does not hold exactly ``expected`` embeddings 0..expected-1."""
    data = response.get("data")
    if not isinstance(data, list) or len(data) != expected:
        return None
    out: list[Vector | None] = [None] * expected
    seen = set()
    for item in data:
        if not isinstance(item, Mapping):
            return None
        index = item.get("index")
        if type(index) is not int or not 0 <= index < expected or index in seen:
            return None
        seen.add(index)
        out[index] = decode_vector(item.get("embedding"))
    return out


def token_usage(response: Mapping[str, Any]) -> dict[str, int]:
    """The ``usage`` of an upstream response (zeros when it carries none)."""
    usage = response.get("usage")
    if not isinstance(usage, Mapping):
        return {"prompt_tokens": 0, "total_tokens": 0}
    out = {}
    for key in ("prompt_tokens", "total_tokens"):
        value = usage.get(key)
        out[key] = int(value) if isinstance(value, (int, float)) and math.isfinite(value) else 0
    return out


def sdk_floats(response: Mapping[str, Any]) -> dict[str, Any]:
    """``response`` with each base64 ``embedding`` decoded to floats, as the openai SDK does
    for a call that did not name an ``encoding_format`` (it asks for base64 on the wire): the
    float32 values widened to Python floats. A string that is not float32 bytes stays as is."""
    data = response.get("data")
    if not isinstance(data, list):
        return dict(response)
    items = []
    for item in data:
        value = item.get("embedding") if isinstance(item, Mapping) else None
        if isinstance(value, str):
            try:
                floats = np.frombuffer(base64.b64decode(value), dtype=_LE_FLOAT32).tolist()
            except (binascii.Error, ValueError):
                floats = None
            if floats is not None:
                item = {**item, "embedding": floats}
        items.append(item)
    return {**response, "data": items}
