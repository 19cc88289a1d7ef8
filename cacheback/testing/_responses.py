"""The fake upstream's OpenAI Responses answers (``POST /v1/responses``): a ``response`` for a
``Reply``, with word-count usage, as the real API shapes it."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from ..providers._pieces import text_pieces
from ._answers import Reply, _text_of, token_count

__all__ = ["input_text", "openai_response"]


def input_text(body: Mapping[str, Any]) -> str:
    """The text of the last user input of a Responses request (the whole ``input`` string)."""
    value = body.get("input")
    if isinstance(value, str):
        return value
    for item in reversed(value if isinstance(value, list) else []):
        if isinstance(item, Mapping) and item.get("role") == "user":
            return _text_of(item.get("content"))
    return ""


def _input_tokens(body: Mapping[str, Any]) -> int:
    value = body.get("input")
    items = [{"content": value}] if isinstance(value, str) else value if isinstance(value, list) else []
    texts = [str(body.get("instructions") or "")]
    texts += [_text_of(i.get("content")) for i in items if isinstance(i, Mapping)]
    return sum(token_count(t) for t in texts)


def openai_response(reply: Reply, body: Mapping[str, Any], serial: int) -> dict[str, Any]:
    """A completed (or ``incomplete`` past ``max_output_tokens``) ``response`` for ``reply``:
    one message with its text, then one ``function_call`` item per tool call."""
    pieces = text_pieces(reply.text)
    limit = body.get("max_output_tokens")
    truncated = isinstance(limit, int) and len(pieces) > limit
    text = "".join(pieces[:limit]) if truncated else reply.text
    output: list[dict[str, Any]] = []
    if text:
        output.append({"type": "message", "id": f"msg_fake{serial:06d}", "status": "completed",
                       "role": "assistant", "content": [
                           {"type": "output_text", "text": text, "annotations": [],
                            "logprobs": []}]})
    if not truncated:
        output += [{"type": "function_call", "id": f"fc_fake{serial:06d}_{i}",
                    "call_id": f"call_{serial:06d}_{i}", "name": call.name,
                    "arguments": json.dumps(dict(call.arguments)), "status": "completed"}
                   for i, call in enumerate(reply.tool_calls)]
    now = int(time.time())
    prompt, completion = _input_tokens(body), token_count(text)
    return {
        "id": f"resp_fake{serial:06d}", "object": "response", "created_at": now,
        "completed_at": None if truncated else now,
        "status": "incomplete" if truncated else "completed", "background": False,
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if truncated else None,
        "instructions": body.get("instructions"), "max_output_tokens": limit,
        "model": body.get("model", ""), "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": body.get("reasoning") or {"effort": None, "summary": None},
        "store": body.get("store", True), "temperature": body.get("temperature", 1.0),
        "text": body.get("text") or {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"), "tools": body.get("tools") or [],
        "top_p": body.get("top_p", 1.0), "truncation": body.get("truncation", "disabled"),
        "usage": {"input_tokens": prompt,
                  "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                  "output_tokens": completion,
                  "output_tokens_details": {"reasoning_tokens": 0},
                  "total_tokens": prompt + completion},
        "user": None, "metadata": body.get("metadata") or {},
    }
