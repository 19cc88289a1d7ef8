"""ProjectedIndex: recall against the exact twin, exact distances, edits, filters and files."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from cacheback import InvalidInputError
from cacheback.ann import BruteForceIndex, IndexFileError, ProjectedIndex, _projected, load_index
from cacheback.ann._persist import read_index_file, write_index_file
from cacheback.embed import Embedder

from .conftest import Clustered, recall

AXES = 16
"""Fewer axes than the test vectors' 64 dimensions, so the index really projects."""


def projected(clustered: Clustered, space: str = "cosine", n: int = 5000) -> ProjectedIndex:
    """An index of the first ``n`` items, fitted (the first search fits)."""
    index = ProjectedIndex(64, space, components=AXES)
    index.add_items(clustered.vectors[:n], clustered.ids[:n])
    index.knn_query(clustered.queries[0], 1)
    return index


def exact(clustered: Clustered, space: str = "cosine", n: int = 5000) -> BruteForceIndex:
    index = BruteForceIndex(64, space)
    index.add_items(clustered.vectors[:n], clustered.ids[:n])
    return index


@pytest.mark.parametrize("space", ["cosine", "ip", "l2"])
def test_recall_against_brute_force_with_exact_distances(clustered: Clustered, space: str) -> None:
    index, truth = projected(clustered, space), exact(clustered, space)
    assert index.projecting
    labels, dists = index.knn_query(clustered.queries, 10)
    true_labels, _ = truth.knn_query(clustered.queries, 10)
    assert recall(labels, true_labels) >= 0.95
    assert np.mean(labels[:, 0] == true_labels[:, 0]) >= 0.97
    _, all_dists = truth.knn_query(clustered.queries, 5000)
    all_labels = truth.knn_query(clustered.queries, 5000)[0]
    for row in range(len(labels)):
        where = {int(lab): float(d) for lab, d in zip(all_labels[row], all_dists[row])}
        assert np.allclose(dists[row], [where[int(lab)] for lab in labels[row]], atol=1e-5)
        assert np.all(np.diff(dists[row]) >= 0)


def test_recall_on_real_minilm_vectors(shared_data: Path, embedder: Embedder) -> None:
    """3,000 CLINC150 questions (150 intents of near-paraphrases, the hardest of the data
    sets for the estimate) embedded by the bundled model: the fit passes its check, and with
    a quarter of the default candidates the best match is still found."""
    raw = json.loads((shared_data / "clinc150" / "clinc150_dev.json").read_text("utf-8"))
    texts = [text for text, _ in random.Random(0).sample(raw["train"], 3000)]
    vectors = embedder.embed_batch(texts)
    queries = embedder.embed_batch([text for text, _ in raw["val"][::10]])
    index, truth = ProjectedIndex(384), BruteForceIndex(384)
    for built in (index, truth):
        built.add_items(vectors, np.arange(3000))
    index.set_ef(64)
    labels, _ = index.knn_query(queries, 10)
    true_labels, _ = truth.knn_query(queries, 10)
    assert index.projecting
    assert np.mean(labels[:, 0] == true_labels[:, 0]) >= 0.98
    assert recall(labels, true_labels) >= 0.97


def test_the_estimate_itself_ranks_well() -> None:
    """On vectors whose variance lies mostly in 16 rotated directions (as text embeddings'
    mostly does), re-ranking 20 of 5000 must already find the best: that needs the fitted axes
    to be the main directions (the least ones would find it about 0.4% of the time)."""
    rng = np.random.default_rng(3)
    rotation, _ = np.linalg.qr(rng.standard_normal((64, 64)))
    scales = 0.7 ** np.arange(64)
    vectors = ((rng.standard_normal((5200, 64)) * scales) @ rotation).astype(np.float32)
    index, truth = ProjectedIndex(64, "l2", components=AXES), BruteForceIndex(64, "l2")
    for built in (index, truth):
        built.add_items(vectors[:5000], np.arange(5000))
    assert not index.projecting  # the first search fits
    index.knn_query(vectors[0], 1)
    assert index.projecting
    index.set_ef(20)
    labels, _ = index.knn_query(vectors[5000:], 1)
    true_labels, _ = truth.knn_query(vectors[5000:], 1)
    assert np.mean(labels[:, 0] == true_labels[:, 0]) >= 0.95


def test_a_fit_the_check_rejects_leaves_the_index_scanning_exactly() -> None:
    """Five big clusters of isotropic noise: 16 axes place an item in its cluster but cannot
    rank it within one, so the check declines the projection and searches stay exact."""
    rng = np.random.default_rng(4)
    centres = rng.standard_normal((5, 64))
    vectors = (centres[rng.integers(0, 5, 5100)] + 0.5 * rng.standard_normal((5100, 64)))
    index, truth = ProjectedIndex(64, "cosine", components=AXES), BruteForceIndex(64, "cosine")
    for built in (index, truth):
        built.add_items(vectors[:5000].astype(np.float32), np.arange(5000))
    index.knn_query(vectors[0], 1)
    assert index._fitted == 5000 and not index.projecting
    assert np.array_equal(index.knn_query(vectors[5000:], 10)[0], truth.knn_query(vectors[5000:], 10)[0])


def test_a_failed_fit_keeps_every_item_and_scans_exactly(clustered: Clustered,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A fit that fails (out of memory, say) must not fail the search that ran it, nor lose
    anything: the index scans exactly until the next fit is due."""
    def failing(matrix: np.ndarray) -> None:
        raise np.linalg.LinAlgError("Eigenvalues did not converge")

    monkeypatch.setattr(np.linalg, "eigh", failing)
    index = projected(clustered)
    assert len(index) == 5000 and not index.projecting
    assert np.array_equal(index.knn_query(clustered.queries, 5)[0],
                          exact(clustered).knn_query(clustered.queries, 5)[0])
    monkeypatch.undo()
    index.add_items(clustered.vectors[:5000], clustered.ids[:5000])  # as many inserts again
    index.knn_query(clustered.queries[0], 1)
    assert index.projecting


def test_small_indexes_scan_exactly_until_the_axes_are_fitted(clustered: Clustered) -> None:
    small = ProjectedIndex(64, components=AXES)
    small.add_items(clustered.vectors[:500], clustered.ids[:500])
    assert np.array_equal(small.knn_query(clustered.queries, 5)[0],
                          exact(clustered, n=500).knn_query(clustered.queries, 5)[0])
    assert not small.projecting
    same_dims = ProjectedIndex(16, components=64)
    assert same_dims.components == 16
    same_dims.add_items(clustered.vectors[:3000, :16], clustered.ids[:3000])
    same_dims.knn_query(clustered.queries[0, :16], 1)
    assert not same_dims.projecting


def test_no_fit_from_fit_below_on(clustered: Clustered) -> None:
    index = ProjectedIndex(64, components=AXES, fit_below=4000)
    index.add_items(clustered.vectors[:3000], clustered.ids[:3000])
    index.knn_query(clustered.queries[0], 1)
    assert index.projecting  # fitted below the limit; kept above it
    index.add_items(clustered.vectors[3000:5000], clustered.ids[3000:5000])
    index.knn_query(clustered.queries[0], 1)
    assert index.projecting and index._fitted == 3000
    late = ProjectedIndex(64, components=AXES, fit_below=4000)
    late.add_items(clustered.vectors[:5000], clustered.ids[:5000])
    late.knn_query(clustered.queries[0], 1)
    assert not late.projecting


def test_items_added_after_the_fit_are_found(clustered: Clustered) -> None:
    index = projected(clustered, n=3000)
    axes = index._axes.copy()
    index.add_items(clustered.vectors[3000:3100], clustered.ids[3000:3100])
    assert np.array_equal(index._axes, axes)  # too few inserts to refit
    labels, dists = index.knn_query(clustered.vectors[3000:3100], 1)
    assert np.array_equal(labels[:, 0], clustered.ids[3000:3100])
    assert np.allclose(dists[:, 0], 0.0, atol=1e-5)


def test_axes_are_refitted_after_as_many_inserts_as_the_fit_saw(clustered: Clustered) -> None:
    size = _projected.PROJECT_MIN_ITEMS
    index = projected(clustered, n=size)
    first = index._axes.copy()
    for j in range(size - 1):  # replacing items, so the index does not grow
        index.add_items(clustered.vectors[4999 - j], [clustered.ids[j]])
    index.knn_query(clustered.queries[0], 1)
    assert np.array_equal(index._axes, first) and len(index) == size
    index.add_items(clustered.vectors[4999 - size], [clustered.ids[size - 1]])
    assert np.array_equal(index._axes, first)  # due now, fitted by the next search
    index.knn_query(clustered.queries[0], 1)
    assert not np.allclose(np.abs(index._axes), np.abs(first), atol=1e-3)


def test_replacement_and_deletion(clustered: Clustered) -> None:
    index = projected(clustered)
    gone, moved = int(clustered.ids[0]), int(clustered.ids[1])
    index.mark_deleted(gone)
    index.add_items(clustered.vectors[4000], [moved])
    labels, dists = index.knn_query(clustered.vectors[:2], 3)
    assert gone not in labels.ravel().tolist() and dists[:, 0].min() > 1e-3  # both old vectors gone
    labels, dists = index.knn_query(clustered.vectors[4000], 2)
    assert set(labels[0].tolist()) == {moved, int(clustered.ids[4000])}
    assert np.allclose(dists, 0.0, atol=1e-5)


@pytest.mark.parametrize("form", ["ids", "callable"])
def test_filters_are_obeyed_and_their_best_found(clustered: Clustered, form: str) -> None:
    index, truth = projected(clustered), exact(clustered)
    allowed = set(clustered.ids[:5000:4].tolist())
    flt = sorted(allowed) if form == "ids" else allowed.__contains__
    labels, _ = index.knn_query(clustered.queries[:50], 5, filter=flt)
    assert set(labels.ravel().tolist()) <= allowed
    true_labels, _ = truth.knn_query(clustered.queries[:50], 5, filter=sorted(allowed))
    assert np.mean(labels[:, 0] == true_labels[:, 0]) >= 0.95


def test_round_trip_keeps_the_axes_and_the_answers(clustered: Clustered, tmp_path: Path) -> None:
    index = projected(clustered, "l2")
    index.mark_deleted(int(clustered.ids[7]))
    index.set_ef(64)
    index.meta = {"note": 1}
    index.save(tmp_path / "p.index")
    loaded = load_index(tmp_path / "p.index", dim=64)
    assert isinstance(loaded, ProjectedIndex) and loaded.projecting and loaded.ef == 64
    assert loaded.meta == {"note": 1} and len(loaded) == 4999
    assert np.array_equal(loaded._axes, index._axes)
    for got, want in zip(loaded.knn_query(clustered.queries, 5), index.knn_query(clustered.queries, 5)):
        assert np.array_equal(got, want)


def test_malformed_axes_in_a_file_are_refused(clustered: Clustered, tmp_path: Path) -> None:
    projected(clustered).save(tmp_path / "p.index")
    header, arrays = read_index_file(tmp_path / "p.index")
    arrays["axes"] = arrays["axes"][:, :3].copy()
    write_index_file(tmp_path / "bad.index", header, arrays)
    with pytest.raises(IndexFileError, match="projection axes"):
        ProjectedIndex.load(tmp_path / "bad.index")


@pytest.mark.parametrize("value", [0, -3, True, 2.5])
@pytest.mark.parametrize("name", ["components", "fit_below"])
def test_bad_settings_are_an_input_error(name: str, value: object) -> None:
    with pytest.raises(InvalidInputError):
        ProjectedIndex(8, **{name: value})  # type: ignore[arg-type]


def test_prepare_fits_the_axes_before_the_first_search(clustered: Clustered) -> None:
    index = ProjectedIndex(64, "cosine", components=AXES)
    index.add_items(clustered.vectors[:5000], clustered.ids[:5000])
    assert not index.projecting
    index.prepare()
    assert index.projecting and index._fitted == 5000
    BruteForceIndex(64).prepare()  # the other indexes have nothing deferred
