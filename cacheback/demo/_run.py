"""Run the stream through a real ``CachedOpenAI`` against ``FakeUpstream`` and record every outcome."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, TextIO

from ..match import Matcher
from ..openai import CachedOpenAI
from ..pricing import estimate_cost, usage_tokens
from ..testing import FakeUpstream, Reply, UpstreamRequest
from ._data import SupportSet, load_support_set
from ._progress import ProgressBar
from ._report import MISS, DemoConfig, DemoReport, Outcome
from ._stream import StreamItem, build_stream

__all__ = ["describe_matcher", "run_demo", "system_prompt"]

_BANK = "Northwind Bank"
_FALLBACK = "Sorry, I did not understand that. Could you say it in another way?"
_API_KEY = "demo-key-not-a-secret"


def system_prompt(support: SupportSet) -> str:
    """A support bot's prompt: role, style, and the policy knowledge base it answers from."""
    policies = "\n".join(f"- {i.name.replace('_', ' ')}: {i.answer}" for i in support.intents)
    return (
        f"You are the customer-support assistant of {_BANK}, a fictional app-based bank. Answer "
        "the customer's question in two to four sentences, politely and precisely, using only "
        "the policies below. If the question is not covered, say so and offer the in-app chat.\n\n"
        f"Policies:\n{policies}"
    )


def describe_matcher(matcher: Matcher) -> str:
    """The matcher's own repr when it has one, else its class and threshold."""
    if type(matcher).__repr__ is not object.__repr__:
        return repr(matcher)
    threshold = getattr(matcher, "threshold", None)
    return f"{type(matcher).__name__}({'' if threshold is None else f'threshold={threshold}'})"


def _responder(support: SupportSet) -> Any:
    def answer(request: UpstreamRequest) -> Reply:
        intent = support.intent_of(request.last_user_text)
        return Reply(support.answer_for(intent) if intent else _FALLBACK)

    return answer


def _outcome(item: StreamItem, response: Any, seconds: float, model: str,
             support: SupportSet) -> Outcome:
    record = response.cacheback
    usage = response.usage.model_dump() if hasattr(response.usage, "model_dump") else response.usage
    tokens_in, tokens_out = usage_tokens(usage)
    if not record.hit:
        return Outcome(item, MISS, seconds, tokens_in, tokens_out, estimate_cost(model, usage))
    cached_intent = support.intent_of(record.matched_query or "")
    return Outcome(
        item, record.tier, seconds, tokens_in, tokens_out, record.cost_saved_usd,
        correct=None if cached_intent is None else cached_intent == item.intent,
        similarity=record.similarity, matched_query=record.matched_query,
    )


def run_demo(config: DemoConfig, db: Path, progress: TextIO | None = None) -> DemoReport:
    """Replay ``config.queries`` questions through the cached client; the cache lives at ``db``."""
    support = load_support_set()
    stream = build_stream(support, config.queries, config.seed)
    prompt = system_prompt(support)
    simulated = 0.0 if config.real_latency else config.latency
    bar = ProgressBar(len(stream), progress)
    outcomes: list[Outcome] = []
    started = time.perf_counter()
    with FakeUpstream(_responder(support), latency=config.latency if config.real_latency else 0.0) \
            as upstream, CachedOpenAI(base_url=upstream.openai_base_url, api_key=_API_KEY,
                                      cache=db, max_retries=0) as client:
        if client.cache.embedder is not None:
            client.cache.embedder.embed("warm up the model before timing")
        for done, item in enumerate(stream, start=1):
            start = time.perf_counter()
            response = client.chat.completions.create(
                model=config.model,
                messages=[{"role": "system", "content": prompt}, {"role": "user", "content": item.text}],
            )
            seconds = time.perf_counter() - start
            if not response.cacheback.hit:
                seconds += simulated
            outcomes.append(_outcome(item, response, seconds, config.model, support))
            bar.update(done, sum(1 for o in outcomes if o.hit))
        matcher = describe_matcher(client.cache.matcher)
        requests = upstream.request_count()
    if config.real_latency:
        note = f"the fake upstream really waited {config.latency * 1e3:.0f} ms per call"
    else:
        note = (f"upstream rows = measured round trip to the fake on 127.0.0.1 + "
                f"{config.latency * 1e3:.0f} ms simulated provider latency added in accounting "
                "(the fake answered at once; --real-latency makes it wait for real)")
    return DemoReport(config, outcomes, matcher, requests, time.perf_counter() - started, note,
                      support.source)
