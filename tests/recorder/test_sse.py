"""The SSE frame splitter (recorder.ingest.sse) and the stream reader built on it (recorder.ingest.api._events):
line endings, multi-line data, comments, names, chunks cut anywhere, hostile bytes, and a cut mid-event."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator

import anthropic
import httpx2
import pytest

from recorder.ingest import sse
from recorder.ingest.api import StreamError, _events
from recorder.ingest.sse import Frame, FrameSplitter


def split_all(body: bytes, cuts: list[int] | None = None) -> list[Frame]:
    """Feed ``body`` cut at ``cuts`` (default: one chunk), then end the stream."""
    splitter = FrameSplitter()
    out: list[Frame] = []
    start = 0
    for cut in [*(cuts or []), len(body)]:
        out += splitter.feed(body[start:cut])
        start = cut
    return out + splitter.finish()


def sdk_frames(body: bytes) -> list[Frame]:
    """What the SDK's decoder makes of the same body (the reference), frames with any field only."""
    async def run() -> list[Frame]:
        async def chunks() -> AsyncIterator[bytes]:
            yield body

        decoder = anthropic._streaming.SSEDecoder()
        return [Frame(s.event, s.data) async for s in decoder.aiter_bytes(chunks())]
    return asyncio.run(run())


BODY = (b": hello\n\n"
        b"event: agent.message\ndata: {\"id\": \"a\"}\n\n"
        b"event: ping\ndata: {\"type\":\"ping\"}\n\n"
        b"data: line one\ndata: line two\nevent: multi\n\n"
        b"event:nospace\ndata:{}\n\n"
        b"id: 7\nretry: 100\nevent: with.id\ndata: x\n\n")
EXPECTED = [Frame("agent.message", '{"id": "a"}'), Frame("ping", '{"type":"ping"}'),
            Frame("multi", "line one\nline two"), Frame("nospace", "{}"), Frame("with.id", "x")]


def test_frames_of_a_body_in_one_chunk() -> None:
    assert split_all(BODY) == EXPECTED


@pytest.mark.parametrize("newline", [b"\r\n", b"\r"])
def test_other_line_endings_give_the_same_frames(newline: bytes) -> None:
    body = BODY.replace(b"\n", newline)
    assert split_all(body) == EXPECTED
    assert split_all(body, list(range(1, len(body)))) == EXPECTED  # byte by byte: "\r" | "\n" split included


def test_every_cut_of_the_body_gives_the_same_frames() -> None:
    rng = random.Random(5)
    for newline in (b"\n", b"\r\n", b"\r"):
        body = BODY.replace(b"\n", newline)
        for _ in range(300):
            cuts = sorted(rng.sample(range(1, len(body)), rng.randint(1, 12)))
            assert split_all(body, cuts) == EXPECTED, (newline, cuts)


def test_crlf_split_between_chunks_is_one_line_end() -> None:
    # "data: a\r" | "\ndata: b\r\n\r\n" is one frame with two data lines, not a frame ended by "\r" + "\n"
    assert split_all(b"event: e\r\ndata: a\r\ndata: b\r\n\r\n", [len(b"event: e\r\ndata: a\r")]) == [
        Frame("e", "a\nb")]


def test_agrees_with_the_sdk_decoder_on_random_bodies() -> None:
    rng = random.Random(11)
    pieces = [b"event: ", b"data: ", b"data:", b": c", b"id: 1", b"retry: x", b"foo: bar", b"event", b"data",
              b"{\"a\": 1}", b"x:y: z", b" ", b"\n", b"\n", b"\n\n", b"\r\n", b"\r\n\r\n", b"\r", b"caf\xc3\xa9"]
    for _ in range(2000):
        body = b"".join(rng.choice(pieces) for _ in range(rng.randint(1, 30))) + b"\n\n"
        mine = [f for f in split_all(body) if f.event is not None or f.data]
        theirs = [f for f in sdk_frames(body) if f.event is not None or f.data]
        assert mine == theirs, body


def test_a_byte_order_mark_at_the_start_is_dropped_even_split() -> None:
    body = b"\xef\xbb\xbfevent: e\ndata: 1\n\n"
    assert split_all(body) == [Frame("e", "1")]
    assert split_all(body, [1, 2]) == [Frame("e", "1")]
    assert split_all(b"event: e\ndata: \xef\xbb\xbf\n\n") == [Frame("e", "\ufeff")]  # not at the start: data


def test_a_frame_cut_mid_event_is_never_returned() -> None:
    frame = b"event: agent.message\ndata: {\"id\": \"b\", \"text\": \"long\"}\n\n"
    body = b"event: agent.message\ndata: {\"id\": \"a\"}\n\n" + frame
    for cut in range(len(body) - len(frame), len(body) - 1):  # the stream ends anywhere inside the second frame
        assert split_all(body[:cut]) == [Frame("agent.message", '{"id": "a"}')], cut
    assert split_all(body[:-1] + b"\r") == split_all(body)  # "\n\r" at the end: the "\r" ends the frame


def test_invalid_utf8_raises_a_value_error_after_the_frames_before_it() -> None:
    splitter = FrameSplitter()
    assert splitter.feed(b"event: a\ndata: 1\n\n") == [Frame("a", "1")]
    with pytest.raises(ValueError):
        splitter.feed(b"event: b\ndata: \xff\xfe\n\n")


def test_hostile_input_does_not_crash_or_invent_frames() -> None:
    rng = random.Random(3)
    for _ in range(500):
        body = bytes(rng.choice(b"\n\r:ab \x00\xc3\xa9") for _ in range(rng.randint(0, 200)))
        try:
            frames = split_all(body, sorted(rng.sample(range(1, max(2, len(body))), min(5, max(0, len(body) - 1)))))
        except ValueError:  # invalid UTF-8 only
            continue
        for frame in frames:
            assert isinstance(frame.data, str) and (frame.event is None or isinstance(frame.event, str))
    assert split_all(b"\n" * 10_000) == []
    assert split_all(b"data: " + b"x" * 1_000_000 + b"\n\n") == [Frame(None, "x" * 1_000_000)]


# ---- the stream reader (api._events) on a real httpx2 response


def response(chunks: list[bytes], headers: dict[str, str] | None = None) -> httpx2.Response:
    class Body(httpx2.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            for chunk in chunks:
                yield chunk

    return httpx2.Response(200, headers=headers or {"content-type": "text/event-stream"}, stream=Body())


def read(resp: httpx2.Response) -> list[tuple[dict[str, object], str]]:
    async def run() -> list[tuple[dict[str, object], str]]:
        return [pair async for pair in _events(resp)]
    return asyncio.run(run())


def test_reader_yields_json_objects_with_their_text_and_skips_heartbeats() -> None:
    text = '{"id": "sevt_1", "type": "agent.message"}'
    body = (f": keepalive\n\nevent: ping\ndata: {{}}\n\nevent: agent.message\ndata: {text}\n\n"
            "event: x\ndata:\n\ndata: {\"id\": \"unnamed\"}\n\nevent: y\ndata: [1]\n\n").encode()
    assert read(response([body[:7], body[7:50], body[50:]])) == [(json.loads(text), text)]


def test_reader_raises_on_an_error_event_and_on_non_json() -> None:
    with pytest.raises(StreamError, match="reported an error"):
        read(response([b'event: error\ndata: {"type": "overloaded_error"}\n\n']))
    with pytest.raises(StreamError, match="not JSON"):
        read(response([b"event: agent.message\ndata: {nope\n\n"]))


def test_reader_never_yields_an_event_cut_mid_way() -> None:
    whole = b'event: agent.message\ndata: {"id": "a"}\n\n'
    cut = b'event: agent.message\ndata: {"id": "b"}'  # no blank line: the connection ended inside it
    assert [obj["id"] for obj, _ in read(response([whole, cut]))] == ["a"]
    assert read(response([whole[:-1]])) == []


def test_reader_decodes_a_compressed_body() -> None:
    import gzip

    body = gzip.compress(b'event: agent.message\ndata: {"id": "z"}\n\n')
    resp = response([body[:5], body[5:]], {"content-type": "text/event-stream", "content-encoding": "gzip"})
    assert [obj["id"] for obj, _ in read(resp)] == ["z"]


def test_frames_iterates_per_chunk() -> None:
    async def run() -> list[list[Frame]]:
        async def chunks() -> AsyncIterator[bytes]:
            for chunk in (b"event: a\ndata: 1\n", b"\nevent: b\ndata: 2\n\nevent: c\n", b"data: 3\n\n"):
                yield chunk
        return [group async for group in sse.frames(chunks())]
    assert asyncio.run(run()) == [[Frame("a", "1"), Frame("b", "2")], [Frame("c", "3")]]
