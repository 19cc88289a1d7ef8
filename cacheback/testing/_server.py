"""``FakeUpstream``: OpenAI Chat Completions and Responses, and Anthropic Messages, over real HTTP
on 127.0.0.1.

A stdlib ``ThreadingHTTPServer`` on an ephemeral port, in a daemon thread. Responses are
deterministic (a responder callable), streams use chunked transfer encoding so a cut stream is a
real protocol error, and every request is logged (with API keys redacted) for assertions.
"""

from __future__ import annotations

import collections
import hashlib
import json
import socket
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from ..pricing import estimate_cost
from ..providers import ApiSpec
from ..providers._sse import encode_event
from ..providers.anthropic_messages import AnthropicMessagesSpec
from ..providers.openai_chat import OpenAIChatSpec
from ..providers.openai_responses import OpenAIResponsesSpec
from ._answers import (
    Api,
    Reply,
    UpstreamRequest,
    anthropic_message,
    default_responder,
    error_body,
    openai_completion,
)
from ._embeddings import embeddings_answer
from ._faults import Fault
from ._responses import openai_response

__all__ = ["FakeUpstream"]

_ROUTES: dict[str, Api] = {"/v1/chat/completions": "openai", "/v1/messages": "anthropic",
                           "/v1/responses": "openai"}
_RESPONSES = "/v1/responses"
_AUDIO_ROUTES = frozenset({"/v1/audio/transcriptions", "/v1/audio/translations"})
_EMBEDDINGS = "/embeddings"
_SECRET_HEADERS = frozenset({"authorization", "x-api-key", "api-key"})
_REQUEST_ID_HEADER: dict[Api, str] = {"openai": "x-request-id", "anthropic": "request-id"}
_MALFORMED = b'{"id": "truncated'


def _route(path: str) -> tuple[Api | None, str]:
    """(API, canonical path): ``/v1/...``, or an Azure deployment path
    ``/openai/deployments/{d}/chat/completions`` / ``.../embeddings`` (as ``/v1/...``)."""
    parts = path.split("/")
    if len(parts) >= 5 and parts[1:3] == ["openai", "deployments"] and parts[3]:
        tail = "/" + "/".join(parts[4:])
        if tail in ("/chat/completions", _EMBEDDINGS):
            return "openai", "/v1" + tail
        return None, path
    return ("openai", path) if path == "/v1" + _EMBEDDINGS else (_ROUTES.get(path), path)


def _presented_key(api: Api, headers: Any) -> str:
    if api == "anthropic" and headers.get("x-api-key"):
        return str(headers["x-api-key"])
    if api == "openai" and headers.get("api-key"):
        return str(headers["api-key"])
    auth = str(headers.get("authorization") or "")
    return auth[7:] if auth.lower().startswith("bearer ") else ""


class _Handler(BaseHTTPRequestHandler):
    """One connection; ``server.upstream`` holds the state."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 30
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the stdlib access log."""

    def do_POST(self) -> None:
        self.server.upstream._serve(self)

    def send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)

    def start_stream(self, headers: dict[str, str]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.flush()

    def write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def drop_connection(self) -> None:
        """Close the socket mid-body: the client sees an incomplete chunked response."""
        self.wfile.flush()
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    #: Listen backlog. The stdlib's 5 overflows when a proxy opens dozens of connections at
    #: once, and some of them are then reset (502s under load in tests/proxy).
    request_queue_size = 128
    upstream: FakeUpstream

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (timeout, closed stream) is normal here; report anything else."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class FakeUpstream:
    """A deterministic stand-in for both provider APIs; use as a context manager.

    ``responder`` maps an ``UpstreamRequest`` to a ``Reply`` (or plain text); ``latency`` delays
    each response, ``event_delay`` each stream event; ``api_key`` (if given) must be presented.
    """

    def __init__(self, responder: Callable[[UpstreamRequest], Reply | str] | None = None, *,
                 latency: float = 0.0, event_delay: float = 0.0, api_key: str | None = None,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.responder = responder or default_responder
        self.latency = latency
        self.event_delay = event_delay
        self._api_key = api_key
        self._address = (host, port)
        self._lock = threading.Lock()
        self._faults: collections.deque[Fault] = collections.deque()
        self._requests: list[UpstreamRequest] = []
        self._serial = 0
        self._spent = 0.0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        #: How ``float`` embeddings are written: "exact" (OpenAI's) or "short" (see _embeddings).
        self.embedding_style = "exact"
        self._embedded: collections.Counter[str | tuple[int, ...]] = collections.Counter()

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> FakeUpstream:
        """Bind and serve in a daemon thread; idempotent."""
        if self._server is None:
            self._server = _Server(self._address, _Handler)
            self._server.upstream = self
            self._thread = threading.Thread(target=self._server.serve_forever,
                                            kwargs={"poll_interval": 0.01},
                                            name="cacheback-fake-upstream", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeUpstream:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- addresses -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` of the running server."""
        if self._server is None:
            raise RuntimeError("FakeUpstream is not running; call start() or use `with`")
        return f"http://{self._address[0]}:{self._server.server_port}"

    @property
    def openai_base_url(self) -> str:
        """The ``base_url`` for OpenAI clients (``.../v1``)."""
        return self.url + "/v1"

    @property
    def anthropic_base_url(self) -> str:
        """The ``base_url`` for Anthropic clients (the API adds ``/v1/messages``)."""
        return self.url

    # -- scripting and inspection --------------------------------------------------------

    def inject(self, *faults: Fault) -> None:
        """Queue faults; each is consumed by the next request it applies to (its API, its
        ``matching`` predicate)."""
        with self._lock:
            self._faults.extend(faults)

    @property
    def requests(self) -> list[UpstreamRequest]:
        """Every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def request_count(self, api: Api | None = None) -> int:
        """How many requests reached the upstream (for one API, or in total)."""
        with self._lock:
            return sum(1 for r in self._requests if api is None or r.api == api)

    def embedded(self, item: str | list[int] | tuple[int, ...]) -> int:
        """How many times ``item`` (a text or a token array) was embedded upstream."""
        with self._lock:
            return self._embedded[item if isinstance(item, str) else tuple(item)]

    @property
    def spent_usd(self) -> float:
        """What the successful calls would have cost at list prices (``cacheback.pricing``)."""
        with self._lock:
            return self._spent

    def reset(self) -> None:
        """Forget logged requests, pending faults and spend."""
        with self._lock:
            self._faults.clear()
            self._requests.clear()
            self._embedded.clear()
            self._spent = 0.0

    # -- serving -------------------------------------------------------------------------

    def _take_fault(self, request: UpstreamRequest) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.applies_to(request):
                    self._faults.remove(fault)
                    return fault
        return None

    def _record(self, request: UpstreamRequest) -> int:
        with self._lock:
            self._requests.append(request)
            self._serial += 1
            return self._serial

    def _serve(self, handler: _Handler) -> None:
        path, _, query = handler.path.partition("?")
        api, route = _route(path)
        length = int(handler.headers.get("content-length") or 0)
        raw = handler.rfile.read(length)
        if path.startswith("/openai/") and "api-version=" not in query:
            handler.send_json(404, {"error": {"code": "404", "message": "Resource not found"}})
            return
        if path in _AUDIO_ROUTES:
            self._transcribe(handler, path, raw)
            return
        if api is None:
            handler.send_json(404, {"error": {"message": f"no route {path}", "type": "not_found"}})
            return
        try:
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise ValueError("body is not an object")
        except ValueError as exc:
            handler.send_json(400, error_body(api, 400, f"invalid JSON body: {exc}"))
            return
        headers = {k.lower(): ("<redacted>" if k.lower() in _SECRET_HEADERS else v)
                   for k, v in handler.headers.items()}
        request = UpstreamRequest(api, path, body, headers, time.time(), query)
        serial = self._record(request)
        request_id = {_REQUEST_ID_HEADER[api]: f"req_fake{serial:06d}"}
        key = _presented_key(api, handler.headers)
        if not key or (self._api_key is not None and key != self._api_key):
            handler.send_json(401, error_body(api, 401, "invalid or missing API key"), request_id)
            return
        fault = self._take_fault(request)
        time.sleep(self.latency + (fault.seconds if fault is not None else 0.0))
        if fault is not None and fault.kind == "status":
            payload = fault.body if fault.body is not None else error_body(
                api, fault.status, f"injected {fault.status}")
            handler.send_json(fault.status, payload, {**request_id, **fault.headers})
            return
        if route.endswith(_EMBEDDINGS):
            self._embed(handler, request, request_id)
            return
        response = self._answer(request, serial)
        if body.get("stream"):
            self._stream(handler, api, body, response, fault, request_id,
                         OpenAIResponsesSpec() if path == _RESPONSES else None)
        elif fault is not None and fault.kind == "malformed_json":
            handler.send_json(200, _MALFORMED, request_id)
        else:
            handler.send_json(200, response, request_id)

    def _transcribe(self, handler: _Handler, path: str, raw: bytes) -> None:
        """A deterministic stand-in for Whisper: the text names the audio's sha256 and size; a
        ``response_format`` of text, srt or vtt answers as text."""
        from ..proxy._multipart import MultipartError, parse_form

        headers = {k.lower(): ("<redacted>" if k.lower() in _SECRET_HEADERS else v)
                   for k, v in handler.headers.items()}
        try:
            form = parse_form(handler.headers.get("content-type", ""), raw)
        except MultipartError as exc:
            handler.send_json(400, error_body("openai", 400, f"invalid form: {exc}"))
            return
        self._record(UpstreamRequest("openai", path, {**form.fields, "file_bytes": len(form.file)},
                                     headers, time.time()))
        time.sleep(self.latency)
        text = f"transcript of {hashlib.sha256(form.file).hexdigest()[:12]} ({len(form.file)} bytes)"
        if form.fields.get("response_format") in ("text", "srt", "vtt"):
            data = text.encode()
            handler.send_response(200)
            handler.send_header("content-type", "text/plain; charset=utf-8")
            handler.send_header("content-length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
            return
        handler.send_json(200, {"text": text, "usage": {"type": "duration", "seconds": 2}})

    def _embed(self, handler: _Handler, request: UpstreamRequest,
               request_id: dict[str, str]) -> None:
        """Deterministic vectors (``_embeddings``); each input embedded is counted."""
        status, answer, inputs = embeddings_answer(request.body, self.embedding_style)
        with self._lock:
            self._embedded.update(inputs)
        handler.send_json(status, answer, request_id)

    def _answer(self, request: UpstreamRequest, serial: int) -> dict[str, Any]:
        reply = self.responder(request)
        reply = Reply(reply) if isinstance(reply, str) else reply
        build = (openai_response if request.path == _RESPONSES
                 else openai_completion if request.api == "openai" else anthropic_message)
        response = build(reply, request.body, serial)
        with self._lock:
            self._spent += estimate_cost(response["model"], response["usage"])
        return response

    def _stream(self, handler: _Handler, api: Api, body: dict[str, Any],
                response: dict[str, Any], fault: Fault | None,
                request_id: dict[str, str], spec: ApiSpec | None = None) -> None:
        spec = spec or (OpenAIChatSpec() if api == "openai" else AnthropicMessagesSpec())
        frames = spec.frames(spec.replay(response, body))
        kind = fault.kind if fault is not None else None
        if kind == "no_end_marker":
            frames.pop()
        if kind == "malformed_json":
            frames[0] = encode_event(_MALFORMED.decode(),
                                     "response.created" if spec.named_events and api == "openai"
                                     else None if api == "openai" else "message_start")
        stop_at = fault.after_events if fault is not None and kind in (
            "cut_stream", "stream_error") else None
        handler.start_stream(request_id)
        for position, frame in enumerate(frames):
            if position == stop_at:
                if kind == "cut_stream":
                    handler.drop_connection()
                    return
                if isinstance(spec, OpenAIResponsesSpec):
                    handler.write_chunk(encode_event(json.dumps(
                        {"type": "error", "code": "server_error", "param": None,
                         "message": "injected stream error", "sequence_number": position}),
                        "error"))
                    break
                error = error_body(api, 529 if api == "anthropic" else 500, "injected stream error")
                handler.write_chunk(encode_event(json.dumps(error),
                                                 "error" if api == "anthropic" else None))
                break
            if self.event_delay and position:
                time.sleep(self.event_delay)
            handler.write_chunk(frame)
        handler.end_stream()
