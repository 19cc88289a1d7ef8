"""The in-memory int8 rewrite of the model graph and the protobuf codec under it."""

from __future__ import annotations

import pytest

from cacheback.embed import locate_model
from cacheback.embed._int8 import fuse_int8_matmuls
from cacheback.embed._protobuf import LENGTH, VARINT, Field, decode, encode, read_varint, varint


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**31, 2**63 - 1, -1, -(2**40)])
def test_varint_round_trip(value: int) -> None:
    decoded, end = read_varint(varint(value), 0)
    assert end == len(varint(value))
    assert decoded == (value if value >= 0 else value + 2**64)


def test_unknown_fields_survive_a_round_trip() -> None:
    fields = [Field(1, VARINT, 7), Field(2, LENGTH, b"abc"), Field(3, 5, b"\x00\x00\x80?"),
              Field(4, 1, bytes(8)), Field(1, VARINT, 8)]
    assert decode(encode(fields)) == fields


@pytest.mark.parametrize(
    "broken", [b"\x08", b"\x12\x05ab", b"\x0b", b"\x08" + b"\xff" * 10 + b"\x01"]
)
def test_malformed_messages_raise_value_error(broken: bytes) -> None:
    with pytest.raises(ValueError):
        decode(broken)


def test_the_shipped_model_decodes_to_the_same_bytes() -> None:
    model = locate_model().read_bytes()
    assert encode(decode(model)) == model


def test_every_dense_weight_product_is_fused() -> None:
    model = locate_model().read_bytes()
    fused, count = fuse_int8_matmuls(model)
    assert count == 36  # 6 layers x (query, key, value, output, two feed-forward)
    before, after = _ops(model), _ops(fused)
    assert after.count(b"DynamicQuantizeMatMul") == 36
    assert len(before) - len(after) == 2 * 36  # each weight's Cast and Mul are gone
    assert before.count(b"MatMul") - after.count(b"MatMul") == 36
    assert fuse_int8_matmuls(fused) == (fused, 0)


def _ops(model: bytes) -> list[bytes]:
    graph = next(f.value for f in decode(model) if f.number == 7)
    assert isinstance(graph, bytes)
    return [
        next(g.value for g in decode(f.value) if g.number == 4)  # type: ignore[arg-type, misc]
        for f in decode(graph) if f.number == 1
    ]


def test_a_model_without_the_pattern_comes_back_unchanged() -> None:
    other = encode([Field(1, VARINT, 8), Field(7, LENGTH, encode([Field(2, LENGTH, b"empty")]))])
    assert fuse_int8_matmuls(other) == (other, 0)
    assert fuse_int8_matmuls(b"") == (b"", 0)
