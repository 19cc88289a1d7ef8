"""Server-sent events on the proxy's side: an answer replayed as the provider's stream, and a
relayed stream read back into the answer it carries."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from .._clients import StreamAssembly
from ..providers import ApiSpec
from ..providers._api import END_OF_STREAM
from ..providers._sse import SSEDecoder

__all__ = ["StreamCapture", "json_text", "replay_bytes"]


def json_text(value: Any) -> str:
    """``value`` as JSON whose UTF-8 encoding always works: readable non-ASCII text, except that
    a lone surrogate anywhere (a model may emit one; it was stored as ``\\udXXX``) makes the
    whole text ASCII with ``\\uXXXX`` escapes, which every JSON reader decodes back."""
    text = json.dumps(value, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value)
    return text


def replay_bytes(spec: ApiSpec, response: Mapping[str, Any], request: Mapping[str, Any]) -> bytes:
    """The bytes the provider would have streamed for ``response`` (named events for Anthropic
    and OpenAI Responses, a closing ``[DONE]`` for Chat Completions)."""
    return b"".join(spec.frames(spec.replay(dict(response), request), json_text))


class StreamCapture:
    """Reads the SSE bytes being relayed and folds their events; an error event, bad JSON or a
    stream that stops before the provider's end marker leaves nothing to store.

    ``status_code``, ``headers`` and ``url`` describe the relayed response for the errors the
    provider layer raises on a bad event (which end the capture).
    """

    def __init__(self, spec: ApiSpec, status_code: int, headers: Sequence[tuple[str, str]],
                 url: str) -> None:
        self._spec = spec
        self._response = httpx.Response(status_code, headers=list(headers),
                                        request=httpx.Request("POST", url))
        self._decoder = SSEDecoder()
        self._assembly = StreamAssembly(spec)
        self._finished = False
        self._broken = False

    def feed(self, chunk: bytes) -> None:
        """Take the next relayed chunk, in any framing."""
        if self._broken or self._finished:
            return
        try:
            for sse in self._decoder.feed(chunk):
                event = self._spec.decode_event(sse, self._response)
                if event is END_OF_STREAM:
                    self._finished = True
                elif event is not None:
                    self._assembly.add(event)
                    self._finished = self._spec.is_last_event(event)
        except Exception:  # noqa: BLE001 - error events and bad JSON mean "do not store"
            self._broken = True

    def result(self) -> dict[str, Any] | None:
        """The assembled answer, if the stream ended properly and every part finished."""
        return None if self._broken else self._assembly.result(self._finished)
