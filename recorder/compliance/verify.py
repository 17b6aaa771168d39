"""Verify the event log: every stream's hash chain, every payload hash, sequence contiguity, global order, the
stream heads and the log head, the columns derived from each payload, archived files, snapshots, the audit
trail — and, given an anchor, that the database still extends it.

One pass over the events in global position order, in one consistent read transaction. For each event:

- its stream exists;
- its ``seq`` is the stream's previous one plus one (a deleted, swapped or inserted event breaks this);
- sha256(payload) equals ``payload_hash``, and sha256(previous chain hash ‖ seq ‖ that digest) equals
  ``chain_hash`` (an edited byte breaks this, whichever of the three columns was edited);
- (whole log) positions follow each other without gaps, except ranges removed by an audited prune.

Then each stream's ``last_seq``/``head_hash`` must be where its events end (a truncated tail or an edited head),
``log_head`` must be the last position handed out, each event's session/thread must be its stream's and its
``event_id``/``event_key``/``type``/``processed_at`` what its payload says (SQLite: prefiltered in SQL, in a thread
beside the hashing; PostgreSQL: checked per row), files and snapshots must match their hashes, the audit trail's
chain must hold and agree with the pruned ranges, and no retention guard row may be left behind.

A large log (PARALLEL_MIN_EVENTS) is checked by several processes, one range of positions each: a worker takes a
stream's first event in its range on trust and the merge chains the ranges together (that event's chain hash
must follow from the previous range's last one). Workers read in snapshots of their own, so when anything at all
is off the whole pass is done again in this process, in the one consistent snapshot, which reports the exact
first bad place.

A consistent log rewritten from scratch (every hash recomputed) cannot be told from a genuine one by looking at
the log alone: that is what anchors are for (:mod:`recorder.compliance.anchor`).

Problems are ordered by where in the log the damage begins; the first is what ``recorder verify`` reports.
``recorded_at`` and ``run_id`` are recording metadata, not derived from the payload: the triggers protect them,
verification cannot.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import multiprocessing
import os
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from recorder import jsontext
from recorder.compliance.anchor import Anchor, compare
from recorder.compliance.report import KIND_ORDER, Problem, StreamHead, VerifyReport
from recorder.errors import NotFound
from recorder.events import SURROGATE_PREFIX, raw_event
from recorder.store import (
    AUDIT_GENESIS,
    AuditEntry,
    ChainedEvent,
    ChainedTuple,
    ComplianceStore,
    EventColumns,
    EventStore,
    LogReader,
    ScannedEvent,
    StreamRow,
    chain,
    entry_is_intact,
    open_read_only,
    stream_key,
)

MAX_PROBLEMS = 100


class _Intervals:
    """Pruned position ranges, merged, for "is this gap covered by an audited prune?"."""

    def __init__(self, ranges: Iterable[tuple[int, int]]) -> None:
        merged: list[list[int]] = []
        for first, last in sorted(ranges):
            if merged and first <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], last)
            else:
                merged.append([first, last])
        self.starts = [a for a, _ in merged]
        self.ends = [b for _, b in merged]

    def covers(self, first: int, last: int) -> bool:
        i = bisect.bisect_right(self.starts, first) - 1
        return i >= 0 and self.ends[i] >= last


class _Checker:
    """The per-event checks. ``state[stream_id]`` = [session, thread, seq, head bytes, last position, broken]."""

    def __init__(self, report: VerifyReport, streams: list[StreamRow], pruned: _Intervals, *, whole_log: bool,
                 targets: dict[int, int], log_head: int, entry_mode: bool = False) -> None:
        self.report = report
        self.log_head = log_head
        # entry mode (a worker checking one range of positions): a stream's first event in the range is taken on
        # trust and recorded in ``entries``, for the merge to check against the previous range's exit.
        self.entry_mode = entry_mode
        self.entries: dict[int, tuple[int, int, str, str]] = {}  # stream_id -> (seq, position, digest, chain_hash)
        self.streams = {s.stream_id: s for s in streams}
        self.state: dict[int, list[Any]] = {}
        self.pruned = pruned
        self.whole_log = whole_log
        self.next_position = 1
        self.last_position = 0
        self.targets = targets  # stream_id -> anchored count: remember the chain hash there
        self.at_target: dict[int, str] = {}
        seen: dict[tuple[str, str | None], int] = {}
        for s in streams:
            genesis = bytes.fromhex(chain.genesis(s.session_id, s.thread_id))
            self.state[s.stream_id] = [s.session_id, s.thread_id, -1 if entry_mode else 0, genesis, 0, False]
            if s.stream_key != stream_key(s.session_id, s.thread_id):
                self.stream_problem(s.stream_id, f"stream_key {s.stream_key!r} does not name this stream", rank=0)
            other = seen.setdefault((s.session_id, s.thread_id), s.stream_id)
            if other != s.stream_id:
                self.stream_problem(s.stream_id, f"a second stream row for this stream (stream_id {other})", rank=0)
            if s.stream_id in targets and targets[s.stream_id] == 0:
                self.at_target[s.stream_id] = genesis.hex()

    # ---- problems

    def add(self, problem: Problem) -> None:
        report = self.report
        report.problems_found += 1
        report.problems.append(problem)
        if len(report.problems) > 4 * MAX_PROBLEMS:
            self.trim()

    def trim(self) -> None:
        self.report.problems.sort(key=lambda p: (p.rank, KIND_ORDER.get(p.kind, 99)))
        del self.report.problems[MAX_PROBLEMS:]

    def stream_problem(self, stream_id: int, what: str, *, seq: int | None = None, position: int | None = None,
                       rank: float | None = None, kind: str = "event") -> None:
        st = self.state[stream_id]
        st[5] = True
        self.add(Problem(kind, what, st[0], st[1], seq, position,
                         rank if rank is not None else (position if position is not None else math.inf)))

    # ---- the pass over events

    def feed(self, rows: Sequence[ChainedEvent | ChainedTuple]) -> None:
        """Check a batch of events (fields in ChainedEvent's order)."""
        sha256 = hashlib.sha256
        state = self.state
        whole_log = self.whole_log
        targets = self.targets
        expected = self.next_position
        log_head = self.log_head
        for position, stream_id, seq, payload, payload_hash, chain_hash in rows:
            if whole_log and (position != expected or position > log_head):
                self.out_of_order(expected, position, stream_id, seq)
            expected = position + 1
            st = state.get(stream_id)
            if st is None:
                self.unknown_stream(stream_id, seq, position)
                continue
            if st[5]:
                continue
            if seq != st[2] + 1:
                if st[2] == -1:
                    self.enter(stream_id, st, position, seq, payload, payload_hash, chain_hash)
                else:
                    self.sequence_problem(stream_id, st, position, seq)
                continue
            digest = sha256(payload).digest()
            if digest.hex() != payload_hash:
                self.stream_problem(stream_id, "payload does not match its payload_hash (payload or hash edited)",
                                    seq=seq, position=position)
                continue
            head = sha256(st[3] + seq.to_bytes(8, "big") + digest).digest()
            if head.hex() != chain_hash:
                self.stream_problem(stream_id, "chain_hash does not follow from the previous event and this payload "
                                    "(payload, hashes or order edited)", seq=seq, position=position)
                continue
            st[2] = seq
            st[3] = head
            st[4] = position
            if targets and targets.get(stream_id) == seq:
                self.at_target[stream_id] = chain_hash
        self.next_position = expected
        if rows:
            self.last_position = rows[-1][0]  # its position
            self.report.events += len(rows)

    def enter(self, stream_id: int, st: list[Any], position: int, seq: int, payload: bytes, payload_hash: str,
              chain_hash: str) -> None:
        """Entry mode: a stream's first event in this range (its chain is checked by the merge)."""
        digest = hashlib.sha256(payload).hexdigest()
        if digest != payload_hash:
            self.stream_problem(stream_id, "payload does not match its payload_hash", seq=seq, position=position)
            return
        self.entries[stream_id] = (seq, position, digest, chain_hash)
        st[2], st[3], st[4] = seq, bytes.fromhex(chain_hash), position
        if self.targets.get(stream_id) == seq:
            self.at_target[stream_id] = chain_hash

    def unknown_stream(self, stream_id: int, seq: int, position: int) -> None:
        where = "which does not exist" if self.whole_log else "which is not a stream of the sessions verified"
        self.add(Problem("event", f"event in stream_id {stream_id}, {where} (a forged or moved event?)",
                         seq=seq, position=position, rank=position))

    def out_of_order(self, expected: int, position: int, stream_id: int, seq: int) -> None:
        if position > self.log_head:
            if expected <= self.log_head + 1:  # report the first event past the head only
                st = self.state.get(stream_id) or [None, None]
                self.add(Problem("log", f"beyond log_head.last_position {self.log_head} (a forged event, or the log "
                                 "head moved back)", st[0], st[1], seq, position, position))
            if expected <= self.log_head:
                self.gap(expected, min(position, self.log_head + 1))
            return
        self.gap(expected, position)

    def gap(self, expected: int, position: int) -> None:
        if position > expected and not self.pruned.covers(expected, position - 1):
            if position - 1 == expected:
                self.add(Problem("position", "missing: an event deleted outside `recorder prune`",
                                 position=expected, rank=expected))
            else:
                self.add(Problem("position", f"positions {expected}..{position - 1} missing: events deleted outside "
                                 "`recorder prune`", rank=expected))

    def sequence_problem(self, stream_id: int, st: list[Any], position: int, seq: int) -> None:
        expected = st[2] + 1
        if seq > expected:
            missing = f"seq {expected}" if seq == expected + 1 else f"seqs {expected}..{seq - 1}"
            what = f"{missing} missing before this event (deleted events)"
        else:
            what = f"seq {seq} comes after seq {st[2]} (events swapped, moved or inserted)"
        # The damage lies between this stream's previous event and this one.
        self.stream_problem(stream_id, what, seq=seq, position=position, rank=st[4] + 0.5)

    def finish(self, log_head: int | None) -> None:
        for stream_id, st in self.state.items():
            if st[5]:
                continue
            row = self.streams[stream_id]
            rank = st[4] + 0.75
            if row.last_seq != st[2]:
                hint = "events deleted from its tail?" if row.last_seq > st[2] else "events appended by hand?"
                self.stream_problem(
                    stream_id, f"streams.last_seq is {row.last_seq} but its events end at seq {st[2]} ({hint})",
                    rank=rank, kind="stream")
            elif row.head_hash != st[3].hex():
                self.stream_problem(stream_id, "streams.head_hash is not the chain hash of its last event "
                                    "(stream head edited)", seq=st[2], rank=rank, kind="stream")
        if log_head is None:
            return
        if self.last_position < log_head and not self.pruned.covers(self.last_position + 1, log_head):
            self.add(Problem("log", f"log_head.last_position is {log_head} but the events end at position "
                             f"{self.last_position} (tail deleted, or log head edited)",
                             position=self.last_position + 1, rank=self.last_position + 1))


def _derived_problem(row: EventColumns | ScannedEvent, streams: dict[int, StreamRow]) -> str | None:
    """The exact check of the columns derived from a payload (the rule of recorder.events.raw_event) and of the
    event's session/thread against its stream's."""
    stream_id, session_id, thread_id, payload = row.stream_id, row.session_id, row.thread_id, row.payload
    event_id, event_key, type_, processed_at, digest = (row.event_id, row.event_key, row.type, row.processed_at,
                                                        row.payload_hash)
    stream = streams.get(stream_id)
    if stream is not None and (stream.session_id != session_id or stream.thread_id != thread_id):
        return (f"the event's session/thread columns say {session_id}/{thread_id or '-'}, its stream is "
                f"{stream.session_id}/{stream.thread_id or '-'} (event moved or forged)")
    if isinstance(payload, bytes | bytearray | memoryview):
        payload = bytes(payload).decode("utf-8", "replace")
    try:
        expected = raw_event(jsontext.loads(payload), session_id, thread_id)
    except (ValueError, RecursionError):
        return "payload is not a JSON object"
    if event_id != expected.event_id:
        return f"event_id column is {event_id!r}, the payload's id is {expected.event_id!r}"
    key = expected.event_key if expected.event_id else SURROGATE_PREFIX + digest
    if event_key != key:
        return f"event_key column is {event_key!r}, expected {key!r}"
    if type_ != expected.type:
        return f"type column is {type_!r}, the payload's type is {expected.type!r}"
    if isinstance(processed_at, str):
        processed_at = datetime.fromisoformat(processed_at)
    if processed_at != expected.processed_at:
        return f"processed_at column is {processed_at}, the payload says {expected.processed_at}"
    return None


def _check_derived(checker: _Checker, rows: Iterable[EventColumns | ScannedEvent]) -> None:
    for row in rows:
        what = _derived_problem(row, checker.streams)
        if what is not None:
            stream = checker.streams.get(row.stream_id)
            session, thread = (stream.session_id, stream.thread_id) if stream else (row.session_id, row.thread_id)
            checker.add(Problem("column", what, session, thread, row.seq, row.position, row.position))


def _check_files(report: VerifyReport, reader: LogReader, session_ids: Sequence[str] | None,
                 checker: _Checker) -> None:
    verified: dict[str, bool] = {}
    for f in reader.files(session_ids):
        report.files += 1
        problem = None
        if f.content is None:
            problem = f"its content (blob {f.sha256[:16]}…) is missing"
        else:
            if f.sha256 not in verified:
                verified[f.sha256] = (hashlib.sha256(f.content).hexdigest() == f.sha256
                                      and len(f.content) == f.blob_size)
            if not verified[f.sha256]:
                problem = "its content does not match its sha256 (file content edited)"
            elif f.size_bytes != f.blob_size:
                problem = f"size_bytes is {f.size_bytes}, the content has {f.blob_size} bytes"
        if problem:
            checker.add(Problem("file", f"archived file {f.file_id} ({f.filename}): {problem}", f.session_id))


def _check_snapshots(report: VerifyReport, reader: LogReader, session_ids: Sequence[str] | None,
                     checker: _Checker) -> None:
    for snap in reader.snapshots(session_ids):
        report.snapshots += 1
        if hashlib.sha256(snap.payload.encode("utf-8")).hexdigest() != snap.payload_hash:
            checker.add(Problem("snapshot", f"snapshot {snap.snapshot_id} does not match its payload_hash "
                                "(snapshot edited)", snap.session_id, snap.thread_id))


def _check_audit(report: VerifyReport, entries: list[AuditEntry], ranges: Sequence[tuple[int, int, int]],
                 checker: _Checker) -> None:
    previous = AUDIT_GENESIS
    for entry in entries:
        if entry.prev_hash != previous:
            checker.add(Problem("audit", f"audit entry {entry.audit_id} does not follow the entry before it "
                                "(audit entries deleted or reordered)", entry.session_id))
        elif not entry_is_intact(entry):
            checker.add(Problem("audit", f"audit entry {entry.audit_id} ({entry.action}) was altered",
                                entry.session_id))
        previous = entry.entry_hash
    report.audit_entries = len(entries)
    report.audit_head = previous
    by_audit: dict[int, list[tuple[int, int]]] = {}
    for first, last, audit_id in ranges:
        by_audit.setdefault(audit_id, []).append((first, last))
    prunes = {e.audit_id: e for e in entries if e.action == "prune"}
    for audit_id, spans in by_audit.items():
        prune = prunes.get(audit_id)
        count = sum(last - first + 1 for first, last in spans)
        if prune is None:
            checker.add(Problem("audit", f"pruned_ranges refer to audit entry {audit_id}, which is not a prune"))
            continue
        data = _details(prune)
        if count != data.get("events") or len(spans) != (data.get("positions") or {}).get("ranges"):
            checker.add(Problem("audit", f"pruned_ranges of audit entry {audit_id} cover {count} positions in "
                                f"{len(spans)} ranges; the prune removed {data.get('events')} events "
                                "(pruned ranges edited)", prune.session_id))


def _check_holds(entries: list[AuditEntry], held: set[str], wanted: Sequence[str] | None, checker: _Checker) -> None:
    """The legal holds in the table are exactly those the audit trail's holds and releases leave in force: a hold
    row deleted behind the recorder's back (the triggers bypassed) is a problem, and so is one never audited."""
    in_force: dict[str, int] = {}
    for entry in entries:
        if entry.session_id is None:
            continue
        if entry.action == "hold":
            in_force[entry.session_id] = entry.audit_id
        elif entry.action == "release":
            in_force.pop(entry.session_id, None)
    scope = None if wanted is None else set(wanted)
    for session_id, audit_id in sorted(in_force.items()):
        if session_id not in held and (scope is None or session_id in scope):
            checker.add(Problem("hold", f"the legal hold of audit entry {audit_id} has vanished without a release "
                                "(legal_holds row deleted)", session_id))
    for session_id in sorted(held - set(in_force)):
        if scope is None or session_id in scope:
            checker.add(Problem("hold", "a legal hold the audit trail does not record (legal_holds row inserted "
                                "behind the recorder)", session_id))


def _details(entry: AuditEntry) -> dict[str, Any]:
    try:
        data = entry.data
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def pruned_streams(entries: Iterable[AuditEntry]) -> dict[tuple[str, str | None], tuple[int, str]]:
    """(session, thread) -> (event count, head hash) of every stream an audited prune removed."""
    out: dict[tuple[str, str | None], tuple[int, str]] = {}
    for entry in entries:
        if entry.action != "prune" or entry.session_id is None:
            continue
        for stream in _details(entry).get("streams") or []:
            out[(entry.session_id, stream.get("thread_id"))] = (int(stream.get("events", 0)),
                                                                  str(stream.get("head_hash")))
    return out


def verify(store: EventStore, session_ids: Sequence[str] | None = None, *, anchor: Anchor | None = None,
           workers: int | None = None) -> VerifyReport:
    """Verify the whole log (``session_ids`` None) or some sessions; with ``anchor`` (an
    :class:`~recorder.compliance.anchor.Anchor`), also that the database still extends it. Never raises for a
    broken log: look at ``report.ok`` / ``report.problems`` (or call ``report.raise_if_broken()``).

    ``workers``: processes checking the events of a whole-log verification (None: one per two CPUs from four
    CPUs on, up to MAX_WORKERS, for logs of PARALLEL_MIN_EVENTS events or more; 1: none)."""
    started = time.perf_counter()
    compliance = ComplianceStore(store)
    whole_log = session_ids is None
    wanted = None if whole_log else list(dict.fromkeys(session_ids or []))
    report = VerifyReport(scope="log" if whole_log else "sessions", session_ids=wanted or [])
    with compliance.reading() as reader, ThreadPoolExecutor(1) as pool:
        if wanted is not None:
            present = set(reader.session_ids(wanted))
            for session_id in wanted:
                if session_id not in present:
                    raise NotFound(compliance.missing_session_message(session_id))
        log_head = reader.log_head()
        streams = reader.streams(wanted)
        ranges = reader.pruned_ranges() if whole_log else []
        entries = reader.audit_entries()
        report.log_head = log_head if whole_log else None
        report.pruned_positions = sum(last - first + 1 for first, last, _ in ranges)
        report.streams = len(streams)
        report.sessions = len(reader.session_ids(wanted))
        by_key = {(s.session_id, s.thread_id): s.stream_id for s in streams}
        targets = {}
        if anchor is not None:
            targets = {by_key[(a.session_id, a.thread_id)]: a.count for a in anchor.streams
                       if (a.session_id, a.thread_id) in by_key}
        pruned = [(a, b) for a, b, _ in ranges]
        checker = _Checker(report, streams, _Intervals(pruned), whole_log=whole_log, targets=targets,
                           log_head=log_head)
        count = _worker_count(workers, log_head) if whole_log else 1
        if count < 2 or not _parallel_pass(store.url, reader, checker, streams, pruned, log_head, targets, count):
            _sequential_pass(compliance, reader, checker, pool, wanted, log_head)
        checker.finish(log_head if whole_log else None)
        if whole_log:
            hit = reader.first_event_in_pruned_range()
            if hit is not None:
                checker.add(Problem("position", "an event at a position an audited prune removed (forged event)",
                                    hit.session_id, hit.thread_id, hit.seq, hit.position, hit.position))
            for session_id, audit_id in reader.guard_rows():
                checker.add(Problem("guard", f"retention_guard still lists session {session_id} (audit entry "
                                    f"{audit_id}): a bypass of the append-only triggers was committed"))
            _check_audit(report, entries, ranges, checker)
        _check_holds(entries, reader.held_sessions(), wanted, checker)
        _check_files(report, reader, wanted, checker)
        _check_snapshots(report, reader, wanted, checker)
        report.heads = [
            StreamHead(s.session_id, s.thread_id, checker.state[s.stream_id][2], checker.state[s.stream_id][3].hex())
            for s in streams
        ]
        if anchor is not None:
            for problem in compare(anchor, report, checker.at_target, by_key, pruned_streams(entries), entries,
                                   whole_log=whole_log, sessions=wanted):
                checker.add(problem)
    checker.trim()
    report.elapsed_s = time.perf_counter() - started
    return report


def _sqlite_candidates(compliance: ComplianceStore, log_head: int, session_ids: Sequence[str] | None,
                       first: int = 1) -> list[EventColumns]:
    if session_ids is None:
        return compliance.derived_candidates(log_head, None, first)
    return [row for session_id in session_ids for row in compliance.derived_candidates(log_head, session_id)]


def _event_batches(reader: LogReader, checker: _Checker, derived_inline: bool, session_id: str | None = None, *,
                   first: int | None = None, last: int | None = None) -> None:
    """Feed the checker every event in scope; with ``derived_inline`` (PostgreSQL), check the derived columns in
    the same pass (SQLite prefilters them in SQL instead, see ``_sqlite_candidates``)."""
    if not derived_inline:
        for rows in reader.chained_events(session_id, first=first, last=last):
            checker.feed(rows)
        return
    for scanned in reader.scanned_events(session_id, first=first, last=last):
        _check_derived(checker, scanned)
        checker.feed([row.chained for row in scanned])


def _sequential_pass(compliance: ComplianceStore, reader: LogReader, checker: _Checker, pool: ThreadPoolExecutor,
                     wanted: Sequence[str] | None, log_head: int) -> None:
    """Every event in this process, in the reader's snapshot (SQLite: the derived-column prefilter in a thread)."""
    sqlite = compliance.dialect == "sqlite"
    derived: Future[list[EventColumns]] | None = None
    if sqlite:
        derived = pool.submit(_sqlite_candidates, compliance, log_head, wanted)
    for session_id in [None] if wanted is None else wanted:
        _event_batches(reader, checker, not sqlite, session_id)
    if derived is not None:
        _check_derived(checker, derived.result())


# ------------------------------------------------------------------------------------ in parallel

PARALLEL_MIN_EVENTS = 200_000
MAX_WORKERS = 4


def _worker_count(workers: int | None, log_head: int) -> int:
    """Each worker keeps two CPUs busy (hashing, and SQLite's JSON work in a thread), as does the sequential pass:
    workers pay off from four CPUs on."""
    if workers is not None:
        return max(1, workers)
    cpus = os.cpu_count() or 1
    if log_head < PARALLEL_MIN_EVENTS or cpus < 4:
        return 1
    return max(1, min(cpus // 2, MAX_WORKERS, log_head // (PARALLEL_MIN_EVENTS // 2)))


@dataclass(slots=True)
class _RangeResult:
    """What a worker found in one range of positions."""

    problems: int
    events: int
    last_position: int
    entries: dict[int, tuple[int, int, str, str]]  # stream_id -> (seq, position, payload digest, chain_hash)
    exits: dict[int, tuple[int, str, int]]  # stream_id -> (last seq, its chain hash, its position)
    at_target: dict[int, str]


def _verify_range(url: str, first: int, last: int, streams: list[StreamRow], pruned: list[tuple[int, int]],
                  log_head: int, targets: dict[int, int]) -> _RangeResult:
    """A worker: check the events at positions first..last (in a process of its own)."""
    with open_read_only(url, check_schema=False) as store, ThreadPoolExecutor(1) as pool:
        compliance = ComplianceStore(store)
        sqlite = compliance.dialect == "sqlite"
        report = VerifyReport("log", [])
        checker = _Checker(report, streams, _Intervals(pruned), whole_log=True, targets=targets, log_head=log_head,
                           entry_mode=True)
        checker.next_position = first
        with compliance.reading() as reader:
            derived = pool.submit(_sqlite_candidates, compliance, last, None, first) if sqlite else None
            _event_batches(reader, checker, not sqlite, first=first, last=last)
            checker.gap(checker.next_position, last + 1)
            if derived is not None:
                _check_derived(checker, derived.result())
    exits = {sid: (st[2], st[3].hex(), st[4]) for sid, st in checker.state.items() if st[2] > 0}
    return _RangeResult(report.problems_found, report.events, checker.last_position, checker.entries, exits,
                        checker.at_target)


def _parallel_pass(url: str, reader: LogReader, checker: _Checker, streams: list[StreamRow],
                   pruned: list[tuple[int, int]], log_head: int, targets: dict[int, int], count: int) -> bool:
    """Check the events in ``count`` processes, one range of positions each, and chain the ranges together.

    True when everything checked out; the checker then holds the streams' final state. False when anything did
    not (or an event lies past the log head): the caller runs the sequential pass, in its own consistent
    snapshot, which finds and reports the exact first bad place. The workers read in snapshots of their own, so
    a prune running meanwhile also just sends verification down the sequential path.
    """
    if log_head == 0 or reader.max_position() > log_head:
        return False
    size = -(-log_head // count)
    spans = [(first, min(first + size - 1, log_head)) for first in range(1, log_head + 1, size)]
    context = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(len(spans), mp_context=context) as workers:
            futures = [workers.submit(_verify_range, url, first, last, streams, pruned, log_head, targets)
                       for first, last in spans]
            results = [future.result() for future in futures]
    except (BrokenProcessPool, OSError):  # no processes to be had here (e.g. run from stdin): do it in this one
        return False
    heads = {s.stream_id: (0, chain.genesis(s.session_id, s.thread_id), 0) for s in streams}
    at_target = dict(checker.at_target)
    for result in results:
        if result.problems:
            return False
        for stream_id, (seq, _position, digest, chain_hash) in result.entries.items():
            previous_seq, previous_head, _ = heads[stream_id]
            if seq != previous_seq + 1 or chain.chain_hash(previous_head, seq, digest) != chain_hash:
                return False
        heads.update(result.exits)
        at_target.update(result.at_target)
    for s in streams:
        seq, head, _ = heads[s.stream_id]
        if seq != s.last_seq or head != s.head_hash:
            return False
    for stream_id, (seq, head, position) in heads.items():
        checker.state[stream_id][2:5] = [seq, bytes.fromhex(head), position]
    checker.at_target = at_target
    checker.report.events = sum(r.events for r in results)
    checker.last_position = max((r.last_position for r in results), default=0)
    return True
