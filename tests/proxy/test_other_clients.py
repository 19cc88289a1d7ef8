"""Any language: curl and a Node.js ``fetch`` client read a streamed cache hit."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from proxy_support import OPENAI_BODY, RunningProxy

from cacheback.testing import FakeUpstream

ANSWER = "This is the fake upstream's answer to: What is SSE?"
STREAM_BODY = {**OPENAI_BODY, "stream": True}

NODE_CLIENT = r"""
const [url, body] = process.argv.slice(1);
const response = await fetch(url, {method: "POST", body,
  headers: {"content-type": "application/json", "authorization": "Bearer sk-node"}});
const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
let buffer = "", text = "", done = false;
while (!done) {
  const chunk = await reader.read();
  if (chunk.done) break;
  buffer += chunk.value;
  let cut;
  while ((cut = buffer.indexOf("\n\n")) >= 0) {
    const data = buffer.slice(0, cut).split("\n").filter(l => l.startsWith("data: "))
      .map(l => l.slice(6)).join("\n");
    buffer = buffer.slice(cut + 2);
    if (data === "[DONE]") { done = true; break; }
    const event = JSON.parse(data);
    text += event.choices.length ? (event.choices[0].delta.content ?? "") : "";
  }
}
console.log(JSON.stringify({cache: response.headers.get("x-cacheback"), text, done}));
"""


def _texts(sse: str) -> str:
    events = [line[6:] for line in sse.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


def _curl(proxy: RunningProxy) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["curl", "-sS", "-N", "-D", "-", proxy.url + "/v1/chat/completions",
         "-H", "Authorization: Bearer sk-curl", "-H", "Content-Type: application/json",
         "-d", json.dumps(STREAM_BODY)], capture_output=True, text=True, timeout=30, check=True)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_reads_a_streamed_hit(proxy: RunningProxy, upstream: FakeUpstream) -> None:
    miss = _curl(proxy).stdout
    proxy.wait_stored(1)
    hit = _curl(proxy).stdout
    head, _, body = hit.partition("\n\n")
    assert "x-cacheback: miss" in miss.lower() and "x-cacheback: hit" in head.lower()
    assert "content-type: text/event-stream" in head.lower()
    assert _texts(body) == ANSWER
    assert upstream.request_count() == 1


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_node_fetch_reads_a_streamed_hit(proxy: RunningProxy, upstream: FakeUpstream) -> None:
    results = []
    for _ in range(2):
        run = subprocess.run(["node", "--input-type=module", "-e", NODE_CLIENT,
                              proxy.url + "/v1/chat/completions", json.dumps(STREAM_BODY)],
                             capture_output=True, text=True, timeout=60, check=True)
        results.append(json.loads(run.stdout))
        proxy.wait_stored(1)
    assert results == [{"cache": "miss", "text": ANSWER, "done": True},
                       {"cache": "hit", "text": ANSWER, "done": True}]
    assert upstream.request_count() == 1
