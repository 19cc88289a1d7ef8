"""Reading the media parts of a chat message: pure functions of JSON, no decoding.

Both APIs' shapes are understood:

* OpenAI Chat Completions: ``{"type": "image_url", "image_url": {"url": ..., "detail": ...}}``
  and ``{"type": "input_audio", "input_audio": {"data": <base64>, "format": "wav"}}``;
* OpenAI Responses: ``{"type": "input_image", "image_url": ..., "detail": ...}``;
* Anthropic Messages: ``{"type": "image", "source": {"type": "base64", "media_type": ...,
  "data": ...}}`` or ``{"source": {"type": "url", "url": ...}}``.

A ``data:`` URL carries its bytes; any other URL is only a name, since nothing is fetched.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["AudioPart", "ImagePart", "MediaContent", "UnsupportedPart", "split_content"]

_TEXT_TYPES = frozenset({"text", "input_text"})


class UnsupportedPart(ValueError):
    """A part the media layer cannot key (a file, a tool result, malformed base64...)."""


@dataclass(frozen=True)
class ImagePart:
    """One image: its bytes when the request carries them, else the URL it names."""

    data: bytes | None
    url: str | None
    detail: str | None = None


@dataclass(frozen=True)
class AudioPart:
    """One spoken input, as sent (``format`` is the API's, e.g. ``wav`` or ``mp3``)."""

    data: bytes
    format: str


@dataclass(frozen=True)
class MediaContent:
    """A message's content split into its text and its media, in order."""

    text: str
    images: tuple[ImagePart, ...] = field(default=())
    audio: tuple[AudioPart, ...] = field(default=())

    @property
    def has_media(self) -> bool:
        """Whether any image or audio part is present."""
        return bool(self.images or self.audio)


def _b64(data: Any) -> bytes:
    if not isinstance(data, str) or not data:
        raise UnsupportedPart("media data is not a base64 string")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UnsupportedPart("media data is not valid base64") from exc


def _image_from_url(url: Any, detail: Any) -> ImagePart:
    if not isinstance(url, str) or not url:
        raise UnsupportedPart("image part without a URL")
    detail_s = detail if isinstance(detail, str) else None
    if url.startswith("data:"):
        header, sep, payload = url.partition(",")
        if not sep or ";base64" not in header:
            raise UnsupportedPart("an image data URL must be base64")
        return ImagePart(_b64(payload), None, detail_s)
    return ImagePart(None, url, detail_s)


def _part(part: Any, texts: list[str], images: list[ImagePart], audio: list[AudioPart]) -> None:
    if isinstance(part, str):
        texts.append(part)
        return
    if not isinstance(part, Mapping):
        raise UnsupportedPart(f"message part of type {type(part).__name__}")
    kind = part.get("type")
    if kind in _TEXT_TYPES:
        texts.append(str(part.get("text", "")))
    elif kind == "image_url":
        inner = part.get("image_url")
        if isinstance(inner, Mapping):
            images.append(_image_from_url(inner.get("url"), inner.get("detail")))
        else:
            images.append(_image_from_url(inner, None))
    elif kind == "input_image":
        if part.get("file_id"):
            raise UnsupportedPart("an image given by file id")
        images.append(_image_from_url(part.get("image_url"), part.get("detail")))
    elif kind == "image":
        source = part.get("source")
        if not isinstance(source, Mapping):
            raise UnsupportedPart("image block without a source")
        if source.get("type") == "base64":
            images.append(ImagePart(_b64(source.get("data")), None))
        elif source.get("type") == "url":
            images.append(_image_from_url(source.get("url"), None))
        else:
            raise UnsupportedPart(f"image source {source.get('type')!r}")
    elif kind == "input_audio":
        inner = part.get("input_audio")
        if not isinstance(inner, Mapping):
            raise UnsupportedPart("input_audio part without data")
        fmt = inner.get("format")
        audio.append(AudioPart(_b64(inner.get("data")), fmt if isinstance(fmt, str) else ""))
    else:
        raise UnsupportedPart(f"message part of type {kind!r}")


def split_content(content: Any) -> MediaContent:
    """The text, images and audio of a message's ``content``.

    Raises :class:`UnsupportedPart` for a part that is neither text nor a supported medium.
    """
    if isinstance(content, str):
        return MediaContent(content)
    if not isinstance(content, Sequence):
        raise UnsupportedPart(f"content of type {type(content).__name__}")
    texts: list[str] = []
    images: list[ImagePart] = []
    audio: list[AudioPart] = []
    for part in content:
        _part(part, texts, images, audio)
    return MediaContent("\n".join(texts), tuple(images), tuple(audio))
