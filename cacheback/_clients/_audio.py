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

import asyncio
import hashlib
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ..cache import SemanticCache

__all__ = ["AUDIO_ENDPOINTS", "AsyncCachedAudioCall", "AudioAnswer", "AudioCache", "AudioKey",
           "CachedAudio", "CachedAudioCall", "audio_key"]

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
                                 semantic=False, pii="off")
        except Exception as exc:  # noqa: BLE001 - the cache must never break the call
            log.warning("cacheback: transcription lookup failed: %r", exc)
            return None
        if hit is None:
            return None
        content_type = str((hit.metadata or {}).get("content_type") or "application/json")
        return AudioAnswer(hit.response, content_type, hit.entry_id)

    def store(self, key: AudioKey, body: str, content_type: str) -> int | None:
        """Store an answer (a 2xx body as sent); the entry id, or None when skipped. The key is
        a digest, so the PII policy reads the transcript and the prompt instead: a recording
        that says personal data is not stored (unless the cache's PII mode is "off")."""
        if key.query is None or not body.strip():
            return None
        try:
            if self.cache.pii != "off":
                prompt = str((key.scope.get("params") or {}).get("prompt") or "")
                if self.cache.screen(body, context=[prompt] if prompt else ()).action != "clean":
                    return None
            return self.cache.put(key.query, body, namespace=self.namespace, scope=key.scope,
                                  ttl=self.ttl, pii="off",
                                  metadata={"api": key.scope["api"], "content_type": content_type,
                                            "exact_only": True})
        except Exception as exc:  # noqa: BLE001 - the cache must never break the call
            log.warning("cacheback: transcription store failed: %r", exc)
            return None


def _file_bytes(file: Any) -> tuple[str | None, bytes]:
    """(file name, bytes) of the SDK's ``file=`` argument: bytes, a path, a file object, or a
    ``(name, content[, type[, headers]])`` tuple."""
    if isinstance(file, (bytes, bytearray, memoryview)):
        return None, bytes(file)
    if isinstance(file, tuple) and len(file) >= 2:
        name, content = file[0], file[1]
        _, data = _file_bytes(content)
        return (str(name) if name is not None else None), data
    if isinstance(file, (str, os.PathLike)):
        path = Path(file)
        return path.name, path.read_bytes()
    if hasattr(file, "read"):
        data = file.read()
        name = getattr(file, "name", None)
        return (PurePosixPath(str(name)).name if isinstance(name, str) else None,
                data if isinstance(data, bytes) else str(data).encode("utf-8"))
    raise TypeError(f"unsupported file= argument of type {type(file).__name__}")


def _form_fields(kwargs: Mapping[str, Any]) -> dict[str, str | list[str]]:
    """The SDK's keyword arguments as the form fields it would send."""
    fields: dict[str, str | list[str]] = {}
    for name, value in kwargs.items():
        if name in _SDK_ONLY or value is None:
            continue
        if name == "extra_body" and isinstance(value, Mapping):
            fields.update({f"extra_body.{k}": json.dumps(v, sort_keys=True, default=str)
                           for k, v in value.items()})
        elif name == "extra_query" and isinstance(value, Mapping):
            fields.update({f"extra_query.{k}": str(v) for k, v in sorted(value.items())})
        elif isinstance(value, (list, tuple)):
            fields[f"{name}[]"] = [str(v) for v in value]
        elif isinstance(value, bool):
            fields[name] = "true" if value else "false"
        else:
            fields[name] = json.dumps(value, sort_keys=True) if isinstance(value, dict) else str(value)
    return fields


_SDK_ONLY = frozenset({"file", "extra_headers", "timeout"})
_TEXT_FORMATS = frozenset({"text", "srt", "vtt"})


def _result_type(endpoint: str, response_format: Any) -> Any:
    """The SDK type a JSON answer is parsed into (None: a plain ``str``)."""
    if response_format in _TEXT_FORMATS:
        return None
    from openai.types import audio as types

    verbose = response_format == "verbose_json"
    if endpoint == "translations":
        return types.TranslationVerbose if verbose else types.Translation
    if response_format == "diarized_json" and hasattr(types, "TranscriptionDiarized"):
        return types.TranscriptionDiarized
    return types.TranscriptionVerbose if verbose else types.Transcription


class _AudioCall:
    """What the sync and async wrappers share: the key, and answers to and from the cache."""

    def __init__(self, endpoint: str, sdk_resource: Any, audio: AudioCache) -> None:
        self._endpoint = endpoint
        self._sdk = sdk_resource
        self._audio = audio

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sdk, name)

    def _prepare(self, kwargs: dict[str, Any]) -> tuple[AudioKey, dict[str, Any]]:
        name, data = _file_bytes(kwargs.get("file"))
        kwargs = {**kwargs, "file": (name or "audio", data)}
        return audio_key(self._endpoint, _form_fields(kwargs), data, name), kwargs

    def _hit(self, answer: AudioAnswer, kwargs: Mapping[str, Any]) -> Any:
        from ._objects import attach_record
        from ._record import CacheRecord

        kind = _result_type(self._endpoint, kwargs.get("response_format"))
        if kind is None:
            return answer.body
        return attach_record(kind.model_validate(json.loads(answer.body)),
                             CacheRecord("exact", similarity=1.0, entry_id=answer.entry_id))

    def _store(self, key: AudioKey, result: Any) -> None:
        if isinstance(result, str):
            self._audio.store(key, result, "text/plain; charset=utf-8")
        elif hasattr(result, "model_dump_json"):
            self._audio.store(key, result.model_dump_json(exclude_unset=True), "application/json")


class CachedAudioCall(_AudioCall):
    """``client.audio.transcriptions`` / ``.translations`` with exact caching of ``create``;
    everything else is the SDK's resource."""

    def create(self, **kwargs: Any) -> Any:
        """The SDK's ``create``, answered from the cache when the same file and parameters were
        transcribed before."""
        key, kwargs = self._prepare(kwargs)
        answer = self._audio.lookup(key)
        if answer is not None:
            return self._hit(answer, kwargs)
        result = self._sdk.create(**kwargs)
        if key.query is not None:
            self._store(key, result)
        return result


class AsyncCachedAudioCall(_AudioCall):
    """The asyncio twin of :class:`CachedAudioCall`."""

    async def create(self, **kwargs: Any) -> Any:
        """The SDK's ``create``, answered from the cache when it can be."""
        key, kwargs = await asyncio.to_thread(self._prepare, kwargs)
        answer = await asyncio.to_thread(self._audio.lookup, key)
        if answer is not None:
            return self._hit(answer, kwargs)
        result = await self._sdk.create(**kwargs)
        if key.query is not None:
            await asyncio.to_thread(self._store, key, result)
        return result


class CachedAudio:
    """``client.audio``: transcriptions and translations cached, speech (text to speech) and
    anything else passed to the SDK."""

    def __init__(self, sdk_audio: Any, audio: AudioCache, *, asynchronous: bool = False) -> None:
        call = AsyncCachedAudioCall if asynchronous else CachedAudioCall
        self._sdk = sdk_audio
        self.transcriptions = call("transcriptions", sdk_audio.transcriptions, audio)
        self.translations = call("translations", sdk_audio.translations, audio)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sdk, name)
