"""A reworded question is a semantic hit, with its similarity in a response header."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import openai
from proxy_support import RunningProxy

from cacheback import SemanticCache
from cacheback.embed import Embedder
from cacheback.testing import FakeUpstream


def test_reworded_question_is_a_semantic_hit(start_proxy: Callable[..., RunningProxy],
                                             upstream: FakeUpstream, embedder: Embedder,
                                             tmp_path: Path) -> None:
    proxy = start_proxy(SemanticCache(str(tmp_path / "s.db"), embedder=embedder))
    client = openai.OpenAI(base_url=proxy.url + "/v1", api_key="sk-sem", max_retries=0)

    def ask(question: str) -> openai.APIResponse:
        return client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": question}])

    first = ask("How do I reset my password?")
    proxy.wait_stored(1)
    second = ask("How can I reset my password?")
    assert (first.headers["x-cacheback"], second.headers["x-cacheback"]) == ("miss", "semantic")
    assert 0.92 <= float(second.headers["x-cacheback-similarity"]) < 1.0
    assert second.parse().choices[0].message.content.endswith("How do I reset my password?")
    assert ask("What is the boiling point of water?").headers["x-cacheback"] == "miss"
    assert upstream.request_count() == 2
