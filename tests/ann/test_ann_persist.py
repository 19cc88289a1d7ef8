"""Index files: exact round trips, and every kind of damage refused with IndexFileError."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from cacheback import IndexFileError, InvalidInputError
from cacheback.ann import FORMAT_VERSION, BruteForceIndex, HNSWIndex, load_index
from cacheback.ann._persist import MAGIC

from .conftest import Clustered, recall


@pytest.fixture(scope="module")
def saved(cosine_graph: HNSWIndex, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ann") / "cache.index"
    cosine_graph.meta = {"data_version": 12, "max_rowid": 5000}
    cosine_graph.save(path)
    return path


def test_round_trip_keeps_answers_and_meta(saved: Path, cosine_graph: HNSWIndex,
                                           cosine_truth: BruteForceIndex,
                                           clustered: Clustered) -> None:
    loaded = HNSWIndex.load(saved, dim=64, space="cosine")
    assert loaded.meta == {"data_version": 12, "max_rowid": 5000}
    assert len(loaded) == len(cosine_graph) and loaded.ef == cosine_graph.ef
    assert (loaded.M, loaded.ef_construction) == (cosine_graph.M, cosine_graph.ef_construction)
    mine, theirs = loaded.knn_query(clustered.queries, 10), cosine_graph.knn_query(
        clustered.queries, 10)
    assert np.array_equal(mine[0], theirs[0]) and np.array_equal(mine[1], theirs[1])
    truth = cosine_truth.knn_query(clustered.queries, 10)[0]
    assert recall(mine[0], truth) >= 0.95
    assert not list(saved.parent.glob(".*.tmp"))  # the temporary file was moved into place


def test_brute_force_round_trip_with_tombstones(tmp_path: Path, clustered: Clustered) -> None:
    index = BruteForceIndex(64, "l2")
    index.add_items(clustered.vectors[:100], clustered.ids[:100])
    index.mark_deleted(int(clustered.ids[0]))
    index.save(tmp_path / "b.index")
    loaded = load_index(tmp_path / "b.index")
    assert isinstance(loaded, BruteForceIndex) and len(loaded) == 99
    assert loaded.deleted_count == 1 and int(clustered.ids[0]) not in loaded
    assert np.array_equal(loaded.knn_query(clustered.queries, 5)[0],
                          index.knn_query(clustered.queries, 5)[0])
    loaded.add_items(clustered.vectors[100:101], clustered.ids[100:101])
    assert loaded.deleted_count == 0 and loaded._n == 100


def test_load_index_picks_the_kind(saved: Path) -> None:
    assert isinstance(load_index(saved), HNSWIndex)
    with pytest.raises(IndexFileError, match="not 'brute'"):
        BruteForceIndex.load(saved)


def _damaged(saved: Path, tmp_path: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    data = bytearray(saved.read_bytes())
    path = tmp_path / "damaged.index"
    path.write_bytes(bytes(edit(data)))
    return path


def _header(data: bytearray) -> tuple[int, dict]:  # type: ignore[type-arg]
    _, _, length = struct.unpack_from("<8sII", data)
    return length, json.loads(data[16:16 + length])


def _with_header(data: bytearray, change) -> bytearray:  # type: ignore[no-untyped-def]
    length, header = _header(data)
    change(header)
    blob = json.dumps(header).encode()
    return data[:8] + struct.pack("<II", FORMAT_VERSION, len(blob)) + blob + data[16 + length:]


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d[: len(d) // 3], "truncated"),
    (lambda d: d[:-1], "truncated"),
    (lambda d: d[:10], "truncated"),
    (lambda d: d + b"\0", "padded"),
    (lambda d: d[:-40] + bytes([d[-40] ^ 1]) + d[-39:], "checksum"),
    (lambda d: b"SQLite format 3\0" + d[16:], "not a cacheback index"),
    (lambda d: d[:8] + struct.pack("<I", FORMAT_VERSION + 1) + d[12:], "format version"),
    (lambda d: d[:8] + struct.pack("<I", 1) + d[12:], "format version 1;"),
    (lambda d: d[:16] + b"}" + d[17:], "header"),
    (lambda d: _with_header(d, lambda h: h.update(dim=32)), "disagree|checksum"),
], ids=["third", "last-byte", "prefix-only", "padded", "bit-flip", "foreign", "version",
        "float32-era-version", "bad-json", "header-edit"])
def test_damaged_file_is_refused(saved: Path, tmp_path: Path, edit, message: str) -> None:  # type: ignore[no-untyped-def]
    path = _damaged(saved, tmp_path, edit)
    with pytest.raises(IndexFileError, match=message):
        HNSWIndex.load(path)
    with pytest.raises(IndexFileError):
        load_index(path)


def test_mismatched_expectations_are_refused(saved: Path, tmp_path: Path) -> None:
    with pytest.raises(IndexFileError, match="dim"):
        HNSWIndex.load(saved, dim=384)
    with pytest.raises(IndexFileError, match="space"):
        HNSWIndex.load(saved, space="l2")
    with pytest.raises(IndexFileError, match="cannot read"):
        HNSWIndex.load(tmp_path / "missing.index")


def test_a_consistent_looking_but_broken_graph_is_refused(tmp_path: Path) -> None:
    """A file that passes its checksum but whose graph points outside the index (a writer
    bug, not bit rot) is still refused rather than crashing a later search."""
    from cacheback.ann._persist import read_index_file, write_index_file

    index = HNSWIndex(8, "cosine")
    index.add_items(np.random.default_rng(0).standard_normal((50, 8)), np.arange(50))
    index.save(tmp_path / "ok.index")
    header, arrays = read_index_file(tmp_path / "ok.index")
    arrays["L0_links"][0, 0] = 999
    write_index_file(tmp_path / "bad.index", header, arrays)
    with pytest.raises(IndexFileError, match="dangling"):
        HNSWIndex.load(tmp_path / "bad.index")


def test_vectors_kept_in_another_form_are_refused(tmp_path: Path) -> None:
    """A cosine HNSW file must hold int16 codes; float32 vectors under the current version
    (a writer bug) are refused, not silently misread."""
    from cacheback.ann._persist import read_index_file, write_index_file

    index = HNSWIndex(8, "cosine")
    index.add_items(np.random.default_rng(0).standard_normal((50, 8)), np.arange(50))
    index.save(tmp_path / "ok.index")
    header, arrays = read_index_file(tmp_path / "ok.index")
    arrays["vectors"] = arrays.pop("codes").astype(np.float32) / 32767
    header["storage"] = "float32"
    write_index_file(tmp_path / "bad.index", header, arrays)
    with pytest.raises(IndexFileError, match="'float32' vectors; a hnsw index in cosine space keeps 'int16'"):
        HNSWIndex.load(tmp_path / "bad.index")


def test_meta_must_be_json(tmp_path: Path) -> None:
    index = BruteForceIndex(2)
    index.meta = {"when": object()}
    with pytest.raises(InvalidInputError):
        index.save(tmp_path / "x.index")
    assert not (tmp_path / "x.index").exists()


def test_file_starts_with_magic_and_version(saved: Path) -> None:
    magic, version, _ = struct.unpack_from("<8sII", saved.read_bytes())
    assert magic == MAGIC and version == FORMAT_VERSION


def test_int8_graph_round_trip_keeps_its_codes(tmp_path: Path, clustered: Clustered) -> None:
    index = HNSWIndex(64, "cosine", M=8, ef_construction=40, codes="int8")
    index.add_items(clustered.vectors[:400], clustered.ids[:400])
    index.save(tmp_path / "int8.index")
    loaded = HNSWIndex.load(tmp_path / "int8.index", dim=64, space="cosine")
    assert loaded.codes == "int8"
    mine, theirs = loaded.knn_query(clustered.queries, 5), index.knn_query(clustered.queries, 5)
    assert np.array_equal(mine[0], theirs[0]) and np.array_equal(mine[1], theirs[1])


def test_unknown_codes_are_an_input_error() -> None:
    with pytest.raises(InvalidInputError):
        HNSWIndex(8, "cosine", codes="int4")
