"""Near-duplicate images: a DCT perceptual hash in numpy and a registry of the images seen.

No image model runs offline here, so "the same image" means a near-duplicate of one image:
the same photo re-encoded (JPEG quality, PNG), resized, or cropped by a few percent. Two
different photos never count as the same, however alike their subjects (docs/media.md).

The hash: the image in grey, reduced to 64 x 64 by box averaging, its 2-D DCT, and the signs of
the 255 lowest non-DC frequencies (16 x 16 block) against their median: 255 bits. Re-encoding and
resizing move a few bits; a crop moves more, so a registered image also keeps the hashes of nine
crops to 95% of each side (offsets 0, 2.5% and 5% across and down), and a new image matches a
registered one when its hash is within :data:`MAX_DISTANCE` bits of any of its ten hashes.
"""

from __future__ import annotations

import io
import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["BITS", "CROP", "MAX_DISTANCE", "ImageDecodeError", "ImageFingerprint", "ImageRegistry",
           "fingerprint", "hamming"]

log = logging.getLogger("cacheback.media")

_SIDE = 64
_BLOCK = 16
#: Bits in one hash (the DC term is left out).
BITS = _BLOCK * _BLOCK - 1
#: The largest Hamming distance at which two hashes are one image (docs/media.md: variants of
#: the test photos reach 22 bits without a crop, different photos are 72 bits apart or more).
MAX_DISTANCE = 40
#: The share of each side a registered image's crop hashes cut away.
CROP = 0.05
_WORDS = (BITS + 63) // 64
_MAX_PIXELS = 64_000_000


class ImageDecodeError(ValueError):
    """The bytes are not an image Pillow can decode (or Pillow is not installed)."""


def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * i + 1) * k / (2 * n))
    m[0] /= np.sqrt(2.0)
    return (m * np.sqrt(2.0 / n)).astype(np.float64)


_DCT = _dct_matrix(_SIDE)


def _hash_grey(grey: Any) -> np.ndarray:
    """The packed 255-bit hash of a Pillow ``L`` image, as ``_WORDS`` uint64 words."""
    from PIL import Image

    small = grey.resize((_SIDE, _SIDE), Image.Resampling.BOX)
    pixels = np.asarray(small, dtype=np.float64)
    low = (_DCT @ pixels @ _DCT.T)[:_BLOCK, :_BLOCK].ravel()[1:]
    bits = np.zeros(_WORDS * 64, dtype=np.uint8)
    bits[:BITS] = low > np.median(low)
    return np.packbits(bits, bitorder="little").view("<u8").astype(np.uint64)


def _crops(grey: Any) -> list[Any]:
    w, h = grey.size
    dx, dy = int(w * CROP), int(h * CROP)
    if dx < 1 or dy < 1:
        return []
    boxes = [(ox, oy, w - dx + ox, h - dy + oy)
             for ox in (0, dx // 2, dx) for oy in (0, dy // 2, dy)]
    return [grey.crop(box) for box in boxes]


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bit distances between hash ``a`` (words) and each row of ``b`` (n, words)."""
    x = np.bitwise_xor(np.atleast_2d(b), a)
    return np.unpackbits(x.view(np.uint8), axis=-1).sum(axis=-1)


@dataclass(frozen=True)
class ImageFingerprint:
    """An image's hash, and the hashes of its nine crops (for registering it)."""

    full: np.ndarray
    crops: tuple[np.ndarray, ...]

    @property
    def key(self) -> str:
        """The hash as hex: the image's id when it is the first of its kind."""
        return "img:" + self.full.astype("<u8").tobytes().hex()


def fingerprint(data: bytes) -> ImageFingerprint:
    """The fingerprint of encoded image bytes (PNG, JPEG, WebP, GIF's first frame...)."""
    try:
        from PIL import Image, ImageOps
    except ImportError as exc:
        raise ImageDecodeError("image matching needs Pillow: pip install 'cacheback-ai[image]'") \
            from exc
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > _MAX_PIXELS:
                raise ImageDecodeError(f"image of {img.width} x {img.height} pixels is too large")
            img.draft("L", (4 * _SIDE, 4 * _SIDE))
            grey = ImageOps.exif_transpose(img).convert("L")
    except ImageDecodeError:
        raise
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types for bad input
        raise ImageDecodeError(f"not a decodable image: {type(exc).__name__}") from exc
    return ImageFingerprint(_hash_grey(grey), tuple(_hash_grey(c) for c in _crops(grey)))


class ImageRegistry:
    """The images a cache has seen, per namespace: a new image's id is the id of the first
    registered near-duplicate, else its own hash (and it is registered).

    With a ``path`` the registry is kept as JSON lines (file mode 0600), so a restart keeps
    mapping variants to the same id; without one it lives in memory, and a variant seen after a
    restart is simply a miss (an identical image still hashes to the same id).
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *,
                 max_distance: int = MAX_DISTANCE, max_images: int = 100_000) -> None:
        self.path = Path(path) if path is not None else None
        self.max_distance = max_distance
        self.max_images = max_images
        self._lock = threading.Lock()
        self._hashes: dict[str, np.ndarray] = {}
        self._ids: dict[str, list[str]] = {}
        self._count = 0
        if self.path is not None:
            self._load()

    def _load(self) -> None:
        assert self.path is not None
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return
        except OSError as exc:
            log.warning("cacheback: image registry %s unreadable, starting empty: %r", self.path, exc)
            return
        for line in lines:
            try:
                row = json.loads(line)
                hashes = [np.frombuffer(bytes.fromhex(h), dtype="<u8").astype(np.uint64)
                          for h in row["hashes"]]
                self._add(str(row["namespace"]), str(row["id"]), hashes)
            except (ValueError, KeyError, TypeError):
                continue

    def _add(self, namespace: str, image_id: str, hashes: list[np.ndarray]) -> None:
        rows = np.stack([h.reshape(_WORDS) for h in hashes])
        old = self._hashes.get(namespace)
        self._hashes[namespace] = rows if old is None else np.concatenate([old, rows])
        self._ids.setdefault(namespace, []).extend([image_id] * len(hashes))
        self._count += 1

    def _append(self, namespace: str, image_id: str, hashes: list[np.ndarray]) -> None:
        if self.path is None:
            return
        row = {"namespace": namespace, "id": image_id,
               "hashes": [h.astype("<u8").tobytes().hex() for h in hashes]}
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(row) + "\n")
        except OSError as exc:
            log.warning("cacheback: could not persist the image registry: %r", exc)

    def find(self, namespace: str, image: ImageFingerprint) -> str | None:
        """The id of a registered near-duplicate of ``image``, if any (nothing is registered)."""
        with self._lock:
            rows = self._hashes.get(namespace)
            if rows is None:
                return None
            distances = hamming(image.full, rows)
            best = int(np.argmin(distances))
            if int(distances[best]) <= self.max_distance:
                return self._ids[namespace][best]
            return None

    def resolve(self, namespace: str, image: ImageFingerprint) -> str:
        """The id ``image`` is cached under, registering it when it is new."""
        found = self.find(namespace, image)
        if found is not None:
            return found
        hashes = [image.full, *image.crops]
        with self._lock:
            if self._count >= self.max_images:
                return image.key
            self._add(namespace, image.key, hashes)
            self._append(namespace, image.key, hashes)
        return image.key

    def __len__(self) -> int:
        return self._count
