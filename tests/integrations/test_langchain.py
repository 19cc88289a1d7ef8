"""CachebackCache as LangChain's LLM cache, with a real LangChain chat model that calls the
fake upstream through the official OpenAI SDK: repeats and paraphrases never reach it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("langchain_core", reason="langchain-core is in the dev extra")

import openai  # noqa: E402
from langchain_core.globals import set_llm_cache  # noqa: E402
from langchain_core.language_models import BaseChatModel  # noqa: E402
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage  # noqa: E402
from langchain_core.outputs import ChatGeneration, ChatResult  # noqa: E402

from cacheback import SemanticCache  # noqa: E402
from cacheback.integrations.langchain import CachebackCache  # noqa: E402
from cacheback.testing import FakeUpstream  # noqa: E402


class UpstreamChat(BaseChatModel):
    """A minimal LangChain chat model over the OpenAI SDK (what langchain-openai does)."""

    base_url: str
    model: str = "gpt-4o-mini"
    temperature: float = 0.0

    @property
    def _llm_type(self) -> str:
        return "upstream-chat"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.model, "temperature": self.temperature}

    def _messages(self, messages: list[BaseMessage]) -> list[dict[str, str]]:
        roles = {"human": "user", "ai": "assistant", "system": "system"}
        return [{"role": roles[m.type], "content": str(m.content)} for m in messages]

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        client = openai.OpenAI(api_key="sk-test", base_url=self.base_url)
        answer = client.chat.completions.create(model=self.model, temperature=self.temperature,
                                                messages=self._messages(messages))  # type: ignore[arg-type]
        text = answer.choices[0].message.content or ""
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    async def _agenerate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                         **kwargs: Any) -> ChatResult:
        client = openai.AsyncOpenAI(api_key="sk-test", base_url=self.base_url)
        answer = await client.chat.completions.create(model=self.model, temperature=self.temperature,
                                                      messages=self._messages(messages))  # type: ignore[arg-type]
        text = answer.choices[0].message.content or ""
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


@pytest.fixture
def lc_cache(tmp_path: Path) -> Any:
    cache = CachebackCache(SemanticCache(str(tmp_path / "lc.db"), embedder=None))
    set_llm_cache(cache)
    yield cache
    set_llm_cache(None)
    cache.cache.close()


def test_a_repeat_is_served_without_an_upstream_call(upstream: FakeUpstream, lc_cache: Any) -> None:
    model = UpstreamChat(base_url=upstream.openai_base_url)
    first = model.invoke("What is SSE?")
    assert upstream.request_count() == 1
    again = model.invoke("What is SSE?")
    assert upstream.request_count() == 1
    assert isinstance(again, AIMessage) and again.content == first.content
    assert lc_cache.last_hit.tier == "exact"
    other = UpstreamChat(base_url=upstream.openai_base_url, temperature=0.7).invoke("What is SSE?")
    assert upstream.request_count() == 2, "another temperature is another scope"
    assert other.content


@pytest.mark.anyio
async def test_async_repeat_is_served_without_an_upstream_call(upstream: FakeUpstream,
                                                               lc_cache: Any) -> None:
    model = UpstreamChat(base_url=upstream.openai_base_url)
    first = await model.ainvoke("Name a prime number")
    again = await model.ainvoke("Name a prime number")
    assert upstream.request_count() == 1 and again.content == first.content


def test_a_paraphrase_is_served_semantically_in_the_same_conversation(
        upstream: FakeUpstream, tmp_path: Path, embedder: Any) -> None:
    cache = CachebackCache(SemanticCache(str(tmp_path / "sem.db"), embedder=embedder))
    set_llm_cache(cache)
    try:
        model = UpstreamChat(base_url=upstream.openai_base_url)
        system = SystemMessage(content="You are terse.")
        first = model.invoke([system, HumanMessage(content="How do I reset my password?")])
        again = model.invoke([system, HumanMessage(content="How can I reset my password?")])
        assert upstream.request_count() == 1 and again.content == first.content
        assert cache.last_hit.tier == "semantic"
        model.invoke([SystemMessage(content="You are verbose."),
                      HumanMessage(content="How can I reset my password?")])
        assert upstream.request_count() == 2, "another conversation never shares a semantic hit"
    finally:
        set_llm_cache(None)
        cache.cache.close()


def test_clear_and_a_broken_cache_are_misses(upstream: FakeUpstream, lc_cache: Any) -> None:
    model = UpstreamChat(base_url=upstream.openai_base_url)
    model.invoke("What is SSE?")
    lc_cache.clear()
    model.invoke("What is SSE?")
    assert upstream.request_count() == 2
    lc_cache.cache.close()
    assert model.invoke("What is SSE?").content, "a closed cache is a miss, not an error"
