"""The attention / GELU / projection fusion of the shipped graph, and the graph editor under it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from cacheback import EmbedderError
from cacheback.embed import MODEL_SHA256, OnnxMiniLMEmbedder, l2_normalise, locate_model, mean_pool
from cacheback.embed._blocks import fuse_blocks
from cacheback.embed._int8 import fuse_int8_products
from cacheback.embed._onnx_graph import Graph, GraphFormatError, Node, attribute
from cacheback.embed._protobuf import LENGTH, VARINT, Field, encode

TEXTS = [
    "How do I reset my password?",
    "I forgot my password, help",
    "What is the weather like in Lisbon at the end of October, and should I pack a coat?",
    "ok",
    "Is ibuprofen unsafe with alcohol?",
]


@pytest.fixture(scope="module")
def shipped() -> bytes:
    return locate_model().read_bytes()


@pytest.fixture(scope="module")
def unfused() -> OnnxMiniLMEmbedder:
    """Int8 products but the attention as exported (a model file not known by its hash)."""
    return OnnxMiniLMEmbedder(expected_sha256=None)


def _ops(graph: Graph) -> Counter[str]:
    return Counter(node.op for node in graph.nodes)


def test_every_layer_is_fused(shipped: bytes) -> None:
    graph = Graph(shipped)
    assert fuse_int8_products(graph) == 36
    assert fuse_blocks(graph) == {"attention": 6, "gelu": 6, "projections": 6}
    ops = _ops(Graph(graph.encode()))
    assert ops["MultiHeadAttention"] == ops["BiasGelu"] == ops["Split"] == 6
    assert ops["DynamicQuantizeMatMul"] == 24  # one per layer for query, key and value together
    for gone in ("Softmax", "Erf", "Transpose", "IsNaN", "Where", "MatMul", "Reshape"):
        assert ops[gone] == 0, gone
    assert sum(ops.values()) < sum(_ops(Graph(shipped)).values()) / 3


def test_a_graph_without_the_patterns_is_left_alone(shipped: bytes) -> None:
    graph = Graph(shipped)
    assert fuse_int8_products(graph) == 36
    graph.prune()
    nodes = len(graph.nodes)
    for node in graph.nodes:
        if node.op == "Softmax":
            node.op = "LogSoftmax"  # not an attention any more
    assert fuse_blocks(graph) == {"attention": 0, "gelu": 6, "projections": 0}
    assert len(graph.nodes) == nodes - 6 * 5  # each GELU's bias Add, Div, Erf, Add, Mul, Mul -> 1
    assert _ops(graph)["LogSoftmax"] == 6 and _ops(graph)["MultiHeadAttention"] == 0


def test_only_the_model_known_by_its_hash_is_fused(unfused: OnnxMiniLMEmbedder) -> None:
    fused = OnnxMiniLMEmbedder()
    assert fused.expected_sha256 == MODEL_SHA256 and fused.fuse_blocks
    assert not unfused.fuse_blocks
    assert fused.name != unfused.name
    assert _ops(Graph(unfused._model_bytes()))["MultiHeadAttention"] == 0


def test_fused_vectors_match_the_exported_attention(
    embedder: OnnxMiniLMEmbedder, unfused: OnnxMiniLMEmbedder
) -> None:
    a, b = embedder.embed_batch(TEXTS), unfused.embed_batch(TEXTS)
    assert ((a * b).sum(axis=1) > 0.995).all()


def test_padding_is_masked_out_of_the_attention(
    embedder: OnnxMiniLMEmbedder, unfused: OnnxMiniLMEmbedder
) -> None:
    """One padded batch through both graphs: activations are quantized over the same batch, so
    any difference would come from the fused attention looking at padding."""
    fused = l2_normalise(mean_pool(*embedder.run_raw(TEXTS)))
    exported = l2_normalise(mean_pool(*unfused.run_raw(TEXTS)))
    np.testing.assert_allclose((fused * exported).sum(axis=1), 1.0, atol=2e-3)


def test_initializers_round_trip_by_dtype(shipped: bytes) -> None:
    graph = Graph(shipped)
    arrays = {"f": np.arange(6, dtype=np.float32).reshape(2, 3), "i8": np.array([-128, 0, 127], np.int8),
              "i64": np.array([-1, 2**40], np.int64), "scalar": np.array(0.5, np.float32)}
    for name, values in arrays.items():
        graph.add_array(name, values)
    for name, values in arrays.items():
        found = graph.array(name)
        assert found is not None and found.dtype == values.dtype
        np.testing.assert_array_equal(found, values)
    assert graph.array("missing") is None


def test_encode_drops_what_no_output_needs(shipped: bytes) -> None:
    graph = Graph(shipped)
    graph.add_array("unused", np.zeros(3, np.float32))
    graph.nodes.append(Node("Identity", ["input_ids"], ["dangling"]))
    again = Graph(graph.encode())
    assert again.array("unused") is None
    assert all("dangling" not in n.outputs for n in again.nodes)
    assert len(again.nodes) == len(Graph(shipped).nodes)


def test_attributes_encode_and_read_back() -> None:
    node = Node("Transpose", ["x"], ["y"], attributes=[attribute("perm", (0, 2, 1, 3)),
                                                        attribute("axis", -1), attribute("scale", 0.25)])
    again = Node.parse(node.encode())
    assert again.ints("perm") == (0, 2, 1, 3)
    assert again.ints("missing") is None
    assert (again.op, again.inputs, again.outputs) == ("Transpose", ["x"], ["y"])


@pytest.mark.parametrize("broken", [b"", b"\x08", encode([Field(1, VARINT, 8)]),
                                    encode([Field(7, VARINT, 3)])])
def test_what_is_not_a_model_raises_a_typed_error(broken: bytes) -> None:
    with pytest.raises(GraphFormatError):
        Graph(broken)


def test_a_graph_of_foreign_fields_survives(shipped: bytes) -> None:
    other = encode([Field(1, VARINT, 8), Field(7, LENGTH, encode([Field(2, LENGTH, b"empty")]))])
    graph = Graph(other)
    assert graph.nodes == [] and fuse_blocks(graph) == {"attention": 0, "gelu": 0, "projections": 0}
    assert Graph(graph.encode()).nodes == []


def test_a_model_the_editor_cannot_read_is_loaded_as_given(tmp_path: Path) -> None:
    """No rewrite, a warning, and the file's own bytes to onnxruntime, whose refusal is typed."""
    broken = tmp_path / "model.onnx"
    broken.write_bytes(b"\x08")
    embedder = OnnxMiniLMEmbedder(broken, expected_sha256=None)
    assert embedder._model_bytes() == b"\x08"
    with pytest.raises(EmbedderError):
        embedder.embed("anything")
