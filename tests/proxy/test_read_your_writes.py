"""A repeat sent as soon as the first answer has been received is a hit: the answer is stored
before the response (or the stream's last chunk) leaves the proxy, and the embedding model is
loaded before the proxy accepts connections."""

from __future__ import annotations

import httpx
import pytest
from proxy_support import OPENAI_BODY, RunningProxy


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_an_immediate_repeat_hits(proxy: RunningProxy, stream: bool) -> None:
    for i in range(12):
        body = {**OPENAI_BODY, "messages": [{"role": "user", "content": f"Question number {i}?"}],
                "stream": stream}
        with httpx.Client(timeout=30) as client:
            first = client.post(proxy.url + "/v1/chat/completions", json=body,
                                headers={"authorization": "Bearer sk-ryw"})
            first.read()
            again = client.post(proxy.url + "/v1/chat/completions", json=body,
                                headers={"authorization": "Bearer sk-ryw"})
        assert first.headers["x-cacheback"] == "miss"
        assert again.headers["x-cacheback"] == "hit", f"repeat {i} missed"


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/responses"])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_an_immediate_repeat_hits_on_the_other_routes(proxy: RunningProxy, path: str,
                                                      stream: bool) -> None:
    for i in range(6):
        question = f"which planet is number {i} from the sun?"
        if path == "/v1/responses":
            body: dict[str, object] = {"model": "gpt-4o-mini", "input": question}
        else:
            body = {"model": "claude-3-5-haiku-latest", "max_tokens": 64,
                    "messages": [{"role": "user", "content": question}]}
        body["stream"] = stream
        first = proxy.post(path, body, key="sk-ryw")
        again = proxy.post(path, body, key="sk-ryw")
        assert first.headers["x-cacheback"] == "miss"
        assert again.headers["x-cacheback"] == "hit", f"repeat {i} missed"


def test_the_model_is_loaded_before_the_proxy_serves(start_proxy: object) -> None:
    proxy = start_proxy(semantic=True)  # type: ignore[operator]
    session = proxy.state.cache.embedder._session  # noqa: SLF001 - a white-box look
    assert session is not None
