"""``client.audio.transcriptions`` / ``.translations`` on the cached OpenAI clients: the same
file and parameters are one upstream call, through the official SDK's types."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from cacheback import SemanticCache
from cacheback.openai import AsyncCachedOpenAI, CachedOpenAI
from cacheback.testing import FakeUpstream

WAV = b"RIFF" + bytes(range(256)) * 30


@pytest.fixture
def client(upstream: FakeUpstream, embedder: object) -> Iterator[CachedOpenAI]:
    cache = SemanticCache(":memory:", embedder=embedder)
    with CachedOpenAI(api_key="k", base_url=upstream.openai_base_url, cache=cache) as client:
        yield client


@pytest.mark.parametrize("endpoint", ["transcriptions", "translations"])
def test_same_file_is_transcribed_once(client: CachedOpenAI, upstream: FakeUpstream,
                                       endpoint: str, tmp_path: Path) -> None:
    resource = getattr(client.audio, endpoint)
    first = resource.create(model="whisper-1", file=("a.wav", WAV))
    path = tmp_path / "a.wav"
    path.write_bytes(WAV)
    again = resource.create(model="whisper-1", file=path)
    third = resource.create(model="whisper-1", file=io.BytesIO(WAV))
    assert again.text == first.text == third.text
    assert again.cacheback_hit and not getattr(first, "cacheback_hit", False)
    assert type(again) is type(first)
    assert upstream.request_count() == 2  # io.BytesIO has no name: another format, another key


def test_text_format_and_parameters_are_keyed(client: CachedOpenAI, upstream: FakeUpstream) -> None:
    t = client.audio.transcriptions
    text = t.create(model="whisper-1", file=("a.wav", WAV), response_format="text")
    assert t.create(model="whisper-1", file=("a.wav", WAV), response_format="text") == text
    t.create(model="whisper-1", file=("a.wav", WAV), language="fr")
    t.create(model="whisper-1", file=("a.wav", WAV), prompt="Glossary: Ana")
    t.create(model="whisper-1", file=("a.wav", WAV), timestamp_granularities=["word"],
             response_format="verbose_json")
    assert upstream.request_count() == 4


def test_other_audio_calls_are_the_sdks(client: CachedOpenAI) -> None:
    import openai
    assert isinstance(client.audio.speech, openai.resources.audio.Speech)
    assert callable(client.audio.transcriptions.with_raw_response.create)


@pytest.mark.anyio
async def test_async_twin(upstream: FakeUpstream, embedder: object) -> None:
    cache = SemanticCache(":memory:", embedder=embedder)
    client = AsyncCachedOpenAI(api_key="k", base_url=upstream.openai_base_url, cache=cache)
    first = await client.audio.transcriptions.create(model="whisper-1", file=("a.wav", WAV))
    again = await client.audio.transcriptions.create(model="whisper-1", file=("a.wav", WAV))
    assert again.text == first.text and again.cacheback_hit
    assert upstream.request_count() == 1
    await client.close()
