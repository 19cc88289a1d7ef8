"""The default embedder: reference pipeline equivalence, batching, file checks."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from cacheback import ModelChecksumError, ModelNotFoundError
from cacheback.embed import MODEL_ENV_VAR, OnnxMiniLMEmbedder, locate_model

TEXTS = [
    "How do I reset my password?",
    "I forgot my password, help",
    "What is the weather like in Lisbon at the end of October, and should I pack a coat?",
    "ok",
]


def reference_embedding(embedder: OnnxMiniLMEmbedder, texts: list[str]) -> np.ndarray:
    """Mean pooling over the attention mask written out row by row, then L2 normalisation
    (one text per model call in int8 mode, as the embedder runs it; one padded batch otherwise)."""
    batches = [[t] for t in texts] if embedder.int8_matmul else [texts]
    rows = []
    for batch in batches:
        hidden, mask = embedder.run_raw(batch)
        for h, m in zip(hidden, mask):
            tokens = h[m.astype(bool)]
            mean = tokens.sum(axis=0) / len(tokens)
            rows.append(mean / np.sqrt((mean**2).sum()))
    return np.stack(rows)


def test_output_is_unit_float32(embedder: OnnxMiniLMEmbedder) -> None:
    vectors = embedder.embed_batch(TEXTS)
    assert vectors.shape == (len(TEXTS), 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_matches_numpy_reference_of_raw_onnx_output(embedder: OnnxMiniLMEmbedder) -> None:
    np.testing.assert_allclose(
        embedder.embed_batch(TEXTS), reference_embedding(embedder, TEXTS), atol=1e-5
    )


def test_as_shipped_mode_matches_reference_in_one_batch(as_shipped: OnnxMiniLMEmbedder) -> None:
    assert as_shipped.batch_size > 1
    np.testing.assert_allclose(
        as_shipped.embed_batch(TEXTS), reference_embedding(as_shipped, TEXTS), atol=1e-5
    )


def test_int8_products_stay_close_to_the_graph_as_shipped(
    embedder: OnnxMiniLMEmbedder, as_shipped: OnnxMiniLMEmbedder
) -> None:
    fused, exact = embedder.embed_batch(TEXTS), as_shipped.embed_batch(TEXTS)
    assert embedder.name != as_shipped.name
    assert ((fused * exact).sum(axis=1) > 0.97).all()
    a, b = fused @ fused.T - 2 * np.eye(len(TEXTS)), exact @ exact.T - 2 * np.eye(len(TEXTS))
    np.testing.assert_array_equal(a.argmax(axis=1), b.argmax(axis=1))


def test_padding_and_batch_order_do_not_change_vectors(embedder: OnnxMiniLMEmbedder) -> None:
    batch = embedder.embed_batch(TEXTS)
    for text, row in zip(TEXTS, batch):
        np.testing.assert_allclose(embedder.embed(text), row, atol=1e-5)


def test_similarity_orders_paraphrase_above_unrelated(embedder: OnnxMiniLMEmbedder) -> None:
    a, b, c, _ = embedder.embed_batch(TEXTS)
    assert a @ b > 0.7 > a @ c


def test_empty_batch(embedder: OnnxMiniLMEmbedder) -> None:
    assert embedder.embed_batch([]).shape == (0, 384)


@pytest.fixture(scope="module")
def as_shipped() -> OnnxMiniLMEmbedder:
    return OnnxMiniLMEmbedder(int8_matmul=False)


def test_lazy_session_is_built_once_under_concurrency() -> None:
    fresh = OnnxMiniLMEmbedder()
    assert fresh._session is None
    results: list[np.ndarray] = []
    threads = [
        threading.Thread(target=lambda: results.append(fresh.embed(TEXTS[0]))) for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 6
    for r in results[1:]:
        np.testing.assert_allclose(r, results[0], atol=1e-6)


def test_missing_model_file_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError):
        OnnxMiniLMEmbedder(tmp_path / "absent.onnx")


def test_wrong_checksum_is_refused_before_loading(tmp_path: Path) -> None:
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not the model")
    with pytest.raises(ModelChecksumError):
        OnnxMiniLMEmbedder(fake)


def test_missing_tokenizer_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError):
        OnnxMiniLMEmbedder(tokenizer_path=tmp_path / "tokenizer.json")


def test_model_location_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit, from_env = tmp_path / "a.onnx", tmp_path / "b.onnx"
    explicit.write_bytes(b"a")
    from_env.write_bytes(b"b")
    monkeypatch.setenv(MODEL_ENV_VAR, str(from_env))
    assert locate_model(explicit) == explicit
    assert locate_model() == from_env
    monkeypatch.delenv(MODEL_ENV_VAR)
    assert locate_model().name == "model.onnx"


def test_session_threads_do_not_spin() -> None:
    embedder = OnnxMiniLMEmbedder(threads=2)
    embedder.embed("load the session")
    options = embedder._session.get_session_options()
    assert options.intra_op_num_threads == 2 and options.inter_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
