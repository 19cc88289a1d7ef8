"""Media faults: a missing or broken Whisper model, a transcriber that raises, a damaged image.
Voice questions then bypass the cache with the reason; nothing else changes (text questions
keep hitting, the upstream still answers every call)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cacheback import SemanticCache
from cacheback.media import MediaPolicy, Transcriber, Transcript, WhisperTranscriber
from cacheback.openai import CachedOpenAI, CachePolicy
from cacheback.testing import FakeUpstream

WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(100)


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


class Raising(Transcriber):
    name = "raising"

    def transcribe(self, data: bytes, format: str = "") -> Transcript:
        raise RuntimeError("boom")


def _broken_model(tmp_path: Path) -> Path:
    folder = tmp_path / "whisper"
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"\0" * 1024)
    (folder / "config.json").write_text("{not json", encoding="utf-8")
    return folder


@pytest.fixture(params=["missing", "broken", "raising"])
def transcriber(request: pytest.FixtureRequest, tmp_path: Path) -> Transcriber:
    if request.param == "missing":
        return WhisperTranscriber(tmp_path / "nowhere")
    if request.param == "broken":
        return WhisperTranscriber(_broken_model(tmp_path))
    return Raising()


def _ask(client: CachedOpenAI, content: Any) -> Any:
    return client.chat.completions.create(model="gpt-4o-mini",
                                          messages=[{"role": "user", "content": content}])


def test_voice_bypasses_and_text_keeps_caching(transcriber: Transcriber, upstream: FakeUpstream,
                                               embedder: Any) -> None:
    cache = SemanticCache(":memory:", embedder=embedder)
    policy = CachePolicy(media=MediaPolicy(transcriber=transcriber))
    client = CachedOpenAI(api_key="k", base_url=upstream.openai_base_url, cache=cache,
                          policy=policy)
    audio = [{"type": "input_audio",
              "input_audio": {"data": base64.b64encode(WAV).decode(), "format": "wav"}}]
    first = _ask(client, audio)
    second = _ask(client, audio)
    assert first.cacheback.tier == second.cacheback.tier == "bypass"
    assert "audio not transcribed" in (second.cacheback.reason or "")
    _ask(client, "What is the capital of France?")
    assert _ask(client, "What is the capital of France?").cacheback.tier == "exact"
    assert upstream.request_count() == 3


def test_damaged_image_bytes_bypass(upstream: FakeUpstream, embedder: Any) -> None:
    cache = SemanticCache(":memory:", embedder=embedder)
    client = CachedOpenAI(api_key="k", base_url=upstream.openai_base_url, cache=cache)
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(64)).decode()
    content = [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}},
               {"type": "text", "text": "What is this?"}]
    assert _ask(client, content).cacheback.tier == "bypass"
    assert _ask(client, content).cacheback.tier == "bypass"
    assert upstream.request_count() == 2
