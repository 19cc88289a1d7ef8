"""Upstream faults seen through the drop-in client: timeout, connection refused, 429, 5xx,
malformed JSON, an SSE stream cut in the middle, and the caller abandoning a stream.

The caller gets exactly what the SDK would give it (the answer, or the SDK's own typed error,
never a storage or embedder one); nothing partial is stored; the cache counts the miss and no store; and
once the upstream is healthy the same question is answered and then served from the cache.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai as openai_sdk
import pytest

import cacheback.openai as cached_openai
import cacheback.providers as providers
import cacheback.testing as testing
from cacheback import EmbedderError, StorageError

from .harness import FaultHarness, upstream_answer

Fault = testing.Fault
FakeUpstream = testing.FakeUpstream


def _answer(request: Any) -> str:
    return upstream_answer(request.last_user_text)


@dataclass
class ChatApp:
    """The harness's app, through ``CachedOpenAI``: checks 1 and 2 on every reply."""

    client: Any

    def ask(self, question: str, *, stream: bool = False) -> bool:
        """Ask; the answer must be the upstream's, complete. Returns whether it was a cache hit."""
        messages = [{"role": "user", "content": question}]
        create = self.client.chat.completions.create
        if stream:
            with create(model="gpt-4o-mini", messages=messages, stream=True) as events:
                text = "".join(c.choices[0].delta.content or "" for c in events if c.choices)
                hit = events.cacheback_hit
        else:
            response = create(model="gpt-4o-mini", messages=messages)
            text, hit = response.choices[0].message.content, response.cacheback_hit
        assert text == upstream_answer(question), "wrong or partial answer"
        return bool(hit)


@pytest.fixture
def upstream() -> Iterator[Any]:
    with FakeUpstream(_answer, event_delay=0.002) as server:
        yield server


def _client(harness: FaultHarness, base_url: str, **options: Any) -> Any:
    options.setdefault("max_retries", 0)
    return cached_openai.CachedOpenAI(
        base_url=base_url, api_key="sk-test", cache=harness.cache, **options
    )


def _fault_then_recover(
    harness: FaultHarness, tmp_path: Path, upstream: Any, fault: Any, error: str, *,
    stream: bool = False, **options: Any,
) -> None:
    harness.open(tmp_path / "cache.db")
    app = ChatApp(_client(harness, upstream.openai_base_url, **options))
    warm = harness.questions(1)[0]
    assert (app.ask(warm), app.ask(warm)) == (False, True)
    question = harness.questions(1)[0]
    mark = harness.mark()
    upstream.inject(fault)
    with pytest.raises(getattr(providers, error)) as raised:
        app.ask(question, stream=stream)
    assert isinstance(raised.value, getattr(openai_sdk, error)), "not the SDK's own error type"
    assert not isinstance(raised.value, (StorageError, EmbedderError)), "a cache error leaked"
    assert app.ask(warm), "the cache must keep serving while the upstream fails"
    counters = harness.assert_visible(mark, "misses", log=None)["counters"]
    assert counters.get("puts", 0) == mark.counters.get("puts", 0), "a failed call stored something"
    seen = upstream.request_count()
    assert app.ask(question, stream=stream) is False, "a partial answer was stored"
    assert upstream.request_count() == seen + 1
    assert app.ask(question, stream=stream) is True, "caching did not resume"


def test_upstream_timeout(harness: FaultHarness, tmp_path: Path, upstream: Any) -> None:
    _fault_then_recover(harness, tmp_path, upstream, Fault.slow(1.0), "APITimeoutError", timeout=0.2)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_upstream_error_status(harness: FaultHarness, tmp_path: Path, upstream: Any, status: int) -> None:
    error = "RateLimitError" if status == 429 else "InternalServerError"
    _fault_then_recover(harness, tmp_path, upstream, Fault.http_status(status), error)


def test_upstream_429_retried_transparently(harness: FaultHarness, tmp_path: Path, upstream: Any) -> None:
    """With the SDK's default retries a short 429 never reaches the caller, and the answer that
    finally arrives is cached."""
    harness.open(tmp_path / "cache.db")
    app = ChatApp(_client(harness, upstream.openai_base_url, max_retries=2))
    question = harness.questions(1)[0]
    upstream.inject(Fault.rate_limited(retry_after=0.01))
    assert app.ask(question) is False
    assert upstream.request_count() == 2
    assert app.ask(question) is True


def test_upstream_malformed_json(harness: FaultHarness, tmp_path: Path, upstream: Any) -> None:
    _fault_then_recover(harness, tmp_path, upstream, Fault.malformed_json(), "APIResponseValidationError")


def test_sse_stream_cut_in_the_middle(harness: FaultHarness, tmp_path: Path, upstream: Any) -> None:
    _fault_then_recover(
        harness, tmp_path, upstream, Fault.cut_stream(after_events=2), "APIConnectionError", stream=True
    )


def test_connection_refused(harness: FaultHarness, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    harness.open(tmp_path / "cache.db")
    app = ChatApp(_client(harness, f"http://127.0.0.1:{port}/v1"))
    question = harness.questions(1)[0]
    mark = harness.mark()
    with pytest.raises(providers.APIConnectionError):
        app.ask(question)
    harness.assert_visible(mark, "misses", log=None)
    with FakeUpstream(_answer, port=port):  # the upstream comes up on that port
        assert (app.ask(question), app.ask(question)) == (False, True)


def test_caller_abandons_a_stream(harness: FaultHarness, tmp_path: Path, upstream: Any) -> None:
    """Reading two chunks and closing the stream: the half answer is never stored."""
    harness.open(tmp_path / "cache.db")
    app = ChatApp(_client(harness, upstream.openai_base_url))
    question = harness.questions(1)[0]
    mark = harness.mark()
    events = app.client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": question}], stream=True
    )
    for _, _chunk in zip(range(2), events):
        pass
    events.close()
    counters = harness.assert_visible(mark, "misses", log=None)["counters"]
    assert counters.get("puts", 0) == 0
    assert (app.ask(question, stream=True), app.ask(question, stream=True)) == (False, True)


def test_async_caller_cancels_a_stream(harness: FaultHarness, tmp_path: Path, upstream: Any) -> None:
    """An asyncio task cancelled mid-stream (a web client hanging up): nothing is stored."""
    harness.open(tmp_path / "cache.db")
    question = harness.questions(1)[0]
    mark = harness.mark()

    async def scenario() -> None:
        client = cached_openai.AsyncCachedOpenAI(
            base_url=upstream.openai_base_url, api_key="sk-test", cache=harness.cache, max_retries=0
        )
        started = asyncio.Event()

        async def reader() -> None:
            events = await client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": question}], stream=True
            )
            async for _chunk in events:
                started.set()
                await asyncio.sleep(0.05)

        task = asyncio.create_task(reader())
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await client.close()

    asyncio.run(scenario())
    counters = harness.assert_visible(mark, "misses", log=None)["counters"]
    assert counters.get("puts", 0) == 0
    app = ChatApp(_client(harness, upstream.openai_base_url))
    assert (app.ask(question), app.ask(question)) == (False, True)
