"""Audio transcriptions and translations through the proxy, with the official SDK: the same file
twice is one upstream call; any other file or parameter is another."""

from __future__ import annotations

from collections.abc import Callable

import openai
import pytest
from proxy_support import RunningProxy

from cacheback.testing import FakeUpstream

WAV = b"RIFF" + bytes(range(256)) * 40


def _client(proxy: RunningProxy, key: str = "sk-audio") -> openai.OpenAI:
    return openai.OpenAI(api_key=key, base_url=proxy.url + "/v1", max_retries=0)


@pytest.mark.parametrize("endpoint", ["transcriptions", "translations"])
def test_same_file_twice_is_one_upstream_call(proxy: RunningProxy, upstream: FakeUpstream,
                                              endpoint: str) -> None:
    resource = getattr(_client(proxy).audio, endpoint)
    first = resource.create(model="whisper-1", file=("q.wav", WAV))
    raw = resource.with_raw_response.create(model="whisper-1", file=("again.wav", WAV))
    assert raw.headers["x-cacheback"] == "hit"
    assert raw.parse().text == first.text
    assert upstream.request_count() == 1


@pytest.mark.parametrize("change", [
    {"file": ("q.wav", WAV + b"x")}, {"language": "de"}, {"prompt": "Names: Ana"},
    {"temperature": 0.2}, {"response_format": "text"}, {"file": ("q.mp3", WAV)},
])
def test_any_other_file_or_parameter_misses(proxy: RunningProxy, upstream: FakeUpstream,
                                            change: dict[str, object]) -> None:
    client = _client(proxy)
    client.audio.transcriptions.create(model="whisper-1", file=("q.wav", WAV))
    kwargs: dict[str, object] = {"model": "whisper-1", "file": ("q.wav", WAV), **change}
    client.audio.transcriptions.with_raw_response.create(**kwargs)  # type: ignore[arg-type]
    assert upstream.request_count() == 2


def test_text_answers_replay_as_text(proxy: RunningProxy, upstream: FakeUpstream) -> None:
    client = _client(proxy)
    first = client.audio.transcriptions.create(model="whisper-1", file=("q.wav", WAV),
                                               response_format="text")
    again = client.audio.transcriptions.with_raw_response.create(
        model="whisper-1", file=("q.wav", WAV), response_format="text")
    assert again.headers["x-cacheback"] == "hit" and again.headers["content-type"].startswith("text/")
    assert again.text == (first if isinstance(first, str) else first.text)
    assert upstream.request_count() == 1


def test_tenants_do_not_share_transcripts(start_proxy: Callable[..., RunningProxy],
                                          upstream: FakeUpstream) -> None:
    proxy = start_proxy()
    _client(proxy, "sk-one").audio.transcriptions.create(model="whisper-1", file=("q.wav", WAV))
    _client(proxy, "sk-two").audio.transcriptions.create(model="whisper-1", file=("q.wav", WAV))
    assert upstream.request_count() == 2


def test_an_unreadable_form_is_relayed(proxy: RunningProxy, upstream: FakeUpstream) -> None:
    import httpx
    reply = httpx.post(proxy.url + "/v1/audio/transcriptions", content=b"not a form",
                       headers={"authorization": "Bearer sk-x", "content-type": "text/plain"})
    assert reply.status_code == 400 and reply.headers["x-cacheback"] == "bypass"


def _photo() -> bytes:
    from cacheback.testing._media import photo_paths
    paths = [p for p in photo_paths() if "skimage" in str(p)]
    if not paths:
        pytest.skip("scikit-image's bundled photos are not installed")
    return paths[0].read_bytes()


def test_chat_about_a_reencoded_photo_hits(proxy: RunningProxy, upstream: FakeUpstream) -> None:
    import base64

    from cacheback.testing._media import image_variants
    photo = _photo()

    def body(data: bytes) -> dict[str, object]:
        url = "data:image/png;base64," + base64.b64encode(data).decode()
        return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": url}},
            {"type": "text", "text": "What is in this picture?"}]}]}

    assert proxy.post("/v1/chat/completions", body(photo)).headers["x-cacheback"] == "miss"
    proxy.wait_stored(1)
    again = proxy.post("/v1/chat/completions", body(image_variants(photo)["jpeg_q40"]))
    assert again.headers["x-cacheback"] == "hit"
    assert upstream.request_count() == 1


def test_a_spoken_question_asked_again_hits(proxy: RunningProxy, upstream: FakeUpstream) -> None:
    import base64

    from cacheback.media import WhisperTranscriber
    from cacheback.testing._media import speak, speech_available
    if not speech_available() or not WhisperTranscriber().available:
        pytest.skip("espeak-ng or the [voice] extra is not installed")
    wav = base64.b64encode(speak("How do I reset my password?", "en-us", 130)).decode()
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": [
        {"type": "input_audio", "input_audio": {"data": wav, "format": "wav"}}]}]}
    assert proxy.post("/v1/chat/completions", body).headers["x-cacheback"] == "miss"
    proxy.wait_stored(1)
    assert proxy.post("/v1/chat/completions", body).headers["x-cacheback"] == "hit"
    assert upstream.request_count() == 1
