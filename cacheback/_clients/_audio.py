"""Exact caching of audio transcriptions and translations (``/v1/audio/transcriptions``,
``/v1/audio/translations``), shared by the client and the proxy.

These calls are a function of the audio and the parameters, so only the exact tier is used:
the key is the sha256 of the audio bytes, and the scope holds the endpoint, the file name's
extension (the API reads the format from it) and every other form field (model, language,
prompt, response_format, temperature, timestamp_granularities[], include[]...). A streamed
transcription bypasses the cache. The answer is stored as sent (JSON or text, with its content
type), so a hit replays the same bytes.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from ..cache import SemanticCache

__all__ = ["AUDIO_ENDPOINTS", "AudioAnswer", "AudioCache", "AudioKey", "audio_key"]

log = logging.getLogger("cacheback.clients")

AUDIO_ENDPOINTS = frozenset({"transcriptions", "translations"})
_STREAM_VALUES = frozenset({"true", "1", "True"})


@dataclass(frozen=True)
class AudioKey:
    """The cache key of one transcription request, or why it bypasses (``query`` None)."""

    query: str | None
    scope: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None


@dataclass(frozen=True)
class AudioAnswer:
    """A stored transcription answer: the body as sent and its content type."""

    body: str
    content_type: str
    entry_id: int


def audio_key(endpoint: str, fields: Mapping[str, str | Sequence[str]], audio: bytes,
              filename: str | None) -> AudioKey:
    """The key of a transcription or translation of ``audio`` with form ``fields``."""
    if endpoint not in AUDIO_ENDPOINTS:
        return AudioKey(None, reason=f"audio endpoint {endpoint!r} is not cached")
    stream = fields.get("stream")
    if isinstance(stream, str) and stream in _STREAM_VALUES:
        return AudioKey(None, reason="streamed transcriptions are not cached")
    if not audio:
        return AudioKey(None, reason="no audio file in the request")
    params = {k: (v if isinstance(v, str) else sorted(v)) for k, v in fields.items() if k != "stream"}
    suffix = PurePosixPath(filename or "").suffix.lower()
    scope = {"api": f"openai.audio.{endpoint}", "format": suffix, "params": params}
    return AudioKey("audio-sha256:" + hashlib.sha256(audio).hexdigest(), scope)


class AudioCache:
    """Looks up and stores transcription answers in one namespace; failures are misses."""

    def __init__(self, cache: SemanticCache, namespace: str, ttl: float | None = None) -> None:
        self.cache = cache
        self.namespace = namespace
        self.ttl = ttl

    def lookup(self, key: AudioKey) -> AudioAnswer | None:
        """The stored answer for ``key`` (exact tier only)."""
        if key.query is None:
            return None
        try:
            hit = self.cache.get(key.query, namespace=self.namespace, scope=key.scope,
                                 semantic=False)
        except Exception as exc:  # noqa: BLE001 - the cache must never break the call
            log.warning("cacheback: transcription lookup failed: %r", exc)
            return None
        if hit is None:
            return None
        content_type = str((hit.metadata or {}).get("content_type") or "application/json")
        return AudioAnswer(hit.response, content_type, hit.entry_id)

    def store(self, key: AudioKey, body: str, content_type: str) -> int | None:
        """Store an answer (a 2xx body as sent); the entry id, or None when skipped."""
        if key.query is None or not body.strip():
            return None
        try:
            return self.cache.put(key.query, body, namespace=self.namespace, scope=key.scope,
                                  ttl=self.ttl, metadata={"api": key.scope["api"],
                                                          "content_type": content_type,
                                                          "exact_only": True})
        except Exception as exc:  # noqa: BLE001 - the cache must never break the call
            log.warning("cacheback: transcription store failed: %r", exc)
            return None
