"""Upstream failures reach the caller with the SDKs' types and are never cached; cache failures
never reach the caller."""

from __future__ import annotations

import logging

import anthropic
import openai
import pytest

from cacheback import providers
from cacheback.testing import Fault
from conftest import Harness, collect, maybe

pytestmark = pytest.mark.anyio
QUESTION = "How tall is Mount Everest?"
SDK = {"openai": openai, "anthropic": anthropic}


async def test_cut_stream_raises_connection_error_and_is_not_stored(harness: Harness) -> None:
    harness.upstream.inject(Fault.cut_stream(after_events=3))
    stream = await maybe(harness.create(**harness.request(QUESTION, stream=True)))
    with pytest.raises(providers.APIConnectionError) as info:
        await collect(stream)
    assert isinstance(info.value, SDK[harness.api].APIConnectionError)
    _, again = await harness.ask(QUESTION)
    assert again.cacheback.tier == "miss" and harness.upstream.request_count() == 2


async def test_stream_without_its_end_marker_is_not_stored(harness: Harness) -> None:
    """Every event arrives, the finish reason too, and the connection closes cleanly, but
    without ``[DONE]`` / ``message_stop``: the answer may be cut short, so it is not stored."""
    harness.upstream.inject(Fault.no_end_marker())
    stream = await maybe(harness.create(**harness.request(QUESTION, stream=True)))
    try:
        await collect(stream)
    except Exception:  # noqa: BLE001 - an SDK may also call it an error; either way no store
        pass
    _, again = await harness.ask(QUESTION)
    assert again.cacheback.tier == "miss" and harness.upstream.request_count() == 2


async def test_in_stream_error_is_raised_and_not_stored(harness: Harness) -> None:
    harness.upstream.inject(Fault.stream_error(after_events=2))
    stream = await maybe(harness.create(**harness.request(QUESTION, stream=True)))
    with pytest.raises(SDK[harness.api].APIError):
        await collect(stream)
    _, again = await harness.ask(QUESTION)
    assert again.cacheback.tier == "miss"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
async def test_status_errors_have_sdk_types_and_are_not_cached(harness: Harness,
                                                               stream: bool) -> None:
    harness.upstream.inject(Fault.http_status(400), *[Fault.rate_limited(0.01)] * 3)
    with pytest.raises(SDK[harness.api].BadRequestError) as bad:
        await harness.ask(QUESTION, stream=stream)
    assert isinstance(bad.value, providers.BadRequestError) and bad.value.status_code == 400
    with pytest.raises(SDK[harness.api].RateLimitError) as limited:
        await harness.ask(QUESTION, stream=stream)
    assert limited.value.request_id is not None
    assert harness.upstream.request_count() == 4
    _, fresh = await harness.ask(QUESTION, stream=stream)
    assert fresh.cacheback.tier == "miss" and harness.upstream.request_count() == 5


async def test_retried_rate_limit_then_success_is_stored(harness: Harness) -> None:
    harness.upstream.inject(Fault.rate_limited(0.01))
    _, first = await harness.ask(QUESTION)
    assert first.cacheback.tier == "miss" and harness.upstream.request_count() == 2
    _, hit = await harness.ask(QUESTION)
    assert hit.cacheback.tier == "exact"


async def test_timeout_raises_the_timeout_type(harness: Harness) -> None:
    harness.upstream.inject(Fault.slow(1.0))
    client = harness.other_client(timeout=0.1, max_retries=0)
    with pytest.raises(SDK[harness.api].APITimeoutError):
        await harness.ask(QUESTION, client=client)


async def test_malformed_response_raises_and_is_not_stored(harness: Harness) -> None:
    harness.upstream.inject(Fault.malformed_json())
    with pytest.raises(providers.APIResponseValidationError):
        await harness.ask(QUESTION)
    _, fresh = await harness.ask(QUESTION)
    assert fresh.cacheback.tier == "miss"


class _BrokenCache:
    """Stands in for a cache whose every call raises."""

    def get(self, *args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    put = get


async def test_a_failing_cache_falls_back_to_the_upstream(harness: Harness,
                                                          caplog: pytest.LogCaptureFixture
                                                          ) -> None:
    call = (harness.client.chat.completions if harness.api == "openai"
            else harness.client.messages)._call
    call.access.cache = _BrokenCache()
    with caplog.at_level(logging.DEBUG, logger="cacheback.clients"):
        for stream in (False, True, False):
            text, result = await harness.ask(QUESTION, stream=stream)
            assert text.endswith(QUESTION) and result.cacheback.tier == "miss"
    assert harness.upstream.request_count() == 3
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "disk on fire" in warnings[0].getMessage()


def _deep(n: int) -> object:
    value: object = "x"
    for _ in range(n):
        value = [value]
    return value


@pytest.mark.parametrize("extra", [
    {"metadata": {"a": _deep(3000)}},
    {"extra_body": {"x": _deep(3000)}},
    {"seed": 10**5000},
    {"messages": [{"role": "user", "content": "hi \ud800 there"}]},
    {"messages": [{"role": "user", "content": _deep(3000)}]},
], ids=["deep-metadata", "deep-extra-body", "huge-int", "lone-surrogate", "deep-content"])
async def test_a_request_that_cannot_be_sent_is_an_invalid_input_error(
        harness: Harness, extra: dict[str, object]) -> None:
    """Not a RecursionError, a bare ValueError or UnicodeEncodeError; and not a cache fault."""
    from cacheback import InvalidInputError
    with pytest.raises(InvalidInputError):
        await maybe(harness.create(**{**harness.request("What is HTTP?"), **extra}))
    stats = harness.client.cache.stats()
    assert stats["breaker"] == "closed"
    assert not any(k.startswith("errors.") and v for k, v in stats.get("counters", stats).items()
                   if isinstance(v, int))
    assert harness.upstream.request_count() == 0


@pytest.mark.parametrize("options", [{"ttl": -1}, {"ttl": float("nan")}, {"ttl": 10**400},
                                     {"ttl": "60"}, {"bypass": "no"}, {"refresh": 1}])
async def test_bad_cacheback_options_are_invalid_input(harness: Harness,
                                                       options: dict[str, object]) -> None:
    from cacheback import InvalidInputError
    with pytest.raises(InvalidInputError):
        await maybe(harness.create(**harness.request("What is HTTP?"), cacheback=options))
    assert harness.upstream.request_count() == 0
