"""The shipped verifier: checked before loading, the pair format of its json, and a batch that
scores each pair as it would alone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cacheback import VerifierError
from cacheback.verify import DEFAULT_VERIFIER_JSON, OnnxVerifier

PAIRS = [("How do I reset my password?", "How can I reset my password?"),
         ("Is ibuprofen safe with alcohol?", "Is ibuprofen unsafe with alcohol?"),
         ("Where is the Berlin office?", "Where is the Paris office?")]


@pytest.fixture(scope="module")
def verifier() -> OnnxVerifier:
    return OnnxVerifier()


def test_the_json_describes_the_shipped_file(verifier: OnnxVerifier) -> None:
    meta = json.loads(DEFAULT_VERIFIER_JSON.read_text())
    assert verifier.model_path.name == meta["file"] and verifier.max_length == meta["max_length"]
    assert meta["inputs"] == ["input_ids", "attention_mask", "token_type_ids"]


def test_pairs_are_cls_query_sep_cached_sep_with_token_types(verifier: OnnxVerifier) -> None:
    feeds = verifier.encode([("hello there", "good morning")])
    ids, types = feeds["input_ids"][0].tolist(), feeds["token_type_ids"][0].tolist()
    assert ids[0] == 101 and ids.count(102) == 2 and ids[-1] == 102
    first_sep = ids.index(102)
    assert types[: first_sep + 1] == [0] * (first_sep + 1)
    assert set(types[first_sep + 1:]) == {1}


def test_long_pairs_are_truncated_to_max_length(verifier: OnnxVerifier) -> None:
    long = " ".join(["word"] * 500)
    feeds = verifier.encode([(long, long)])
    assert feeds["input_ids"].shape[1] == verifier.max_length


def test_a_batch_scores_each_pair_as_alone(verifier: OnnxVerifier) -> None:
    batch = verifier.score(PAIRS)
    alone = np.array([verifier.score([p])[0] for p in PAIRS])
    assert batch.shape == (3,) and np.all(np.isfinite(batch))
    np.testing.assert_array_equal(batch, alone)


def test_an_altered_model_is_refused_before_loading(tmp_path: Path) -> None:
    for name in ("verifier.json", "verifier-int8.onnx"):
        shutil.copy(DEFAULT_VERIFIER_JSON.parent / name, tmp_path / name)
    with open(tmp_path / "verifier-int8.onnx", "r+b") as fh:
        fh.seek(1000)
        fh.write(b"\x00\x01\x02\x03")
    with pytest.raises(VerifierError, match="sha256"):
        OnnxVerifier(tmp_path / "verifier.json")
    (tmp_path / "verifier-int8.onnx").unlink()
    with pytest.raises(VerifierError, match="missing"):
        OnnxVerifier(tmp_path / "verifier.json")
    (tmp_path / "verifier.json").write_text("{not json")
    with pytest.raises(VerifierError):
        OnnxVerifier(tmp_path / "verifier.json")
