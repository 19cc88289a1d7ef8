"""Media for tests and benchmarks: questions spoken by espeak-ng, photos with known licences,
and the variants a near-duplicate image test needs. Nothing is fetched: the voices come from
Debian's ``espeak-ng``, the photos from scikit-image's bundled data (public domain / CC0, see its
``data/README.txt`` and docstrings) and Debian's ``mate-backgrounds`` (GPL-2+, read in place,
never copied into this repository)."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

__all__ = ["VOICES", "image_variants", "photo_paths", "speak", "speech_available", "to_bytes"]

#: (espeak-ng voice, words per minute) pairs: two accents at two speeds.
VOICES = (("en-us", 130), ("en-gb-x-rp", 130), ("en-us", 160), ("en-gb-x-rp", 160))

_SKIMAGE_PHOTOS = ("astronaut.png", "brick.png", "camera.png", "cell.png", "chelsea.png",
                   "clock_motion.png", "coffee.png", "coins.png", "grass.png", "gravel.png",
                   "hubble_deep_field.jpg", "ihc.png", "microaneurysms.png", "moon.png",
                   "motorcycle_left.png", "motorcycle_right.png", "page.png", "retina.jpg",
                   "rocket.jpg", "text.png", "color.png")
_MATE = Path("/usr/share/backgrounds/mate")


def speech_available() -> bool:
    """Whether ``espeak-ng`` is on the PATH."""
    return shutil.which("espeak-ng") is not None


def speak(text: str, voice: str = "en-us", speed: int = 160) -> bytes:
    """``text`` spoken by espeak-ng as WAV bytes (22.05 kHz mono)."""
    out = subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text],
                         check=True, capture_output=True, timeout=60)
    return out.stdout


def photo_paths() -> list[Path]:
    """The photos found on this machine: scikit-image's and mate-backgrounds' nature photos."""
    paths: list[Path] = []
    try:
        import skimage
    except ImportError:
        pass
    else:
        data = Path(skimage.__file__).parent / "data"
        paths += [data / name for name in _SKIMAGE_PHOTOS if (data / name).is_file()]
    for folder in ("nature", "abstract/Elephants.jpg", "desktop/GreenTraditional.jpg"):
        target = _MATE / folder
        paths += sorted(target.glob("*.jpg")) if target.is_dir() else [target] * target.is_file()
    return paths


def to_bytes(image: Any, fmt: str, **options: Any) -> bytes:
    """A Pillow image encoded as ``fmt``."""
    buf = io.BytesIO()
    image.save(buf, fmt, **options)
    return buf.getvalue()


def image_variants(data: bytes, seed: int = 0) -> dict[str, bytes]:
    """The four variants of a photo that must count as the same image: JPEG at quality 40, half
    the size, 5% of each side cropped away at a seeded random split between the two edges, and
    PNG."""
    import random

    from PIL import Image

    rnd = random.Random(seed)

    with Image.open(io.BytesIO(data)) as img:
        img = img.convert("RGB")
        w, h = img.size
        dx, dy = int(w * 0.05), int(h * 0.05)
        ox, oy = rnd.randint(0, dx), rnd.randint(0, dy)
        return {
            "jpeg_q40": to_bytes(img, "JPEG", quality=40),
            "resized_50pct": to_bytes(img.resize((max(1, w // 2), max(1, h // 2)),
                                                 Image.Resampling.LANCZOS), "JPEG", quality=90),
            "cropped_5pct": to_bytes(img.crop((ox, oy, w - dx + ox, h - dy + oy)),
                                     "JPEG", quality=90),
            "png": to_bytes(img, "PNG"),
        }
