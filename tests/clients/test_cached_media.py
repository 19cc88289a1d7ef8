"""Questions with images through the drop-in clients: the same photo (or a re-encoded one) hits
with the same question, another photo never does; voice questions are keyed by their transcript."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from cacheback.testing._media import image_variants, photo_paths
from conftest import Harness

pytestmark = pytest.mark.anyio


def _photo(i: int) -> bytes:
    paths = [p for p in photo_paths() if "skimage" in str(p)]
    if len(paths) <= i:
        pytest.skip("scikit-image's bundled photos are not installed")
    return paths[i].read_bytes()


def _image_question(api: str, text: str, data: bytes) -> list[dict[str, Any]]:
    b64 = base64.b64encode(data).decode()
    if api == "openai":
        image = {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{b64}"}}
    else:
        image = {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg",
                                             "data": b64}}
    return [image, {"type": "text", "text": text}]


async def test_same_photo_hits_other_photo_misses(harness: Harness) -> None:
    first, second = _photo(0), _photo(4)
    await harness.ask(_image_question(harness.api, "What is in this picture?", first))  # type: ignore[arg-type]
    variant = image_variants(first)["jpeg_q40"]
    _, again = await harness.ask(_image_question(harness.api, "What is in this picture?", variant))  # type: ignore[arg-type]
    assert again.cacheback.tier == "exact"
    _, other = await harness.ask(_image_question(harness.api, "What is in this picture?", second))  # type: ignore[arg-type]
    assert other.cacheback.tier == "miss"
    assert harness.upstream.request_count() == 2


async def test_a_url_image_is_keyed_by_its_url(harness: Harness) -> None:
    def question(url: str) -> list[dict[str, Any]]:
        if harness.api == "openai":
            return [{"type": "image_url", "image_url": {"url": url}},
                    {"type": "text", "text": "Describe it."}]
        return [{"type": "image", "source": {"type": "url", "url": url}},
                {"type": "text", "text": "Describe it."}]

    await harness.ask(question("https://example.com/a.jpg"))  # type: ignore[arg-type]
    _, same = await harness.ask(question("https://example.com/a.jpg"))  # type: ignore[arg-type]
    _, other = await harness.ask(question("https://example.com/b.jpg"))  # type: ignore[arg-type]
    assert (same.cacheback.tier, other.cacheback.tier) == ("exact", "miss")


async def test_an_undecodable_image_bypasses_with_its_reason(harness: Harness) -> None:
    bad = _image_question(harness.api, "What is this?", b"not an image at all")
    _, result = await harness.ask(bad)  # type: ignore[arg-type]
    _, again = await harness.ask(bad)  # type: ignore[arg-type]
    assert again.cacheback.tier == "bypass" and "image" in (again.cacheback.reason or "")
