"""The SSE decoder: any chunking, every line ending, spec edge cases, sync and async wrappers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from hypothesis import given
from hypothesis import strategies as st

from cacheback.providers import ServerSentEvent, SSEDecoder, encode_event
from cacheback.providers._sse import aiter_events, iter_events

STREAM = (b"event: message_start\r\ndata: {\"a\": 1}\r\n\r\n"
          b": a comment\n"
          b"data: line one\ndata: line two\n\n"
          b"id: 7\rretry: 1500\rdata: [DONE]\r\r")
EXPECTED = [
    ServerSentEvent('{"a": 1}', "message_start"),
    ServerSentEvent("line one\nline two"),
    ServerSentEvent("[DONE]", None, "7", 1500),
]


def _decode_all(chunks: list[bytes]) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events = [e for chunk in chunks for e in decoder.feed(chunk)]
    return events + decoder.flush()


def test_whole_buffer_with_mixed_line_endings() -> None:
    assert _decode_all([STREAM]) == EXPECTED


def test_byte_by_byte_gives_the_same_events() -> None:
    assert _decode_all([STREAM[i:i + 1] for i in range(len(STREAM))]) == EXPECTED


def test_crlf_split_across_chunks_is_one_line_ending() -> None:
    assert _decode_all([b"data: x\r", b"\n\r", b"\n"]) == [ServerSentEvent("x")]


def test_event_without_blank_line_is_dropped_at_end() -> None:
    assert _decode_all([b"data: complete\n\ndata: cut off"]) == [ServerSentEvent("complete")]


def test_field_without_space_and_unknown_fields() -> None:
    assert _decode_all([b"data:tight\nfoo: bar\n\n"]) == [ServerSentEvent("tight")]


def test_event_name_without_data_is_not_dispatched() -> None:
    assert _decode_all([b"event: ping\n\ndata: next\n\n"]) == [ServerSentEvent("next")]


def test_id_persists_and_ignores_nul() -> None:
    events = _decode_all([b"id: 1\ndata: a\n\nid: bad\0id\ndata: b\n\n"])
    assert [e.id for e in events] == ["1", "1"]


def test_utf8_split_inside_a_character() -> None:
    raw = "data: héllo ✓\n\n".encode()
    cut = raw.index("✓".encode()) + 1
    assert _decode_all([raw[:cut], raw[cut:]]) == [ServerSentEvent("héllo ✓")]


def test_json_helper() -> None:
    assert ServerSentEvent('{"k": [1]}').json() == {"k": [1]}


@given(
    st.lists(st.tuples(st.text(alphabet=st.characters(blacklist_characters="\r\n\0",
                                                      blacklist_categories=("Cs",))),
                       st.one_of(st.none(), st.from_regex(r"[a-z_]{1,12}", fullmatch=True))),
             max_size=6),
    st.lists(st.integers(min_value=1, max_value=7), min_size=1, max_size=20),
)
def test_encode_then_decode_round_trips_in_any_chunking(
        events: list[tuple[str, str | None]], cuts: list[int]) -> None:
    wire = b"".join(encode_event(data, name) for data, name in events)
    chunks, pos = [], 0
    for size in cuts * (len(wire) // max(sum(cuts), 1) + 1):
        chunks.append(wire[pos:pos + size])
        pos += size
    chunks.append(wire[pos:])
    decoded = _decode_all(chunks)
    assert [(e.data, e.event) for e in decoded] == list(events)


def test_multiline_data_round_trips() -> None:
    assert _decode_all([encode_event("a\nb", "x")]) == [ServerSentEvent("a\nb", "x")]


def test_sync_wrapper_yields_events_as_they_complete() -> None:
    seen: list[str] = []

    def chunks():
        yield b"data: one\n\n"
        seen.append("second chunk requested")
        yield b"data: two\n\n"

    iterator = iter_events(chunks())
    assert next(iterator).data == "one"
    assert seen == []
    assert [e.data for e in iterator] == ["two"]


def test_async_wrapper_matches_sync() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(STREAM), 5):
            yield STREAM[i:i + 5]

    async def collect() -> list[ServerSentEvent]:
        return [e async for e in aiter_events(chunks())]

    assert asyncio.run(collect()) == EXPECTED
