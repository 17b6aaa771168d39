"""Text written in order, except where a part of it is only known later: bounded memory for streamed documents.

A :class:`Document` is a tree of :class:`Slot` objects. The root slot is the document; ``open(slot)`` makes a
child slot at the current end of ``slot`` (a place whose text comes later), ``write(slot, text)`` appends text to
a slot, ``close(slot)`` says nothing more comes into it. The document's text is every slot's text in tree order.

Text reaches the sink (a text file) as early as it can: a write into the *frontier* — the first slot still open,
with everything before it already out — goes straight through; any other write goes to a scratch file (in memory
up to ``SCRATCH_BYTES``, then on disk) and the slot keeps only where it is there (a span; consecutive spans
merge). Closing a slot moves whatever became complete at the start of the document from the scratch file to the
sink; closing any other slot splices its parts into its parent's, where neighbouring spans merge. Memory
therefore holds, between the oldest open slot and the end, the slots still open and one small span per run of
text that is not contiguous in the scratch file, never the text itself; the scratch file is emptied whenever
nothing in it is waiting.
"""

from __future__ import annotations

import codecs
import tempfile
from typing import Protocol

SCRATCH_BYTES = 1024 * 1024
CHUNK_CHARS = 256 * 1024
_READ = 256 * 1024


class Sink(Protocol):
    """Where a document's text goes (a text file)."""

    def write(self, text: str, /) -> object: ...


class Slot:
    """A place in a :class:`Document` whose text is written later (see the module docstring)."""

    __slots__ = ("closed", "parent", "parts")

    def __init__(self, parent: Slot | None) -> None:
        self.parts: list[Slot | tuple[int, int]] = []  # spans of the scratch file and child slots, in order
        self.parent = parent
        self.closed = False


class Document:
    """A document written to ``sink`` in order, with slots filled later (see the module docstring)."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.root = Slot(None)
        self._frontier: Slot | None = self.root  # where a write goes straight out (None: nowhere)
        self._scratch = tempfile.SpooledTemporaryFile(max_size=SCRATCH_BYTES, mode="w+b")  # noqa: SIM115
        self._end = 0  # the scratch file's length
        self._at_end = True  # its position is its end
        self._waiting = 0  # spans in the scratch file not yet moved out
        self._out: list[str] = []
        self._out_size = 0

    def write(self, slot: Slot, text: str) -> None:
        if not text:
            return
        if slot is self._frontier:
            self._emit(text)
            return
        data = text.encode("utf-8", "surrogatepass")
        if not self._at_end:
            self._scratch.seek(self._end)
            self._at_end = True
        self._scratch.write(data)
        start, self._end = self._end, self._end + len(data)
        parts = slot.parts
        last = parts[-1] if parts else None
        if type(last) is tuple and last[1] == start:
            parts[-1] = (last[0], self._end)
        else:
            parts.append((start, self._end))
            self._waiting += 1

    def open(self, slot: Slot) -> Slot:
        child = Slot(slot)
        slot.parts.append(child)
        if slot is self._frontier:
            self._frontier = child
        return child

    def close(self, slot: Slot) -> None:
        slot.closed = True
        if slot is self._frontier or self._frontier is None:
            self._drain()
        elif slot.parent is not None:
            self._splice(slot)

    def finish(self) -> None:
        """Close every slot still open and write out everything."""
        self._close_all(self.root)
        self._drain()
        self._flush()
        self._scratch.close()

    # ---- inside

    def _close_all(self, slot: Slot) -> None:
        slot.closed = True
        for part in slot.parts:
            if type(part) is Slot:
                self._close_all(part)

    def _drain(self) -> None:
        """Move the complete start of the document out; find the new frontier."""
        self._drain_slot(self.root)
        slot = self.root
        while slot.parts:
            head = slot.parts[0]
            assert type(head) is Slot  # a span at the head would have been moved out
            slot = head
        self._frontier = slot if not slot.closed else None
        if not self._waiting and self._end:
            self._scratch.seek(0)
            self._scratch.truncate()
            self._end = 0
            self._at_end = True

    def _drain_slot(self, slot: Slot) -> bool:
        parts = slot.parts
        done = 0
        for head in parts:
            if type(head) is tuple:
                self._copy(head)
                self._waiting -= 1
            elif not self._drain_slot(head):  # type: ignore[arg-type]
                break
            done += 1
        complete = done == len(parts)
        del parts[:done]
        return complete and slot.closed

    def _splice(self, slot: Slot) -> None:
        """A closed slot behind the frontier: its parts take its place in its parent's (spans merged)."""
        parent = slot.parent
        assert parent is not None
        parts = parent.parts
        at = len(parts) - 1
        while parts[at] is not slot:  # usually the last or nearly
            at -= 1
        for part in slot.parts:
            if type(part) is Slot:
                part.parent = parent
        start = at - 1 if at > 0 and type(parts[at - 1]) is tuple else at
        stop = at + 2 if at + 1 < len(parts) and type(parts[at + 1]) is tuple else at + 1
        merged: list[Slot | tuple[int, int]] = []
        for part in [*parts[start:at], *slot.parts, *parts[at + 1:stop]]:
            last = merged[-1] if merged else None
            if type(part) is tuple and type(last) is tuple and last[1] == part[0]:
                merged[-1] = (last[0], part[1])
                self._waiting -= 1
            else:
                merged.append(part)
        parts[start:stop] = merged
        slot.parts = []

    def _copy(self, span: tuple[int, int]) -> None:
        start, end = span
        self._scratch.seek(start)
        self._at_end = False
        decoder = codecs.getincrementaldecoder("utf-8")("surrogatepass")
        left = end - start
        while left > 0:
            data = self._scratch.read(min(left, _READ))
            left -= len(data)
            self._emit(decoder.decode(data, final=left <= 0))

    def _emit(self, text: str) -> None:
        self._out.append(text)
        self._out_size += len(text)
        if self._out_size > CHUNK_CHARS:
            self._flush()

    def _flush(self) -> None:
        if self._out:
            self.sink.write("".join(self._out))
            self._out.clear()
            self._out_size = 0
