"""Splitting message content into text, images and audio, for both APIs' shapes."""

from __future__ import annotations

import base64

import pytest

from cacheback.media import UnsupportedPart, split_content

PNG = base64.b64encode(b"\x89PNG fake").decode()


def test_openai_chat_parts_in_order() -> None:
    content = [{"type": "text", "text": "What is this?"},
               {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}",
                                                   "detail": "low"}},
               {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg"}},
               {"type": "input_audio", "input_audio": {"data": PNG, "format": "wav"}}]
    parts = split_content(content)
    assert parts.text == "What is this?"
    assert parts.images[0].data == b"\x89PNG fake" and parts.images[0].detail == "low"
    assert parts.images[1].data is None and parts.images[1].url == "https://example.com/a.jpg"
    assert parts.audio[0].format == "wav" and parts.has_media


def test_anthropic_and_responses_shapes() -> None:
    parts = split_content([
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/b.png"}},
        {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}", "detail": "high"},
        {"type": "input_text", "text": "Compare them."}])
    assert [i.data is not None for i in parts.images] == [True, False, True]
    assert parts.text == "Compare them."


def test_plain_text_has_no_media() -> None:
    assert not split_content("hello").has_media
    assert not split_content([{"type": "text", "text": "a"}]).has_media


@pytest.mark.parametrize("part", [
    {"type": "file", "file": {"file_id": "f"}},
    {"type": "image_url", "image_url": {"url": "data:image/png,notbase64"}},
    {"type": "input_audio", "input_audio": {"data": "***", "format": "wav"}},
    {"type": "image", "source": {"type": "file", "file_id": "x"}},
    {"type": "input_image", "file_id": "file-1"},
    42,
])
def test_parts_the_cache_cannot_key_are_refused(part: object) -> None:
    with pytest.raises(UnsupportedPart):
        split_content([part])
