"""The incremental projection: tail the event log by global position into the DuckDB read model.

Protocol, per batch of log rows (read with ``position > checkpoint``, in position order):

1. flatten the rows (:mod:`analytics.extract`) outside any transaction (far behind: in worker processes,
   :mod:`analytics.parallel`; the batches are still written one by one, in order);
2. in ONE DuckDB transaction: append the new streams and every fact row, then move the checkpoint
   (``projection_state.position``, with the last row's chain hash) and commit.

After the batches, the rows projected since the last time are indexed into ``distinct_events`` (one row per
event of a session, however many streams it was recorded from: see ``schema.INDEX_EVENTS``), in one transaction
with ``indexed_position``; reports never group copies themselves.

A crash anywhere before the commit leaves the file as it was after the previous batch, so the next run resumes
from the checkpoint and writes each log row exactly once: nothing is counted twice, nothing skipped. The log's
append protocol makes positions gapless and visible in order (appends are serialized), so a reader of
``position > checkpoint`` can never step over an event whose transaction commits late.

Retention (``recorder prune``) removes whole sessions from the log and records the positions it removed
(``pruned_ranges``). Before tailing, the projection deletes its rows at positions pruned since its last run, in
one transaction with the id of the last prune applied: what the log no longer holds, analytics no longer shows.

Then the checkpoint is recognized: the log row at the checkpoint must still have the chain hash the projection
saw (or have been pruned). If it does not (the analytics file was pointed at another log, or the log was
recreated), the read model is emptied and rebuilt from position 0. A file written by a different schema is rebuilt
too. Snapshots (what the API last said about sessions and threads) are not positioned in the log; after tailing
they are replaced wholesale when they changed, in a transaction of their own. Last, the small derived tables
(primary threads, threads, sessions) are recomputed if anything changed, so reports join them ready-made.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from recorder.store import LogTail, redact

from . import duck, extract, parallel, schema

BATCH_ROWS = 20_000
CHECKPOINT_THRESHOLD = "1GB"


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


TABLES_DIGEST = _digest(schema.TABLES)
VIEWS_DIGEST = _digest(schema.VIEWS)


@dataclass(frozen=True)
class State:
    """Where the projection is."""

    path: Path
    position: int
    chain_hash: str | None
    log_rows: int
    pruned_audit_id: int
    indexed_position: int
    source: str | None
    created_at: datetime
    updated_at: datetime
    snapshots_at: datetime | None


@dataclass(frozen=True)
class UpdateResult:
    """What one :meth:`Projection.update` did."""

    rows: int
    batches: int
    seconds: float
    position: int
    head: int
    rebuilt: str | None = None  # why the read model was emptied first, if it was

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


Progress = Callable[[int, int], None]  # (rows projected so far in this update, rows to project in all)
Fault = Callable[[int], None]  # test hook: called inside a batch's transaction, before the checkpoint moves


class Projection:
    """The analytics read model in one DuckDB file. Use as a context manager; one writer process at a time."""

    def __init__(self, path: str | Path, *, read_only: bool = False, wait: float = duck.LOCK_WAIT_SECONDS) -> None:
        self.path = Path(path)
        self.read_only = read_only
        existed = self.path.exists()
        self.con = duck.connect(self.path, read_only=read_only, wait=wait)
        try:
            with duck.translated(self.path):
                if not read_only:
                    # Checkpoint when an update is done, not every 16 MB of write-ahead log while it runs.
                    self.con.execute(f"SET checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")
                self.schema_note = self._ensure_schema()
        except BaseException:
            self.con.close()
            if not existed and not read_only:
                duck.discard_new(self.path)  # a full disk must not leave a file that blocks the next run
            raise

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Projection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------------------------------- schema

    def _has_state(self) -> bool:
        found = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'projection_state'"
        ).fetchone()
        return bool(found and found[0])

    def _ensure_schema(self) -> str | None:
        """Create the schema, or recreate it when the file was written by a different one. Returns why, if so."""
        if self.read_only:
            if not self._has_state():
                raise duck.translate(RuntimeError("not an analytics file (no projection_state table)"), self.path)
            return None
        if not self._has_state():
            self._create()
            return None
        meta = self.con.execute("SELECT value FROM projection_meta WHERE key = 'tables'").fetchone()
        if meta is None or meta[0] != TABLES_DIGEST:
            self._drop_all()
            self._create()
            return "the analytics file was written by another version; rebuilt from the log"
        views = self.con.execute("SELECT value FROM projection_meta WHERE key = 'views'").fetchone()
        if views is None or views[0] != VIEWS_DIGEST:
            self.con.begin()
            for statement in schema.statements(schema.VIEWS):
                self.con.execute(statement)
            self.con.execute("UPDATE projection_meta SET value = ? WHERE key = 'views'", [VIEWS_DIGEST])
            self.con.commit()
        return None

    def _drop_all(self) -> None:
        self.con.begin()
        for name, kind in self.con.execute(
            "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall():
            self.con.execute(f'DROP {"VIEW" if kind == "VIEW" else "TABLE"} IF EXISTS "{name}" CASCADE')
        self.con.commit()

    def _create(self) -> None:
        now = _now()
        self.con.begin()
        for statement in schema.statements(schema.TABLES):
            self.con.execute(statement)
        self.con.execute("CREATE TABLE projection_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        self.con.execute(
            "INSERT INTO projection_meta VALUES ('tables', ?), ('views', ?)", [TABLES_DIGEST, VIEWS_DIGEST]
        )
        for statement in schema.statements(schema.VIEWS):
            self.con.execute(statement)
        self.con.execute(
            "INSERT INTO projection_state VALUES (1, ?, 0, NULL, 0, 0, 0, NULL, ?, ?, NULL)",
            [schema.SCHEMA_VERSION, now, now],
        )
        self.con.commit()

    # ----------------------------------------------------------------------------------------- state

    def state(self) -> State:
        with duck.translated(self.path):
            row = self.con.execute(
                "SELECT position, chain_hash, log_rows, pruned_audit_id, indexed_position, source, created_at, "
                "updated_at, snapshots_at "
                "FROM projection_state WHERE id = 1"
            ).fetchone()
        assert row is not None
        return State(self.path, *row)

    def _reset(self) -> None:
        """Empty the read model (same schema), back to position 0."""
        now = _now()
        self.con.begin()
        for table in schema.FACT_TABLES + schema.SNAPSHOT_TABLES + schema.DERIVED_TABLES:
            self.con.execute(f"DELETE FROM {table}")
        self.con.execute("DELETE FROM projection_meta WHERE key IN ('snapshots', 'derived')")
        self.con.execute(
            "UPDATE projection_state SET position = 0, chain_hash = NULL, log_rows = 0, pruned_audit_id = 0, "
            "indexed_position = 0, source = NULL, "
            "created_at = ?, updated_at = ?, snapshots_at = NULL WHERE id = 1",
            [now, now],
        )
        self.con.commit()

    def _recognizes(self, store: LogTail, state: State, pruned: list[tuple[int, int, int]]) -> bool:
        """Does the log still hold, at the checkpoint, the row the projection saw last (or was it pruned)?"""
        if state.position == 0:
            return True
        if any(first <= state.position <= last for first, last, _ in pruned):
            return True
        rows = store.read_log(state.position - 1, 1)
        return bool(rows) and rows[0].position == state.position and rows[0].chain_hash == state.chain_hash

    def _apply_prunes(self, pruned: list[tuple[int, int, int]], state: State) -> int:
        """Delete the rows at positions pruned since the last update; returns how many log rows went."""
        fresh = [(first, last) for first, last, audit_id in pruned if audit_id > state.pruned_audit_id]
        if not fresh:
            return 0
        newest = max(audit_id for _, _, audit_id in pruned)
        con = self.con
        con.begin()
        try:
            con.execute("CREATE OR REPLACE TEMP TABLE pruned (first_position BIGINT, last_position BIGINT)")
            con.execute("INSERT INTO pruned SELECT unnest($1), unnest($2)",
                        [[first for first, _ in fresh], [last for _, last in fresh]])
            gone = con.execute(
                "SELECT count(*) FROM log_events e JOIN pruned r ON e.position BETWEEN r.first_position "
                "AND r.last_position"
            ).fetchone()
            for table in schema.FACT_TABLES:
                if table != "streams":
                    con.execute(f"DELETE FROM {table} USING pruned r "
                                f"WHERE {table}.position BETWEEN r.first_position AND r.last_position")
            con.execute("DELETE FROM streams WHERE stream_id NOT IN (SELECT DISTINCT stream_id FROM log_events)")
            removed = int(gone[0]) if gone else 0
            con.execute("UPDATE projection_state SET pruned_audit_id = ?, log_rows = log_rows - ? WHERE id = 1",
                        [newest, removed])
            con.execute("DROP TABLE pruned")
            con.commit()
        except BaseException:
            con.rollback()
            raise
        return removed

    # ---------------------------------------------------------------------------------------- update

    def rebuild(self, store: LogTail, **options: Any) -> UpdateResult:
        """Empty the read model and project the whole log again (identical tables to an incremental run)."""
        self._require_writable()
        with duck.translated(self.path):
            self._drop_all()
            self._create()
        result = self.update(store, **options)
        return UpdateResult(result.rows, result.batches, result.seconds, result.position, result.head, "rebuild")

    def update(
        self,
        store: LogTail,
        *,
        batch_rows: int = BATCH_ROWS,
        max_rows: int | None = None,
        snapshots: bool = True,
        progress: Progress | None = None,
        fault: Fault | None = None,
        workers: int | None = 0,
        parallel_min_rows: int = parallel.MIN_ROWS,
    ) -> UpdateResult:
        """Project every log row past the checkpoint (at most ``max_rows``), then refresh the snapshots.

        With ``workers`` (None: one per core, at most four), when at least ``parallel_min_rows`` behind, that many
        processes read and flatten ranges of the log while this one writes them (:mod:`analytics.parallel`). They
        are started with ``spawn``: a script calling this needs the usual ``if __name__ == "__main__":`` guard.
        """
        self._require_writable()
        with parallel.paused_gc():
            return self._update(store, batch_rows, max_rows, snapshots, progress, fault, workers, parallel_min_rows)

    def _update(self, store: LogTail, batch_rows: int, max_rows: int | None, snapshots: bool,
                progress: Progress | None, fault: Fault | None, workers: int | None,
                parallel_min_rows: int) -> UpdateResult:
        started = time.perf_counter()
        state, rebuilt = self._prepare(store)
        head = store.head_position()
        tail = _Tail(self, store, fault, progress, todo=max(head - state.position, 0) if max_rows is None
                     else min(max(head - state.position, 0), max_rows))
        tail.position = state.position
        workers = parallel.default_workers() if workers is None else workers
        if workers and max_rows is None and head - state.position >= parallel_min_rows:
            for batch, last, chain_hash, count in parallel.flattened(
                store.url, state.position, head, workers=workers, batch_rows=batch_rows, range_rows=batch_rows
            ):
                if last is not None:  # else a range the log no longer holds (pruned)
                    tail.write(batch, last, chain_hash, count)
        flattener = extract.Flattener(tail.known)
        rest = None if max_rows is None else max_rows - tail.rows
        for rows, chain_hash in _read_ahead(store, tail.position, batch_rows, rest):
            tail.write(flattener.flatten(rows), rows[-1][0], chain_hash, len(rows))
        if snapshots:
            self.refresh_snapshots(store)
        self.derive()
        if tail.rows:
            with duck.translated(self.path):
                self.con.execute("CHECKPOINT")  # fold the write-ahead log into the file now, not at the next open
        return UpdateResult(tail.rows, tail.batches, time.perf_counter() - started, tail.position, head, rebuilt)

    def _prepare(self, store: LogTail) -> tuple[State, str | None]:
        """Apply new prunes and recognize the checkpoint (emptying the model if the log is another one)."""
        rebuilt, self.schema_note = self.schema_note, None
        pruned = _pruned_ranges(store)
        with duck.translated(self.path):
            self._apply_prunes(pruned, self.state())
        state = self.state()
        if not self._recognizes(store, state, pruned):
            with duck.translated(self.path):
                self._reset()
            rebuilt = "the log no longer holds the event at the analytics checkpoint; rebuilt from the log"
            state = self.state()
        return state, rebuilt

    def known_streams(self) -> dict[int, tuple[str, str | None]]:
        with duck.translated(self.path):
            rows = self.con.execute("SELECT stream_id, session_id, thread_id FROM streams").fetchall()
        return {int(stream_id): (session_id, thread_id) for stream_id, session_id, thread_id in rows}

    def _meta(self, key: str) -> str | None:
        row = self.con.execute("SELECT value FROM projection_meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self.con.execute("INSERT OR REPLACE INTO projection_meta VALUES (?, ?)", [key, value])

    def derive(self) -> bool:
        """Index the distinct events of the rows projected since the last time, then recompute the derived tables
        (``schema.DERIVED``) if the facts or snapshots changed; True if anything was done."""
        self._require_writable()
        with duck.translated(self.path):
            state = self.state()
            mark = f"{state.position}/{state.log_rows}/{state.pruned_audit_id}/{self._meta('snapshots')}"
            if self._meta("derived") == mark and state.indexed_position == state.position:
                return False
            con = self.con
            con.begin()
            try:
                if state.indexed_position < state.position:
                    for statement in schema.INDEX_EVENTS:
                        con.execute(statement, [state.indexed_position, state.position] if "$1" in statement else [])
                    con.execute("UPDATE projection_state SET indexed_position = ? WHERE id = 1", [state.position])
                for table, query in schema.DERIVED:
                    con.execute(f"DELETE FROM {table}")
                    con.execute(f"INSERT INTO {table} {query}")
                self._set_meta("derived", mark)
                con.commit()
            except BaseException:
                con.rollback()
                raise
        return True

    def _write_batch(
        self, batch: extract.Batch, last: int, chain_hash: str | None, count: int, source: str, fault: Fault | None
    ) -> None:
        con = self.con
        con.begin()
        try:
            if batch.streams:
                with con.appender("streams") as appender:
                    appender.append_rows([(sid, s, t) for sid, (s, t) in sorted(batch.streams.items())])
            for table, rows in batch.tables().items():
                if rows:
                    with con.appender(table) as appender:
                        appender.append_rows(rows)
            if fault is not None:
                fault(last)
            con.execute(
                "UPDATE projection_state SET position = ?, chain_hash = ?, log_rows = log_rows + ?, source = ?, "
                "updated_at = ? WHERE id = 1",
                [last, chain_hash, count, source, _now()],
            )
            con.commit()
        except BaseException:
            con.rollback()
            raise

    def refresh_snapshots(self, store: LogTail) -> int:
        """Replace the snapshot tables with the store's latest snapshots; returns how many there are."""
        self._require_writable()
        stored = store.latest_snapshots()
        digest = hashlib.sha256(repr(sorted(stored, key=lambda s: (s[0], s[1] or ""))).encode("utf-8",
                                "backslashreplace")).hexdigest()
        with duck.translated(self.path):
            if self._meta("snapshots") == digest:
                return len(stored)
            rows = extract.snapshots(stored)
            con = self.con
            con.begin()
            try:
                for table, table_rows in rows.tables().items():
                    con.execute(f"DELETE FROM {table}")
                    if table_rows:
                        with con.appender(table) as appender:
                            appender.append_rows(table_rows)
                con.execute("UPDATE projection_state SET snapshots_at = ? WHERE id = 1", [_now()])
                self._set_meta("snapshots", digest)
                con.commit()
            except BaseException:
                con.rollback()
                raise
        return len(stored)

    def _require_writable(self) -> None:
        if self.read_only:
            raise duck.translate(RuntimeError("opened read-only"), self.path)

    # ----------------------------------------------------------------------------------------- reads

    def query(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
        """Run SQL on the read model (errors translated); fetch from the returned cursor. ``params``: positional
        (``?``) or named (``$name``, a mapping: what the reports in :mod:`.queries` pass)."""
        with duck.translated(self.path):
            return self.con.execute(sql, params or [])

    def table_counts(self) -> dict[str, int]:
        """Rows per table of the read model (what `recorder analytics status` shows)."""
        counts = {}
        for table in schema.FACT_TABLES + schema.SNAPSHOT_TABLES + schema.DERIVED_TABLES:
            row = self.query(f"SELECT count(*) FROM {table}").fetchone()
            counts[table] = int(row[0]) if row else 0
        return counts


class _Tail:
    """One update's progress through the log: writes batches in order, counts, reports progress."""

    def __init__(self, projection: Projection, store: LogTail, fault: Fault | None, progress: Progress | None,
                 todo: int) -> None:
        self.projection, self.fault, self.progress, self.todo = projection, fault, progress, todo
        self.source = redact(store.url)
        self.known = projection.known_streams()
        self.position = self.rows = self.batches = 0

    def write(self, batch: extract.Batch, last: int, chain_hash: str | None, count: int) -> None:
        batch.streams = {k: v for k, v in batch.streams.items() if k not in self.known}
        with duck.translated(self.projection.path):
            self.projection._write_batch(batch, last, chain_hash, count, self.source, self.fault)
        self.known.update(batch.streams)
        self.position, self.rows, self.batches = last, self.rows + count, self.batches + 1
        if self.progress is not None:
            self.progress(self.rows, max(self.todo, self.rows))


def _chain_hash(store: LogTail, position: int) -> str | None:
    rows = store.read_log(position - 1, 1)
    return rows[0].chain_hash if rows and rows[0].position == position else None


def _read_ahead(store: LogTail, after: int, batch_rows: int, max_rows: int | None
                ) -> Iterator[tuple[list[extract.LogRow], str | None]]:
    """Batches of log rows past ``after`` (at most ``max_rows`` in all), each with its last row's chain hash.

    The next batch is read in a background thread while the caller flattens and writes the current one: the
    database driver spends much of a read outside the GIL. Batch sizes adapt to the payloads
    (see ``parallel.next_limit``).
    """

    def read(position: int, limit: int) -> tuple[list[extract.LogRow], str | None]:
        rows = store.read_log_rows(position, limit)
        return rows, (_chain_hash(store, rows[-1][0]) if rows else None)

    total, limit = 0, min(batch_rows, 2_000)
    with ThreadPoolExecutor(1, thread_name_prefix="analytics-read") as pool:
        future = pool.submit(read, after, limit if max_rows is None else min(limit, max_rows))
        while True:
            rows, chain_hash = future.result()
            if not rows:
                return
            total += len(rows)
            limit = parallel.next_limit(limit, batch_rows, len(rows), sum(len(row[7]) for row in rows))
            more = max_rows is None or total < max_rows
            if more:
                want = limit if max_rows is None else min(limit, max_rows - total)
                future = pool.submit(read, rows[-1][0], want)
            yield rows, chain_hash
            if not more:
                return


def _pruned_ranges(store: LogTail) -> list[tuple[int, int, int]]:
    """(first position, last position, audit id) of every range of the log removed by retention."""
    return list(store.pruned_ranges())
