"""The official openai and anthropic SDKs, with only ``base_url`` changed, through the proxy."""

from __future__ import annotations

import time

import anthropic
import openai
import pytest
from proxy_support import RunningProxy

from cacheback.testing import FakeUpstream, Fault

QUESTION = [{"role": "user", "content": "Why is the sky blue?"}]
ANSWER = "This is the fake upstream's answer to: Why is the sky blue?"


def _openai(proxy: RunningProxy, key: str = "sk-test-one") -> openai.OpenAI:
    return openai.OpenAI(base_url=proxy.url + "/v1", api_key=key, max_retries=0)


def _anthropic(proxy: RunningProxy, key: str = "sk-ant-test-one") -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=proxy.url, api_key=key, max_retries=0)


def test_openai_json_miss_then_hit(proxy: RunningProxy, upstream: FakeUpstream) -> None:
    client = _openai(proxy)
    first = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=QUESTION)
    proxy.wait_stored(1)
    second = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=QUESTION)
    assert first.headers["x-cacheback"] == "miss"
    assert second.headers["x-cacheback"] == "hit"
    assert second.headers["x-cacheback-similarity"] == "1.0000"
    assert first.parse().model_dump() == second.parse().model_dump()
    assert second.parse().choices[0].message.content == ANSWER
    assert upstream.request_count("openai") == 1


def test_openai_stream_miss_then_hit(proxy: RunningProxy, upstream: FakeUpstream) -> None:
    client = _openai(proxy)
    texts = []
    for _ in range(2):
        with client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION, stream=True,
                                            stream_options={"include_usage": True}) as stream:
            chunks = list(stream)
        texts.append("".join(c.choices[0].delta.content or "" for c in chunks if c.choices))
        assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
        proxy.wait_stored(1)
    assert texts == [ANSWER, ANSWER]
    assert upstream.request_count("openai") == 1


def test_openai_stream_hit_from_a_json_answer(proxy: RunningProxy, upstream: FakeUpstream) -> None:
    client = _openai(proxy)
    client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION)
    proxy.wait_stored(1)
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=QUESTION,
                                                           stream=True)
    assert raw.headers["x-cacheback"] == "hit"
    assert raw.headers["content-type"].startswith("text/event-stream")
    text = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
    assert text == ANSWER
    assert upstream.request_count() == 1


def test_anthropic_json_miss_then_hit(proxy: RunningProxy, upstream: FakeUpstream) -> None:
    client = _anthropic(proxy)
    kwargs = {"model": "claude-3-5-haiku-latest", "max_tokens": 200, "messages": QUESTION}
    first = client.messages.with_raw_response.create(**kwargs)
    proxy.wait_stored(1)
    second = client.messages.with_raw_response.create(**kwargs)
    assert (first.headers["x-cacheback"], second.headers["x-cacheback"]) == ("miss", "hit")
    assert second.parse().content[0].text == ANSWER
    assert first.parse().model_dump() == second.parse().model_dump()
    assert upstream.request_count("anthropic") == 1


def test_anthropic_stream_miss_then_hit(proxy: RunningProxy, upstream: FakeUpstream) -> None:
    client = _anthropic(proxy)
    messages = []
    for _ in range(2):
        with client.messages.stream(model="claude-3-5-haiku-latest", max_tokens=200,
                                    messages=QUESTION) as stream:
            text = "".join(stream.text_stream)
            messages.append(stream.get_final_message())
        assert text == ANSWER
        proxy.wait_stored(1)
    assert messages[0].stop_reason == messages[1].stop_reason == "end_turn"
    assert messages[0].usage.output_tokens == messages[1].usage.output_tokens
    assert upstream.request_count("anthropic") == 1


@pytest.mark.parametrize("status, error", [
    (400, openai.BadRequestError), (429, openai.RateLimitError),
    (500, openai.InternalServerError), (401, openai.AuthenticationError)])
def test_openai_upstream_errors_pass_through(proxy: RunningProxy, upstream: FakeUpstream,
                                             status: int, error: type[Exception]) -> None:
    upstream.inject(Fault.http_status(status, api="openai"))
    with pytest.raises(error) as caught:
        _openai(proxy).chat.completions.create(model="gpt-4o-mini", messages=QUESTION)
    assert caught.value.status_code == status  # type: ignore[attr-defined]
    assert caught.value.body["message"] == f"injected {status}"  # type: ignore[attr-defined]
    assert caught.value.response.headers["x-request-id"].startswith("req_fake")  # type: ignore[attr-defined]
    answer = _openai(proxy).chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=QUESTION)
    assert answer.headers["x-cacheback"] == "miss"


@pytest.mark.parametrize("status, error", [
    (429, anthropic.RateLimitError), (529, anthropic.APIStatusError)])
def test_anthropic_upstream_errors_pass_through(proxy: RunningProxy, upstream: FakeUpstream,
                                                status: int, error: type[Exception]) -> None:
    upstream.inject(Fault.http_status(status, api="anthropic"))
    with pytest.raises(error) as caught:
        _anthropic(proxy).messages.create(model="claude-3-5-haiku-latest", max_tokens=50,
                                          messages=QUESTION)
    assert caught.value.status_code == status  # type: ignore[attr-defined]
    assert caught.value.body["error"]["message"] == f"injected {status}"  # type: ignore[attr-defined]
    assert upstream.request_count("anthropic") == 1
    assert proxy.stored() == 0


def test_openai_stream_cut_midway_is_not_stored(proxy: RunningProxy, upstream: FakeUpstream) -> None:
    upstream.inject(Fault.cut_stream(after_events=3, api="openai"))
    client = _openai(proxy)
    with pytest.raises(openai.APIError):
        with client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION,
                                            stream=True) as stream:
            list(stream)
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=QUESTION)
    assert raw.headers["x-cacheback"] == "miss"
    assert upstream.request_count() == 2


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_stream_closed_without_its_end_marker_is_not_stored(
        proxy: RunningProxy, upstream: FakeUpstream, api: str) -> None:
    upstream.inject(Fault.no_end_marker(api=api))  # type: ignore[arg-type]
    body: dict[str, object] = {"model": "gpt-4o-mini", "messages": QUESTION, "stream": True}
    path = "/v1/chat/completions"
    if api == "anthropic":
        body.update(model="claude-3-5-haiku-latest", max_tokens=50)
        path = "/v1/messages"
    proxy.post(path, body)
    body.pop("stream")
    time.sleep(0.2)
    assert proxy.post(path, body).headers["x-cacheback"] == "miss"
    assert upstream.request_count() == 2


def test_anthropic_stream_error_event_is_passed_on_and_not_stored(
        proxy: RunningProxy, upstream: FakeUpstream) -> None:
    upstream.inject(Fault.stream_error(after_events=2, api="anthropic"))
    client = _anthropic(proxy)
    with pytest.raises(anthropic.APIStatusError, match="injected stream error"):
        with client.messages.stream(model="claude-3-5-haiku-latest", max_tokens=50,
                                    messages=QUESTION) as stream:
            list(stream)
    raw = client.messages.with_raw_response.create(model="claude-3-5-haiku-latest", max_tokens=50,
                                                   messages=QUESTION)
    assert raw.headers["x-cacheback"] == "miss"
    proxy.wait_stored(1)


def test_stream_request_answered_with_an_error_status(proxy: RunningProxy,
                                                      upstream: FakeUpstream) -> None:
    upstream.inject(Fault.rate_limited(api="anthropic"))
    with pytest.raises(anthropic.RateLimitError) as caught:
        with _anthropic(proxy).messages.stream(model="claude-3-5-haiku-latest", max_tokens=50,
                                               messages=QUESTION) as stream:
            list(stream)
    assert caught.value.response.headers["x-cacheback"] == "miss"
    assert caught.value.response.headers["retry-after"] == "0.01"
