"""The ``long`` scenario: a finished session of any length whose i-th event is computed from the seed and i.

Nothing is stored per event, so a session of millions of events costs a few kilobytes; the server builds only
the page it is asked for. The history is a repeating 12-event turn (a user message, a model request that calls
a tool, the tool's result, a second model request that answers, idle, a ``session.usage``), with text drawn
from a per-event random generator; the last two events are a ``session.usage`` and ``session.status_idle``
(``end_turn``), so the session ends idle like every finished one.

Times: turn ``c`` starts at ``base + c * 10 s`` plus a per-turn jitter below 2 s, and the slots of a turn have
fixed offsets below 6 s, several of them equal, so ``processed_at`` is non-decreasing with exact ties and the
time of event i is cheap (one hash per turn, cached). Token usage cycles through a seeded table of 97 entries,
so cumulative usage (``session.usage`` events, the session snapshot) has a closed form.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from recorder.apiserver.source import EventRecord
from recorder.apiserver.wire import dumps, format_micros
from recorder.emulator import ids, text
from recorder.emulator.snapshots import SessionSnapshot, Usage
from recorder.emulator.streams import IndexedStream

SLOTS = (
    "user.message", "session.status_running", "span.model_request_start", "agent.thinking", "agent.tool_use",
    "span.model_request_end", "agent.tool_result", "span.model_request_start", "agent.message",
    "span.model_request_end", "session.usage", "session.status_idle",
)
OFFSETS = (0, 0, 35_000, 1_200_000, 1_900_000, 1_900_000, 2_650_000, 2_650_000, 4_800_000, 4_800_000,
           5_000_000, 5_000_000)
TURN = 10_000_000
TABLE = 97
MODEL = "claude-sonnet-4-6"


class LongStream(IndexedStream):
    """The session stream (and primary thread stream) of a ``long`` session."""

    ended = True

    def __init__(self, seed: int, key: str, base: int, length: int) -> None:
        self.seed, self.key, self.base, self.length = seed, key, base, max(1, length)
        r = ids.rng(seed, key, "usage-table")
        self.table = [{"input_tokens": r.randint(300, 5000), "output_tokens": r.randint(30, 1200),
                       "cache_read_input_tokens": r.randint(0, 50_000),
                       "cache_creation_input_tokens": r.choice([0, 0, r.randint(200, 6000)]), "speed": "standard"}
                      for _ in range(TABLE)]
        self.prefix = [Usage()]
        for entry in self.table:
            step = Usage()
            step.add(MODEL, entry)
            self.prefix.append(self.prefix[-1].merged(step))
        pool = ids.rng(seed, key, "text-pool")
        self.sentences = [text.sentence(pool, pool.randint(6, 30)) for _ in range(256)]
        self.outputs = [text.command_output(pool, pool.randint(1, 6)) for _ in range(256)]
        self.paragraphs = [text.paragraph(pool, pool.randint(1, 3)) for _ in range(256)]
        self.words = [f"check-{w}" for w in text.WORDS]
        self._turn_start = lru_cache(maxsize=4096)(self._compute_turn_start)

    def __len__(self) -> int:
        return self.length

    def _compute_turn_start(self, turn: int) -> int:
        return self.base + turn * TURN + ids.digest(self.seed, self.key, "turn", turn) % 2_000_000

    def time_micros(self, index: int) -> int:
        turn, slot = divmod(index, len(SLOTS))
        return self._turn_start(turn) + OFFSETS[slot]

    def time_at(self, index: int) -> str:
        return format_micros(self.time_micros(index))

    def type_at(self, index: int) -> str:
        if index == self.length - 1:
            return "session.status_idle"
        if index == self.length - 2:
            return "session.usage"
        return SLOTS[index % len(SLOTS)]

    def event_id(self, index: int) -> str:
        return ids.make_id("sevt", self.seed, self.key, index)

    def usage_through(self, spans: int) -> Usage:
        """Cumulative usage of the first ``spans`` model requests."""
        full, rest = divmod(spans, TABLE)
        whole = self.prefix[TABLE]
        blocks = Usage(whole.input_tokens * full, whole.output_tokens * full, whole.cache_read_input_tokens * full,
                       whole.cache_creation_input_tokens * full, whole.cost * full)
        return blocks.merged(self.prefix[rest])

    def spans_before(self, index: int) -> int:
        """How many ``span.model_request_end`` events come before ``index`` (the last two events are not)."""
        index = min(index, max(self.length - 2, 0))
        turn, slot = divmod(index, len(SLOTS))
        return 2 * turn + (slot > 5) + (slot > 9)

    def event(self, index: int, processed_at: str | None = None) -> dict[str, Any]:
        kind = self.type_at(index)
        turn, slot = divmod(index, len(SLOTS))
        h = ids.digest(self.seed, self.key, "event", index)  # picks this event's text from the pools
        fields: dict[str, Any] = {}
        if kind == "user.message":
            fields = {"content": [{"type": "text", "text": f"{self.sentences[h & 255]} (#{turn})"}]}
        elif kind == "span.model_request_end":
            fields = {"model_request_start_id": self.event_id(index - (3 if slot == 5 else 2)), "is_error": False,
                      "model_usage": dict(self.table[self.spans_before(index) % TABLE])}
        elif kind == "agent.tool_use":
            fields = {"name": "bash", "input": {"command": f"make {self.words[h % len(self.words)]}"},
                      "evaluated_permission": "allow"}
        elif kind == "agent.tool_result":
            failed = turn % 7 == 3
            fields = {"tool_use_id": self.event_id(index - 2),
                      "content": [{"type": "text", "text": self.outputs[h & 255]}],
                      "is_error": failed}
        elif kind == "agent.message":
            body = f"{self.paragraphs[h & 255]} {self.sentences[h >> 8 & 255]}"
            fields = {"content": [{"type": "text", "text": body}]}
        elif kind == "session.status_idle":
            fields = {"stop_reason": {"type": "end_turn"}, "stop_details": None}
        elif kind == "session.usage":
            spans = self.spans_before(index)
            fields = {"usage": self.usage_through(spans).as_api(round(self.active_micros(index) / 1e6, 3))}
        return {"type": kind, "id": self.event_id(index), **fields,
                "processed_at": processed_at or self.time_at(index)}

    def active_micros(self, index: int) -> int:
        """Time spent running before ``index``: each turn runs from its slot 1 to its slot 10."""
        turn, slot = divmod(index, len(SLOTS))
        run = OFFSETS[10] - OFFSETS[1]
        partial = 0 if slot <= 1 else (min(OFFSETS[slot], OFFSETS[10]) - OFFSETS[1])
        return turn * run + partial

    def record(self, index: int) -> EventRecord:
        when = self.time_at(index)
        return EventRecord(index, self.type_at(index), when, dumps(self.event(index, when)))


def long_snapshot(stream: LongStream, snapshot: SessionSnapshot, primary: str) -> None:
    """Bring a fresh snapshot to the finished state of ``stream`` without reading its events."""
    last = stream.length - 1
    end = stream.time_micros(last)
    snapshot.threads[primary].usage = stream.usage_through(stream.spans_before(last))
    for clock in (snapshot.clock, snapshot.threads[primary].clock):
        clock.status, clock.since, clock.last = "idle", end, end
        clock.active = stream.active_micros(last)
    snapshot.threads[primary].first_running = stream.time_micros(min(1, last))
