"""An ONNX model's graph as editable Python lists, over the protobuf codec (no ``onnx`` needed).

Rewrites change ``nodes`` and add initializers; :meth:`Graph.encode` then drops every node and
initializer nothing uses any more and writes the model back. Fields this module does not edit
(attributes, other graph fields, the model's metadata) are carried over as they were read.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._protobuf import (
    FIXED32,
    LENGTH,
    VARINT,
    Field,
    decode,
    encode,
    length_delimited,
    read_varint,
    varint,
)

__all__ = ["MS_DOMAIN", "Graph", "GraphFormatError", "Node", "attribute"]

MS_DOMAIN = "com.microsoft"

_MODEL_OPSET, _MODEL_GRAPH = 8, 7
_GRAPH_NODE, _GRAPH_INITIALIZER, _GRAPH_INPUT, _GRAPH_OUTPUT = 1, 5, 11, 12
_NODE_INPUT, _NODE_OUTPUT, _NODE_NAME, _NODE_OP, _NODE_ATTRIBUTE, _NODE_DOMAIN = 1, 2, 3, 4, 5, 7
_ATTR_NAME, _ATTR_FLOAT, _ATTR_INT, _ATTR_INTS, _ATTR_TYPE = 1, 2, 3, 8, 20
_ATTR_TYPES = {float: 1, int: 2, tuple: 7}
_TENSOR_DIMS, _TENSOR_TYPE, _TENSOR_FLOATS, _TENSOR_NAME, _TENSOR_RAW = 1, 2, 4, 8, 9
_DTYPES: dict[int, np.dtype[Any]] = {
    1: np.dtype("<f4"), 3: np.dtype("i1"), 6: np.dtype("<i4"), 7: np.dtype("<i8"),
}
_DTYPE_CODES = {dtype: code for code, dtype in _DTYPES.items()}


class GraphFormatError(ValueError):
    """The bytes are not a model this module can edit."""


def _text(value: int | bytes) -> str:
    if not isinstance(value, bytes):
        raise GraphFormatError("expected a string field")
    return value.decode("utf-8")


def attribute(name: str, value: float | int | tuple[int, ...]) -> bytes:
    """An encoded ``AttributeProto`` holding one float, int or list of ints."""
    parts = [length_delimited(_ATTR_NAME, name.encode())]
    if isinstance(value, float):
        parts.append(encode([Field(_ATTR_FLOAT, FIXED32, np.float32(value).tobytes())]))
    elif isinstance(value, int):
        parts.append(encode([Field(_ATTR_INT, VARINT, value)]))
    else:
        parts += [encode([Field(_ATTR_INTS, VARINT, v)]) for v in value]
    parts.append(encode([Field(_ATTR_TYPE, VARINT, _ATTR_TYPES[type(value)])]))
    return b"".join(parts)


@dataclass(eq=False)
class Node:
    """One node; ``attributes`` are encoded ``AttributeProto`` payloads, kept as read."""

    op: str
    inputs: list[str]
    outputs: list[str]
    domain: str = ""
    attributes: list[bytes] = field(default_factory=list)
    name: str = ""

    @classmethod
    def parse(cls, payload: bytes) -> Node:
        node = cls(op="", inputs=[], outputs=[])
        for f in decode(payload):
            if f.number == _NODE_INPUT:
                node.inputs.append(_text(f.value))
            elif f.number == _NODE_OUTPUT:
                node.outputs.append(_text(f.value))
            elif f.number == _NODE_NAME:
                node.name = _text(f.value)
            elif f.number == _NODE_OP:
                node.op = _text(f.value)
            elif f.number == _NODE_DOMAIN:
                node.domain = _text(f.value)
            elif f.number == _NODE_ATTRIBUTE and isinstance(f.value, bytes):
                node.attributes.append(f.value)
        return node

    def ints(self, name: str) -> tuple[int, ...] | None:
        """The integer list attribute ``name`` (packed or not), or None without one."""
        for payload in self.attributes:
            fields = decode(payload)
            if any(f.number == _ATTR_NAME and f.value == name.encode() for f in fields):
                return tuple(v for f in fields if f.number == _ATTR_INTS for v in _varints(f.value))
        return None

    def encode(self) -> bytes:
        parts = [length_delimited(_NODE_INPUT, i.encode()) for i in self.inputs]
        parts += [length_delimited(_NODE_OUTPUT, o.encode()) for o in self.outputs]
        parts += [length_delimited(_NODE_NAME, self.name.encode()),
                  length_delimited(_NODE_OP, self.op.encode())]
        parts += [length_delimited(_NODE_ATTRIBUTE, a) for a in self.attributes]
        parts.append(length_delimited(_NODE_DOMAIN, self.domain.encode()))
        return b"".join(parts)


class Graph:
    """The main graph of a serialized ``ModelProto``: nodes in order, initializers by name."""

    def __init__(self, model: bytes) -> None:
        try:
            self._top = decode(model)
            at = next(i for i, f in enumerate(self._top) if f.number == _MODEL_GRAPH)
            payload = self._top[at].value
            fields = decode(payload) if isinstance(payload, bytes) else None
        except (ValueError, StopIteration) as exc:
            raise GraphFormatError(f"not an ONNX model: {exc}") from exc
        if fields is None:
            raise GraphFormatError("the model's graph is not a message")
        self._at = at
        self.nodes = [Node.parse(f.value) for f in fields
                      if f.number == _GRAPH_NODE and isinstance(f.value, bytes)]
        self._initializers: dict[str, bytes] = {}
        self._rest: list[Field] = []
        for f in fields:
            if f.number == _GRAPH_INITIALIZER and isinstance(f.value, bytes):
                self._initializers[_tensor_name(f.value)] = f.value
            elif f.number != _GRAPH_NODE:
                self._rest.append(f)
        self._keep = {_value_info_name(f.value) for f in self._rest
                      if f.number in (_GRAPH_INPUT, _GRAPH_OUTPUT) and isinstance(f.value, bytes)}

    def producers(self) -> dict[str, Node]:
        """Each value's producing node."""
        return {out: node for node in self.nodes for out in node.outputs}

    def consumers(self) -> dict[str, list[Node]]:
        """Each value's consuming nodes, in graph order."""
        found: dict[str, list[Node]] = {}
        for node in self.nodes:
            for name in node.inputs:
                found.setdefault(name, []).append(node)
        return found

    def array(self, name: str) -> np.ndarray | None:
        """An initializer's values (float32, int8, int32 or int64, stored raw), else None."""
        payload = self._initializers.get(name)
        if payload is None:
            return None
        fields = decode(payload)
        dims = [d for f in fields if f.number == _TENSOR_DIMS for d in _varints(f.value)]
        code = next((f.value for f in fields if f.number == _TENSOR_TYPE and f.wire == VARINT), 0)
        dtype = _DTYPES.get(int(code))
        packed = (_TENSOR_RAW, _TENSOR_FLOATS) if code == 1 else (_TENSOR_RAW,)
        raw = [f.value for f in fields if f.number in packed and f.wire == LENGTH]
        if dtype is None or len(raw) != 1 or not isinstance(raw[0], bytes):
            return None
        values = np.frombuffer(raw[0], dtype=dtype)
        return values.reshape(dims) if int(np.prod(dims)) == values.size else None

    def add_array(self, name: str, values: np.ndarray) -> str:
        """Store ``values`` as an initializer called ``name`` (replacing any); returns the name."""
        dtype = values.dtype.newbyteorder("<") if values.dtype.byteorder == ">" else values.dtype
        code = _DTYPE_CODES[np.dtype(dtype)]
        fields = [Field(_TENSOR_DIMS, VARINT, d) for d in values.shape]
        fields += [Field(_TENSOR_TYPE, VARINT, code), Field(_TENSOR_NAME, LENGTH, name.encode()),
                   Field(_TENSOR_RAW, LENGTH, np.ascontiguousarray(values, dtype=dtype).tobytes())]
        self._initializers[name] = encode(fields)
        return name

    def encode(self) -> bytes:
        """The model with the edited graph, after dropping what no output depends on."""
        self.prune()
        used = {name for node in self.nodes for name in node.inputs} | self._keep
        graph = [Field(_GRAPH_NODE, LENGTH, node.encode()) for node in self.nodes]
        graph += [Field(_GRAPH_INITIALIZER, LENGTH, payload)
                  for name, payload in self._initializers.items() if name in used]
        top = list(self._top)
        top[self._at] = Field(_MODEL_GRAPH, LENGTH, encode(graph + self._rest))
        domains = {_text(g.value) for f in self._top
                   if f.number == _MODEL_OPSET and isinstance(f.value, bytes)
                   for g in decode(f.value) if g.number == 1}
        if any(node.domain == MS_DOMAIN for node in self.nodes) and MS_DOMAIN not in domains:
            opset = length_delimited(1, MS_DOMAIN.encode()) + varint(2 << 3 | VARINT) + varint(1)
            top.insert(self._at, Field(_MODEL_OPSET, LENGTH, opset))
        return encode(top)

    def prune(self) -> None:
        """Drop the nodes no graph output depends on."""
        while True:
            uses = Counter(name for node in self.nodes for name in node.inputs)
            live = [n for n in self.nodes if any(uses[o] or o in self._keep for o in n.outputs)]
            if len(live) == len(self.nodes):
                return
            self.nodes = live


def _varints(value: int | bytes) -> list[int]:
    if isinstance(value, int):
        return [value]
    out, pos = [], 0
    while pos < len(value):
        number, pos = read_varint(value, pos)
        out.append(number)
    return out


def _tensor_name(payload: bytes) -> str:
    return "".join(_text(f.value) for f in decode(payload) if f.number == _TENSOR_NAME)


def _value_info_name(payload: bytes) -> str:
    return "".join(_text(f.value) for f in decode(payload) if f.number == 1)
