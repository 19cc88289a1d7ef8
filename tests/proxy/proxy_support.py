"""Running the proxy in-process: uvicorn in a daemon thread on an ephemeral port."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import uvicorn

from cacheback import SemanticCache
from cacheback.proxy import ProxyConfig, create_app

OPENAI_BODY: dict[str, Any] = {"model": "gpt-4o-mini",
                               "messages": [{"role": "user", "content": "What is SSE?"}]}
ANTHROPIC_BODY: dict[str, Any] = {"model": "claude-3-5-haiku-latest", "max_tokens": 256,
                                  "messages": [{"role": "user", "content": "What is SSE?"}]}


class RunningProxy:
    """A proxy app served by uvicorn in a daemon thread; ``url`` is its origin."""

    def __init__(self, config: ProxyConfig, cache: SemanticCache | None) -> None:
        self.config = config
        self.cache = cache
        self.app = create_app(config, cache=cache)
        self._server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=0,
                                                     log_level="warning", lifespan="on"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> RunningProxy:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the proxy did not start")
            time.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    @property
    def state(self) -> Any:
        return self.app.state.proxy

    def post(self, path: str, body: Any, key: str = "sk-test-one", **headers: str) -> httpx.Response:
        """POST JSON with an OpenAI-style (or, for /v1/messages, Anthropic-style) key."""
        auth = ({"x-api-key": key, "anthropic-version": "2023-06-01"} if path == "/v1/messages"
                else {"authorization": f"Bearer {key}"})
        return httpx.post(self.url + path, json=body, headers={**auth, **headers}, timeout=30)

    def wait_stored(self, count: int, timeout: float = 10.0) -> None:
        """Stores run after the answer is sent; wait until ``count`` of them happened."""
        deadline = time.monotonic() + timeout
        while self.stored() < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"only {self.stored()} of {count} answers were stored")
            time.sleep(0.01)

    def stored(self) -> int:
        snap = self.state.metrics.snapshot()
        return int(sum(v for n, _, v in snap["counters"] if n == "cacheback_proxy_stored_total"))
