"""Near-duplicate image ids: variants of a photo share its id, different photos never do."""

from __future__ import annotations

import itertools
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from cacheback.media import MAX_DISTANCE, ImageDecodeError, ImageRegistry, fingerprint
from cacheback.media._image import hamming
from cacheback.testing._media import image_variants


def test_every_variant_maps_to_its_photo_and_photos_stay_apart(photos: list[bytes]) -> None:
    registry = ImageRegistry(None)
    ids = [registry.resolve("ns", fingerprint(p)) for p in photos]
    assert len(set(ids)) == len(photos)
    served = wrong = 0
    for i, photo in enumerate(photos):
        for variant in image_variants(photo, seed=i).values():
            found = registry.find("ns", fingerprint(variant))
            served += found == ids[i]
            wrong += found not in (None, ids[i])
    assert wrong == 0
    assert served >= 0.95 * 4 * len(photos)


def test_different_photos_are_far_apart(photos: list[bytes]) -> None:
    prints = [fingerprint(p) for p in photos]
    closest = min(int(hamming(a.full, np.stack([b.full, *b.crops])).min())
                  for a, b in itertools.permutations(prints, 2))
    assert closest > MAX_DISTANCE


def test_namespaces_do_not_share_ids(photos: list[bytes]) -> None:
    registry = ImageRegistry(None)
    registry.resolve("a", fingerprint(photos[0]))
    assert registry.find("b", fingerprint(photos[0])) is None


def test_registry_persists_privately(tmp_path: Path, photos: list[bytes]) -> None:
    path = tmp_path / "cache.db.images"
    first = ImageRegistry(path)
    image_id = first.resolve("ns", fingerprint(photos[1]))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = ImageRegistry(path)
    variant = image_variants(photos[1])["resized_50pct"]
    assert again.find("ns", fingerprint(variant)) == image_id and len(again) == 1


def test_a_damaged_registry_line_is_skipped(tmp_path: Path, photos: list[bytes]) -> None:
    path = tmp_path / "r.images"
    ImageRegistry(path).resolve("ns", fingerprint(photos[2]))
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("{not json\n")
    assert len(ImageRegistry(path)) == 1


@pytest.mark.parametrize("data", [b"", b"not an image", b"\x89PNG\r\n\x1a\n" + b"\0" * 20])
def test_undecodable_bytes_raise_a_typed_error(data: bytes) -> None:
    with pytest.raises(ImageDecodeError):
        fingerprint(data)
