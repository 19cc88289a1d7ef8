"""Just enough of the protobuf wire format to read and re-emit an ONNX model without ``onnx``.

A message is kept as its list of fields in file order; fields this module does not look into
stay as raw bytes, so re-encoding an untouched message gives back the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

__all__ = [
    "FIXED32", "FIXED64", "LENGTH", "VARINT", "Field", "decode", "encode", "key",
    "length_delimited", "read_varint", "varint",
]

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5


@dataclass(frozen=True)
class Field:
    """One field of a message: its number, wire type and payload (an int for varints)."""

    number: int
    wire: int
    value: int | bytes


def read_varint(buf: bytes | memoryview, pos: int) -> tuple[int, int]:
    """The varint starting at ``pos`` and the position after it."""
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than 10 bytes")


def varint(value: int) -> bytes:
    """``value`` as a varint; negative numbers take ten bytes, as protobuf writes int64."""
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def key(number: int, wire: int) -> bytes:
    return varint(number << 3 | wire)


def length_delimited(number: int, payload: bytes) -> bytes:
    return key(number, LENGTH) + varint(len(payload)) + payload


def _fields(buf: bytes) -> Iterator[Field]:
    view = memoryview(buf)
    pos = 0
    while pos < len(view):
        tag, pos = read_varint(view, pos)
        number, wire = tag >> 3, tag & 7
        if wire == VARINT:
            value, pos = read_varint(view, pos)
            yield Field(number, wire, value)
            continue
        if wire == LENGTH:
            size, pos = read_varint(view, pos)
        elif wire in (FIXED64, FIXED32):
            size = 8 if wire == FIXED64 else 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        if pos + size > len(view):
            raise ValueError("truncated field")
        yield Field(number, wire, bytes(view[pos : pos + size]))
        pos += size


def decode(buf: bytes) -> list[Field]:
    """The fields of one message, in order; raises ``ValueError`` on malformed input."""
    return list(_fields(buf))


def encode(fields: list[Field]) -> bytes:
    """The inverse of :func:`decode`."""
    out = bytearray()
    for field in fields:
        out += key(field.number, field.wire)
        if field.wire == VARINT:
            assert isinstance(field.value, int)
            out += varint(field.value)
        else:
            assert isinstance(field.value, bytes)
            if field.wire == LENGTH:
                out += varint(len(field.value))
            out += field.value
    return bytes(out)
