"""Media fixtures: photos from scikit-image's bundled data, and speech from espeak-ng."""

from __future__ import annotations

from pathlib import Path

import pytest

from cacheback.testing._media import photo_paths, speak, speech_available


@pytest.fixture(scope="session")
def photos() -> list[bytes]:
    paths = [p for p in photo_paths() if "skimage" in str(p)]
    if len(paths) < 8:
        pytest.skip("scikit-image's bundled photos are not installed")
    return [Path(p).read_bytes() for p in paths]


@pytest.fixture(scope="session")
def say() -> object:
    if not speech_available():
        pytest.skip("espeak-ng is not installed")
    return speak
