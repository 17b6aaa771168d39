"""Server-sent events, split from a byte stream with as little work per event as possible.

A live recorder reads hundreds of streams that each deliver a few small events a second; the SDK's SSE decoder
(``anthropic.AsyncStream.raw_events``) spends more CPU per event than everything else between the socket and the
log: it re-joins the body line by line, decodes and interprets every line on its own, and keeps a copy of each raw
line. This splitter does the same job per *chunk*: it finds the last blank line of what has arrived, cuts
everything before it into frames with one ``split``, and keeps the rest for the next chunk.

What it follows of the format (https://html.spec.whatwg.org/multipage/server-sent-events.html):

- lines end with ``\\n``, ``\\r\\n`` or a lone ``\\r`` (a ``\\r`` at the end of a chunk is held back until the
  next byte shows whether a ``\\n`` belongs to it); a leading UTF-8 byte order mark is dropped;
- a blank line ends a frame; ``event:`` names it; every ``data:`` line adds a line to its data (joined with
  ``\\n``); one space after the colon is dropped; lines starting with ``:`` are comments (heartbeats); other fields
  (``id``, ``retry``, unknown ones) are ignored; a line without a colon is a field with an empty value;
- only complete frames are returned: bytes after the last blank line wait for more, and what is left when the
  stream ends is dropped (a connection cut mid-event never yields a partial event);
- a frame is decoded as strict UTF-8: invalid bytes raise ``UnicodeDecodeError`` (a ``ValueError``), which the
  stream's reader treats like a dropped connection (reconnect, then catch up from the history list).

Frames without a name (or an empty one) have ``event`` None, as the SDK's decoder gives them; which frames matter
is the caller's choice.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class Frame:
    event: str | None
    data: str  # the data lines joined with "\n" ("" if there were none)


def parse_frame(block: bytes) -> Frame | None:
    """One frame's lines (``\\n``-separated, no blank line inside); None if it holds no field at all."""
    text = block.decode("utf-8")
    if text.startswith("event:") and text.count("\n") == 1:  # the usual shape: "event: NAME\ndata: JSON"
        head, _, line = text.partition("\n")
        if line.startswith("data:"):
            name, value = head[6:], line[5:]
            return Frame((name[1:] if name[:1] == " " else name) or None, value[1:] if value[:1] == " " else value)
    event: str | None = None
    data: list[str] = []
    seen = False
    for line in text.split("\n"):
        if not line or line[0] == ":":
            continue
        field, _, value = line.partition(":")
        if value[:1] == " ":
            value = value[1:]
        if field == "data":
            data.append(value)
        elif field == "event":
            event = value
        seen = True
    return Frame(event or None, "\n".join(data)) if seen else None


class FrameSplitter:
    """Feed it the body's chunks; it returns the frames each chunk completes (see the module docstring)."""

    __slots__ = ("_rest", "_started")

    def __init__(self) -> None:
        self._rest = b""
        self._started = False

    def feed(self, chunk: bytes) -> list[Frame]:
        if not chunk:
            return []
        buf = self._rest + chunk if self._rest else chunk
        if not self._started:
            if len(buf) < len(_BOM) and _BOM.startswith(buf):
                self._rest = buf  # maybe the start of a byte order mark: wait for more
                return []
            self._started = True
            if buf.startswith(_BOM):
                buf = buf[len(_BOM):]
        if b"\r" in buf:
            held = buf.endswith(b"\r")  # maybe the first half of "\r\n": decide with the next chunk
            if held:
                buf = buf[:-1]
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            if held:
                buf += b"\r"
        end = buf.rfind(b"\n\n")
        if end < 0:
            self._rest = buf
            return []
        self._rest = buf[end + 2:]
        frames = []
        for block in buf[:end].split(b"\n\n"):
            frame = parse_frame(block.strip(b"\n")) if block else None
            if frame is not None:
                frames.append(frame)
        return frames

    def finish(self) -> list[Frame]:
        """The stream ended: a held-back ``\\r`` may complete the last frame; anything else left is partial and
        is dropped."""
        rest, self._rest = self._rest, b""
        if rest.endswith(b"\n\r"):
            self._rest = rest[:-1]
            return self.feed(b"\n")
        return []


async def frames(chunks: AsyncIterable[bytes]) -> AsyncIterator[list[Frame]]:
    """The complete frames of a body, a list per chunk that completed any (a partial frame at the end is never
    yielded)."""
    splitter = FrameSplitter()
    async for chunk in chunks:
        if done := splitter.feed(chunk):
            yield done
    if done := splitter.finish():
        yield done
