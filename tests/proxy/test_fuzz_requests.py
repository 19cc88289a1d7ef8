"""Hypothesis fuzzing of the proxy's request handling: random paths, headers and bodies, sent as
raw bytes (no client library tidies them up). The proxy itself never answers 5xx, and a cached
answer is only ever served to a request that asks the same question (of the same model)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from proxy_support import RunningProxy

from cacheback._normalize import normalise_query
from cacheback.proxy import ProxyConfig
from cacheback.testing import FakeUpstream

ROUTES = ("/v1/chat/completions", "/v1/messages")
MODELS = ("gpt-4o-mini", "gpt-4o")
# a tiny alphabet so different questions collide in the exact tier if the key is too coarse
QUESTION = st.text(alphabet="aAbB 1²?ßſ\t.é\u0301", min_size=1, max_size=6).filter(str.strip)
SEGMENT = st.sampled_from(["..", ".", "%2e%2e", "%2E", "%2F", "%5C", "%252F", "%00", "\\", "models",
                           "messages", "x", "", "%", "%zz", "chat", "completions", "~", ";a=b"])
HEADER_NAMES = st.sampled_from([
    "authorization", "x-api-key", "anthropic-version", "anthropic-beta", "content-type",
    "content-encoding", "x-cacheback-ttl", "x-cacheback-namespace", "x-cacheback-cache",
    "openai-organization", "accept-encoding", "transfer-encoding", "expect", "x-random"])
HEADER_VALUES = st.one_of(
    st.sampled_from(["Bearer sk-fuzz", "Bearer\tsk-fuzz", "sk-fuzz", "2023-06-01", "gzip",
                     "application/json", "no-store", "-1", "nan", "1e309", "chunked", "100-continue",
                     "", "tenant/a", "Bearer "]),
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=40))
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children,
                                                                        max_size=4),
    max_leaves=20)


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProxy]:
    with FakeUpstream() as upstream:
        db = tmp_path_factory.mktemp("fuzz") / "proxy.db"
        config = ProxyConfig(upstream_openai=upstream.openai_base_url,
                             upstream_anthropic=upstream.anthropic_base_url, db=str(db),
                             semantic=False)
        running = RunningProxy(config, None).start()
        yield running
        running.stop()


def _send(proxy: RunningProxy, method: str, path: str, headers: list[tuple[str, str]],
          body: bytes) -> tuple[int, dict[str, str], bytes]:
    host, port = proxy.url.removeprefix("http://").split(":")
    head = f"{method} {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers)
    if not any(name in ("content-length", "transfer-encoding") for name, _ in headers):
        head += f"content-length: {len(body)}\r\n"
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head.encode("latin-1") + b"\r\n" + body)
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    status_line, _, rest = raw.partition(b"\r\n")
    header_block, _, payload = rest.partition(b"\r\n\r\n")
    fields = {}
    for line in header_block.split(b"\r\n"):
        name, _, value = line.partition(b":")
        fields[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    return int(status_line.split()[1]), fields, payload


def _answer_text(route: str, payload: bytes, fields: dict[str, str]) -> tuple[str, str]:
    """The answer's text and model, from a JSON body or an SSE stream (chunked or not)."""
    if fields.get("transfer-encoding") == "chunked":
        data, out = payload, b""
        while data:
            size, _, data = data.partition(b"\r\n")
            n = int(size, 16)
            out, data = out + data[:n], data[n + 2:]
        payload = out
    if "text/event-stream" not in fields.get("content-type", ""):
        body = json.loads(payload)
        if route == "/v1/messages":
            return "".join(b.get("text", "") for b in body["content"]), body["model"]
        return body["choices"][0]["message"]["content"], body["model"]
    text, model = "", ""
    for line in payload.decode().splitlines():
        if not line.startswith("data:") or line == "data: [DONE]":
            continue
        event = json.loads(line[5:])
        if route == "/v1/messages":
            model = event.get("message", {}).get("model", model)
            text += event.get("delta", {}).get("text", "")
        else:
            model = event.get("model", model)
            for choice in event.get("choices", []):
                text += choice.get("delta", {}).get("content") or ""
    return text, model


def _check_hit(route: str, question: str, model: str, payload: bytes, fields: dict[str, str]) -> None:
    text, served_model = _answer_text(route, payload, fields)
    asked = text.removeprefix("This is the fake upstream's answer to: ")
    assert normalise_query(asked) == normalise_query(question), (question, text)
    assert served_model == model


SLOW = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@SLOW
@given(route=st.sampled_from(ROUTES), question=QUESTION, model=st.sampled_from(MODELS),
       stream=st.booleans(), system=st.sampled_from([None, "be brief", "be verbose"]))
def test_well_formed_requests_never_get_someone_elses_answer(
        proxy: RunningProxy, route: str, question: str, model: str, stream: bool,
        system: str | None) -> None:
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": question}],
                            "stream": stream}
    if route == "/v1/messages":
        body["max_tokens"] = 64
        auth = [("x-api-key", "sk-fuzz"), ("anthropic-version", "2023-06-01")]
        if system:
            body["system"] = system
    else:
        auth = [("authorization", "Bearer sk-fuzz")]
        if system:
            body["messages"].insert(0, {"role": "system", "content": system})
    for _ in range(2):
        status, fields, payload = _send(proxy, "POST", route,
                                        [*auth, ("content-type", "application/json")],
                                        json.dumps(body).encode())
        assert status == 200, payload[:300]
        if fields.get("x-cacheback") in ("hit", "semantic"):
            _check_hit(route, question, model, payload, fields)


@SLOW
@given(method=st.sampled_from(["POST", "GET", "PUT", "DELETE"]),
       path=st.one_of(st.sampled_from(ROUTES),
                      st.lists(SEGMENT, min_size=1, max_size=5).map(lambda s: "/v1/" + "/".join(s))),
       query=st.sampled_from(["", "?api-version=2024-06-01", "?a=%ff", "?%2e%2e"]),
       headers=st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=5),
       body=st.one_of(st.binary(max_size=200),
                      JSON.map(lambda v: json.dumps(v).encode()),
                      st.builds(lambda q, extra: json.dumps(
                          {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": q}],
                           **extra}).encode(),
                          QUESTION, st.dictionaries(st.sampled_from(
                              ["stream", "temperature", "n", "max_tokens", "tools", "system"]),
                              JSON, max_size=2))))
def test_no_input_makes_the_proxy_itself_answer_5xx(
        proxy: RunningProxy, method: str, path: str, query: str,
        headers: list[tuple[str, str]], body: bytes) -> None:
    status, fields, payload = _send(proxy, method, path + query, headers, body)
    # the fake upstream answers 501 to methods it does not implement: relayed, not the proxy's own
    if status >= 500:
        assert status == 501 and method != "POST", (status, payload[:300])


@pytest.mark.parametrize("path", ["/v1/models", "/v1/chat/completions", "/v1/messages"])
@pytest.mark.parametrize("value", ["\x80", "caf\xe9", "\xff\xfe"])
def test_header_bytes_outside_ascii_are_relayed_not_a_500(proxy: RunningProxy, path: str,
                                                         value: str) -> None:
    body = json.dumps({"model": "gpt-4o-mini", "max_tokens": 8,
                       "messages": [{"role": "user", "content": "hi"}]}).encode()
    for headers in ([("authorization", value)], [("authorization", "Bearer sk-fuzz"),
                                                 ("x-trace", value)]):
        status, _, payload = _send(proxy, "POST", path, headers, body)
        assert status < 500, payload[:300]
