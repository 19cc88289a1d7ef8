"""OpenAI Responses (``POST {base_url}/responses``) over httpx.

``OpenAIResponsesSpec`` is the I/O-free part: SSE decoding (named events, no ``[DONE]``), folding
stream events into the full ``response`` (the one ``response.completed`` carries) and replaying a
full response as the event sequence the API streams: ``response.created``,
``response.in_progress``, per output item ``output_item.added``, ``content_part.added``,
``output_text.delta``..., ``output_text.done``, ``content_part.done``, ``output_item.done``, and
``response.completed``, numbered by ``sequence_number``. Headers and credentials are those of
Chat Completions (``OpenAIChatSpec``).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from ._api import END_OF_STREAM, StreamAccumulator, event_json, stream_error
from ._pieces import text_pieces
from ._sse import ServerSentEvent
from .openai_chat import OpenAIChatSpec

__all__ = ["OpenAIResponsesSpec", "ResponseEventAccumulator", "response_text"]

#: The events that end a Responses stream, with the ``status`` of the response they carry.
_FINAL_EVENTS = {"response.completed": "completed", "response.incomplete": "incomplete",
                 "response.failed": "failed"}
_LIFECYCLE = frozenset({"response.created", "response.in_progress", "response.queued"})


def response_text(response: Mapping[str, Any]) -> str:
    """The ``output_text`` parts of every output message, joined (the SDK's ``output_text``);
    the function calls as JSON when there is no text."""
    texts: list[str] = []
    calls: list[Any] = []
    for item in response.get("output") or ():
        if not isinstance(item, Mapping):
            continue
        if item.get("type") == "message":
            texts += [str(part.get("text") or "") for part in item.get("content") or ()
                      if isinstance(part, Mapping) and part.get("type") == "output_text"]
        elif item.get("type") in ("function_call", "custom_tool_call"):
            calls.append({k: item.get(k) for k in ("name", "arguments", "input") if k in item})
    if texts or not calls:
        return "".join(texts)
    return json.dumps(calls, sort_keys=True)


class ResponseEventAccumulator(StreamAccumulator):
    """Folds Responses stream events into one ``response``: the one the final event carries, its
    output filled from the ``output_item.done`` events if the final event left it empty. An
    ``error`` event breaks the fold (nothing is stored)."""

    def __init__(self) -> None:
        self._response: dict[str, Any] | None = None
        self._items: dict[int, Any] = {}
        self._final = False

    def add(self, event: dict[str, Any]) -> None:
        """Take one event."""
        kind = event.get("type")
        if kind == "error":
            raise ValueError(f"error event in the stream: {event.get('message')!r}")
        if kind == "response.output_item.done":
            self._items[int(event["output_index"])] = event["item"]
        elif kind in _LIFECYCLE:
            self._response = dict(event["response"])
        elif kind in _FINAL_EVENTS:
            self._response = dict(event["response"])
            self._final = kind != "response.failed"

    @property
    def complete(self) -> bool:
        """True once ``response.completed`` (or ``response.incomplete``) arrived."""
        return self._final and self._response is not None

    def result(self) -> dict[str, Any]:
        """The full response."""
        response = dict(self._response or {})
        if not response.get("output") and self._items:
            response["output"] = [self._items[i] for i in sorted(self._items)]
        return response


def _text_part(kind: str, item_id: str, output_index: int, index: int, part: Mapping[str, Any],
               seq: Iterator[int]) -> Iterator[dict[str, Any]]:
    """The delta / annotation / done events of one ``output_text`` or ``refusal`` part."""
    where = {"item_id": item_id, "output_index": output_index, "content_index": index}
    if kind == "output_text":
        for piece in text_pieces(str(part.get("text") or "")):
            yield {"type": "response.output_text.delta", **where, "delta": piece, "logprobs": [],
                   "sequence_number": next(seq)}
        for position, annotation in enumerate(part.get("annotations") or ()):
            yield {"type": "response.output_text.annotation.added", **where,
                   "annotation_index": position, "annotation": annotation,
                   "sequence_number": next(seq)}
        yield {"type": "response.output_text.done", **where, "text": part.get("text") or "",
               "logprobs": part.get("logprobs") or [], "sequence_number": next(seq)}
    else:
        for piece in text_pieces(str(part.get("refusal") or "")):
            yield {"type": "response.refusal.delta", **where, "delta": piece,
                   "sequence_number": next(seq)}
        yield {"type": "response.refusal.done", **where, "refusal": part.get("refusal") or "",
               "sequence_number": next(seq)}


def _message_events(index: int, item: Mapping[str, Any], seq: Iterator[int]
                    ) -> Iterator[dict[str, Any]]:
    item_id = str(item.get("id") or "")
    for position, part in enumerate(item.get("content") or ()):
        kind = part.get("type")
        where = {"item_id": item_id, "output_index": index, "content_index": position}
        empty = ({"type": "output_text", "text": "", "annotations": [], "logprobs": []}
                 if kind == "output_text" else
                 {"type": "refusal", "refusal": ""} if kind == "refusal" else part)
        yield {"type": "response.content_part.added", **where, "part": empty,
               "sequence_number": next(seq)}
        if kind in ("output_text", "refusal"):
            yield from _text_part(kind, item_id, index, position, part, seq)
        yield {"type": "response.content_part.done", **where, "part": part,
               "sequence_number": next(seq)}


def _reasoning_events(index: int, item: Mapping[str, Any], seq: Iterator[int]
                      ) -> Iterator[dict[str, Any]]:
    item_id = str(item.get("id") or "")
    for position, part in enumerate(item.get("summary") or ()):
        where = {"item_id": item_id, "output_index": index, "summary_index": position}
        yield {"type": "response.reasoning_summary_part.added", **where,
               "part": {"type": "summary_text", "text": ""}, "sequence_number": next(seq)}
        for piece in text_pieces(str(part.get("text") or "")):
            yield {"type": "response.reasoning_summary_text.delta", **where, "delta": piece,
                   "sequence_number": next(seq)}
        yield {"type": "response.reasoning_summary_text.done", **where,
               "text": part.get("text") or "", "sequence_number": next(seq)}
        yield {"type": "response.reasoning_summary_part.done", **where,
               "part": {"type": "summary_text", "text": part.get("text") or ""},
               "sequence_number": next(seq)}


def _call_events(index: int, item: Mapping[str, Any], seq: Iterator[int]
                 ) -> Iterator[dict[str, Any]]:
    where = {"item_id": str(item.get("id") or ""), "output_index": index}
    for piece in text_pieces(str(item.get("arguments") or "")):
        yield {"type": "response.function_call_arguments.delta", **where, "delta": piece,
               "sequence_number": next(seq)}
    yield {"type": "response.function_call_arguments.done", **where,
           "name": item.get("name"), "arguments": item.get("arguments") or "",
           "sequence_number": next(seq)}


def _started(item: Mapping[str, Any]) -> dict[str, Any]:
    """An output item as ``output_item.added`` shows it: nothing generated yet."""
    kind = item.get("type")
    if kind == "message":
        return {**item, "status": "in_progress", "content": []}
    if kind == "reasoning":
        return {k: v for k, v in {**item, "summary": []}.items() if k != "encrypted_content"}
    if kind == "function_call":
        return {**item, "status": "in_progress", "arguments": ""}
    return dict(item)


def _item_events(index: int, item: Mapping[str, Any], seq: Iterator[int]
                 ) -> Iterator[dict[str, Any]]:
    yield {"type": "response.output_item.added", "output_index": index, "item": _started(item),
           "sequence_number": next(seq)}
    kind = item.get("type")
    if kind == "message":
        yield from _message_events(index, item, seq)
    elif kind == "reasoning":
        yield from _reasoning_events(index, item, seq)
    elif kind == "function_call":
        yield from _call_events(index, item, seq)
    yield {"type": "response.output_item.done", "output_index": index, "item": dict(item),
           "sequence_number": next(seq)}


class OpenAIResponsesSpec(OpenAIChatSpec):
    """The I/O-free description of ``POST /responses``."""

    path = "/responses"
    named_events = True
    done_marker = None

    def decode_event(self, sse: ServerSentEvent, response: httpx.Response) -> Any:
        """The event dict (``END_OF_STREAM`` at a ``[DONE]``, which the API does not send); a
        payload that is an ``error`` object raises ``APIError``, as the SDK does. An ``error``
        *event* (``type: "error"``) is passed on like any other."""
        if sse.data.startswith("[DONE]"):
            return END_OF_STREAM
        data = event_json(sse, response)
        if isinstance(data, dict) and data.get("error") and "type" not in data:
            raise stream_error(data["error"], response)
        return data

    def is_last_event(self, event: dict[str, Any]) -> bool:
        """``response.completed`` / ``.incomplete`` / ``.failed`` (or an ``error``) ends a stream."""
        return event.get("type") in _FINAL_EVENTS or event.get("type") == "error"

    def accumulator(self) -> ResponseEventAccumulator:
        """A fresh event accumulator."""
        return ResponseEventAccumulator()

    def replay(self, response: dict[str, Any], request: Mapping[str, Any]
               ) -> Iterator[dict[str, Any]]:
        """The events the API streams for ``response``, ``sequence_number`` from 0."""
        seq = itertools.count()
        start = {**response, "status": "in_progress", "output": [], "usage": None,
                 "error": None, "incomplete_details": None}
        start.pop("completed_at", None)
        yield {"type": "response.created", "response": start, "sequence_number": next(seq)}
        yield {"type": "response.in_progress", "response": start, "sequence_number": next(seq)}
        for index, item in enumerate(response.get("output") or ()):
            if isinstance(item, Mapping):
                yield from _item_events(index, item, seq)
        final = next((kind for kind, status in _FINAL_EVENTS.items()
                      if status == response.get("status")), "response.completed")
        yield {"type": final, "response": response, "sequence_number": next(seq)}
