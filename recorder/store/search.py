"""The UI's read model in the log's database: a full-text index of messages and tool calls, and per-session and
per-thread totals (migration ``0005``). Rebuildable: it is derived from the event log only.

How it is kept: :meth:`SearchIndex.catch_up` tails the log by global position (like the analytics projection),
a batch at a time; each batch's rows and the new checkpoint (``ui_index_state.position``) are written in one
transaction, so a crash never counts an event twice or skips one. Appends are serialized and positions become
visible in order (see :mod:`recorder.store.log`), so tailing by position never skips a late commit.

Counting each event once: one event can sit in several streams of a session (a thread's own copy and the
session stream's). ``ui_docs`` has one row per ``(session_id, event_key)``; only the first copy adds to the
totals. Its ``body`` is the searchable text (messages, tool inputs and results, errors), NULL for other events.

Full text: SQLite FTS5 (an external-content table ``ui_fts`` over ``ui_docs.body``, ranked by bm25, snippets by
``snippet()``); PostgreSQL a generated ``tsvector`` with a GIN index (``websearch_to_tsquery``, ``ts_headline``
for the snippets of the page shown only). A query never reads payloads.

Pruned sessions: readers join ``sessions``, so what retention removed disappears from lists and hits; the rows
left behind are dropped by a rebuild (done automatically when the log's head is behind the checkpoint).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Connection, DateTime, Float, String, Text, TextClause, bindparam, text

from recorder import vocabulary
from recorder.money import money_amount
from recorder.store.database import utcnow
from recorder.store.eventstore import EventStore
from recorder.store.rows import StoredEvent
from recorder.vocabulary import TOKEN_FIELDS

BODY_LIMIT = 50_000
MATCH_CAP = 10_000
KEY_CHUNK = 500

MESSAGE_TYPES = frozenset(vocabulary.MESSAGE_TYPES)
TOOL_USE_TYPES = frozenset(vocabulary.TOOL_USE_KINDS)
TOOL_RESULT_TYPES = frozenset(vocabulary.TOOL_RESULTS)
_STRIP_QUERY = re.compile(r"[^\w\s]", re.UNICODE)
_SURROGATE = re.compile("[\ud800-\udfff]")
_WORD = re.compile(r"\w+", re.UNICODE)


def db_time(value: datetime | None, dialect: str) -> Any:
    """A naive UTC datetime as a parameter of a text query (SQLite: the text SQLAlchemy stores)."""
    return value.isoformat(" ", "microseconds") if value is not None and dialect == "sqlite" else value


def read_time(value: Any) -> datetime | None:
    """A datetime read by a text query (SQLite gives the stored text)."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def content_text(content: Any) -> str:
    """The words of an API content value: text blocks, strings, and the string leaves of anything else."""
    parts: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            if value.get("type") == "text" and isinstance(value.get("text"), str):
                parts.append(value["text"])
                return
            for key, item in value.items():
                if key not in ("type", "id", "cache_control"):
                    walk(item)

    walk(content)
    return "\n".join(p for p in parts if p)


def event_text(event_type: str, data: dict[str, Any]) -> str | None:
    """What a search should find an event by, or None for events without text of their own."""
    if event_type in MESSAGE_TYPES:
        body = content_text(data.get("content"))
    elif event_type in TOOL_USE_TYPES:
        name = data.get("name") if isinstance(data.get("name"), str) else ""
        body = f"{name}\n{content_text(data.get('input'))}"
    elif event_type in TOOL_RESULT_TYPES:
        body = content_text(data.get("content"))
    elif event_type == "session.error":
        body = content_text(data.get("error"))
    else:
        return None
    # lone surrogates and NUL: valid JSON, not storable as text (NUL on PostgreSQL)
    body = _SURROGATE.sub("\ufffd", body.strip()[:BODY_LIMIT]).replace("\x00", "\ufffd")
    return body or None


@dataclass(frozen=True, slots=True)
class _Doc:
    session_id: str
    event_key: str
    event_id: str
    thread_id: str | None
    position: int
    type: str
    body: str | None
    processed_at: datetime | None
    data: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class SearchHit:
    session_id: str
    event_id: str
    type: str
    snippet: str  # plain text: the matched words are between \x02 and \x03 (the page marks them)
    matches: int  # matching events in the session


@dataclass(frozen=True, slots=True)
class SearchPage:
    query: str
    total: int  # sessions that match (at least, when capped)
    hits: list[SearchHit]
    capped: bool = False


@dataclass(frozen=True, slots=True)
class Ranking:
    sessions: list[tuple[str, int, int]]  # (session id, matching events, best matching doc id), best first
    capped: bool  # more events matched than were ranked: the most recent matches only


def _parse(payload: str) -> dict[str, Any] | None:
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _fold(word: str) -> str:
    """A word as the full-text index compares it: lower case, without diacritics."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def query_words(query: str) -> list[str]:
    return [_fold(w) for w in _STRIP_QUERY.sub(" ", query).split()]


def snippet(body: str, words: list[str], context: int = 12) -> str:
    """About ``2 * context`` words of ``body`` around its first match of ``words`` (the last one a prefix, as
    the search matches it), matches between \\x02 and \\x03, cuts marked with an ellipsis."""
    tokens = list(_WORD.finditer(body))

    def hit(token: str) -> bool:
        folded = _fold(token)
        return folded in words[:-1] or folded.startswith(words[-1])

    first = next((n for n, m in enumerate(tokens) if hit(m.group())), 0)
    lo, hi = max(0, first - context), min(len(tokens), first + context)
    if not tokens:
        return body[:200]
    start, end = tokens[lo].start(), tokens[hi - 1].end()
    pieces, at = [], start
    for m in tokens[lo:hi]:
        if hit(m.group()):
            pieces += [body[at:m.start()], "\x02", m.group(), "\x03"]
            at = m.end()
    pieces.append(body[at:end])
    return ("…" if lo > 0 else "") + "".join(pieces) + ("…" if hi < len(tokens) else "")


def fts_query(query: str) -> str:
    """A user's words as an FTS5 query: every word must appear (prefix match on the last), no operators."""
    words = _STRIP_QUERY.sub(" ", query).split()
    if not words:
        return ""
    quoted = [f'"{w}"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)


class SearchIndex:
    """The UI's read model behind an :class:`EventStore` (which must be at the schema's head)."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.dialect = store.dialect

    # ------------------------------------------------------------------------------------ state

    def position(self) -> int:
        with self.store.read() as conn:
            value = conn.execute(text("SELECT position FROM ui_index_state WHERE id = 1")).scalar()
        return int(value or 0)

    def behind(self) -> int:
        """Log positions not indexed yet."""
        return max(0, self.store.head_position() - self.position())

    # ----------------------------------------------------------------------------------- update

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        """Drop everything and index the whole log again; returns the events read."""
        self.reset()
        return self.catch_up(progress=progress)

    def reset(self) -> None:
        """Empty the read model (the next catch-up starts from the log's beginning)."""
        with self.store.write() as conn:
            for table in ("ui_docs", "ui_threads", "ui_sessions", "ui_index_state"):
                conn.execute(text(f"DELETE FROM {table}"))
            if self.dialect == "sqlite":
                conn.execute(text("INSERT INTO ui_fts(ui_fts) VALUES ('delete-all')"))

    def catch_up(self, *, batch_rows: int = 5000, max_rows: int | None = None,
                 progress: Callable[[int], None] | None = None) -> int:
        """Index what the log holds beyond the checkpoint; returns the events read."""
        done = 0
        after = self.position()
        if not self._recognizes(after):  # the log was reset, restored or pruned under the model
            return self.rebuild(progress)
        while max_rows is None or done < max_rows:
            limit = batch_rows if max_rows is None else min(batch_rows, max_rows - done)
            rows = self.store.read_log(after, limit)
            if not rows:
                break
            self._apply(rows)
            after = rows[-1].position
            done += len(rows)
            if progress is not None:
                progress(done)
        return done

    def _recognizes(self, position: int) -> bool:
        """Whether the log still holds, at the checkpoint, the event the model last read."""
        if position == 0:
            return True
        with self.store.read() as conn:
            known = conn.execute(text("SELECT chain_hash FROM ui_index_state WHERE id = 1")).scalar()
        there = self.store.read_log(position - 1, 1)
        return bool(there) and there[0].position == position and there[0].chain_hash == known

    def _apply(self, rows: list[StoredEvent]) -> None:
        docs: dict[tuple[str, str], _Doc] = {}
        for row in rows:
            key = (row.session_id, row.event_key)
            if key in docs:
                continue
            data = _parse(row.payload) if _wanted(row.type) else None
            body = event_text(row.type, data) if data is not None else None
            thread = row.thread_id
            if thread is None and data is not None and isinstance(data.get("session_thread_id"), str):
                thread = data["session_thread_id"]
            docs[key] = _Doc(row.session_id, row.event_key, row.event_id, thread, row.position, row.type, body,
                             row.processed_at, data)
        with self.store.write() as conn:
            known = self._known(conn, list(docs))
            fresh = [doc for key, doc in docs.items() if key not in known]
            if fresh:
                self._insert_docs(conn, fresh)
                self._add_totals(conn, fresh)
            self._set_position(conn, rows[-1].position, rows[-1].chain_hash)

    def _known(self, conn: Connection, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
        found: set[tuple[str, str]] = set()
        by_key = sorted({k for _, k in keys})
        for start in range(0, len(by_key), KEY_CHUNK):
            chunk = by_key[start:start + KEY_CHUNK]
            names = ", ".join(f":k{i}" for i in range(len(chunk)))
            result = conn.execute(text(f"SELECT session_id, event_key FROM ui_docs WHERE event_key IN ({names})"),
                                  {f"k{i}": k for i, k in enumerate(chunk)})
            found.update((r[0], r[1]) for r in result)
        return found

    def _insert_docs(self, conn: Connection, docs: list[_Doc]) -> None:
        params = [{"s": d.session_id, "k": d.event_key, "e": d.event_id, "t": d.thread_id, "p": d.position,
                   "y": d.type, "b": d.body} for d in docs]
        before = conn.execute(text("SELECT coalesce(max(doc_id), 0) FROM ui_docs")).scalar_one()
        conn.execute(text("INSERT INTO ui_docs (session_id, event_key, event_id, thread_id, position, type, body) "
                          "VALUES (:s, :k, :e, :t, :p, :y, :b)"), params)
        if self.dialect == "sqlite" and any(d.body is not None for d in docs):
            # under the log's write lock: the rows above are the only ones past ``before``
            conn.execute(text("INSERT INTO ui_fts(rowid, body) SELECT doc_id, body FROM ui_docs "
                              "WHERE doc_id > :before AND body IS NOT NULL"), {"before": before})

    def _add_totals(self, conn: Connection, docs: list[_Doc]) -> None:
        sessions: dict[str, dict[str, Any]] = {}
        threads: dict[tuple[str, str], list[int]] = {}
        for doc in docs:
            s = sessions.setdefault(doc.session_id, {"events": 0, "model_requests": 0, **dict.fromkeys(TOKEN_FIELDS, 0),
                                                     "first": None, "last": None, "cost": None, "deleted": None})
            s["events"] += 1
            if doc.processed_at is not None:
                s["first"] = doc.processed_at if s["first"] is None else min(s["first"], doc.processed_at)
                s["last"] = doc.processed_at if s["last"] is None else max(s["last"], doc.processed_at)
            data = doc.data
            if doc.type == vocabulary.REQUEST_END and data is not None:
                raw = data.get("model_usage")
                usage: dict[str, Any] = raw if isinstance(raw, dict) else {}
                counts = [_int(usage.get(name)) for name in TOKEN_FIELDS]
                s["model_requests"] += 1
                for name, value in zip(TOKEN_FIELDS, counts, strict=True):
                    s[name] += value
                sums = threads.setdefault((doc.session_id, doc.thread_id or ""), [0] * 5)
                sums[0] += 1
                for n, value in enumerate(counts, 1):
                    sums[n] += value
            elif doc.type == "session.usage" and data is not None:
                raw = data.get("usage")
                usage = raw if isinstance(raw, dict) else {}
                amount, currency = money_amount(usage.get("list_cost"))
                if amount is not None:
                    s["cost"] = (str(amount), float(amount), currency, doc.position)
            elif doc.type == "session.deleted":
                s["deleted"] = doc.processed_at or utcnow()
        existing = self._existing_sessions(conn, list(sessions))
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for session_id, s in sessions.items():
            tokens = sum(s[name] for name in TOKEN_FIELDS)
            cost = s["cost"] or (None, None, None, None)
            values = {"s": session_id, "ev": s["events"], "mr": s["model_requests"], "tok": tokens,
                      **{f"t{n}": s[name] for n, name in enumerate(TOKEN_FIELDS)},
                      "lc": cost[0], "lv": cost[1], "cur": cost[2], "lp": cost[3],
                      "first": s["first"], "last": s["last"], "del": s["deleted"]}
            (updates if session_id in existing else inserts).append(values)
        if updates:  # one statement, many parameter sets: compiled once per batch
            conn.execute(_UPDATE_SESSION, updates)
        if inserts:
            conn.execute(_INSERT_SESSION, inserts)
        known = self._existing_threads(conn, list(sessions)) if threads else set()
        rows = [{"s": session_id, "t": thread_id, "mr": sums[0], "a": sums[1], "b": sums[2], "c": sums[3],
                 "d": sums[4]} for (session_id, thread_id), sums in threads.items()]
        thread_updates = [r for r in rows if (r["s"], r["t"]) in known]
        thread_inserts = [r for r in rows if (r["s"], r["t"]) not in known]
        if thread_updates:
            conn.execute(_UPDATE_THREAD, thread_updates)
        if thread_inserts:
            conn.execute(_INSERT_THREAD, thread_inserts)

    def _existing_threads(self, conn: Connection, session_ids: list[str]) -> set[tuple[str, str]]:
        found: set[tuple[str, str]] = set()
        for start in range(0, len(session_ids), KEY_CHUNK):
            chunk = session_ids[start:start + KEY_CHUNK]
            names = ", ".join(f":s{i}" for i in range(len(chunk)))
            result = conn.execute(text(f"SELECT session_id, thread_id FROM ui_threads WHERE session_id IN ({names})"),
                                  {f"s{i}": s for i, s in enumerate(chunk)})
            found.update((r[0], r[1]) for r in result)
        return found

    def _existing_sessions(self, conn: Connection, session_ids: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(session_ids), KEY_CHUNK):
            chunk = session_ids[start:start + KEY_CHUNK]
            names = ", ".join(f":s{i}" for i in range(len(chunk)))
            result = conn.execute(text(f"SELECT session_id FROM ui_sessions WHERE session_id IN ({names})"),
                                  {f"s{i}": s for i, s in enumerate(chunk)})
            found.update(r[0] for r in result)
        return found

    def _set_position(self, conn: Connection, position: int, chain_hash: str) -> None:
        values = {"p": position, "h": chain_hash, "u": db_time(utcnow(), self.dialect)}
        updated = conn.execute(text("UPDATE ui_index_state SET position = :p, chain_hash = :h, updated_at = :u "
                                    "WHERE id = 1"), values)
        if not updated.rowcount:
            conn.execute(text("INSERT INTO ui_index_state (id, position, chain_hash, updated_at) "
                              "VALUES (1, :p, :h, :u)"), values)

    # ----------------------------------------------------------------------------------- search

    def search(self, query: str, *, limit: int = 50, offset: int = 0) -> SearchPage:
        """Sessions whose messages or tool calls hold every word of ``query``, the best-ranked first, each with
        a snippet of its best hit."""
        ranking = self.ranked(query)
        page = ranking.sessions[offset:offset + limit]
        found = self.snippets(query, [doc for _, _, doc in page])
        hits = [SearchHit(sid, *found[doc], n) for sid, n, doc in page if doc in found]
        return SearchPage(query, len(ranking.sessions), hits, ranking.capped)

    def ranked(self, query: str, cap: int = MATCH_CAP) -> Ranking:
        """(session id, matching events, best matching doc) of the sessions matching ``query``.

        Up to ``cap`` matching events: every match is ranked (bm25 on SQLite, ts_rank on PostgreSQL) and grouped
        by session, best session first. Beyond that (a word in most of the archive) ranking every match costs
        more than a page may take, so the ``cap`` most recently recorded matches are grouped instead, the
        sessions with the latest matches first, and the ranking says it is ``capped`` (its sessions all match;
        older matching sessions are left out)."""
        match = self._match(query)
        if not match:
            return Ranking([], False)
        pg = self.dialect == "postgresql"
        with self.store.read() as conn:
            count_sql = ("SELECT count(*) FROM ui_docs WHERE tsv @@ to_tsquery('simple', :q)" if pg
                         else "SELECT count(*) FROM ui_fts WHERE ui_fts MATCH :q")
            matches = conn.execute(text(count_sql), {"q": match}).scalar_one()
            capped = matches > cap
            if pg and not capped:
                sql = ("WITH m AS (SELECT d.session_id, d.doc_id, ts_rank(d.tsv, to_tsquery('simple', :q)) AS r "
                       "FROM ui_docs d WHERE d.tsv @@ to_tsquery('simple', :q)), "
                       "b AS (SELECT DISTINCT ON (session_id) session_id, doc_id, r FROM m "
                       "ORDER BY session_id, r DESC, doc_id), n AS (SELECT session_id, count(*) AS n FROM m "
                       "GROUP BY session_id) SELECT b.session_id, n.n, b.doc_id FROM b JOIN n "
                       "ON n.session_id = b.session_id JOIN sessions ss ON ss.session_id = b.session_id "
                       "ORDER BY b.r DESC, b.session_id")
            elif pg:
                sql = ("SELECT g.session_id, g.n, g.doc FROM (SELECT d.session_id, count(*) AS n, "
                       "max(d.doc_id) AS doc FROM (SELECT doc_id FROM ui_docs WHERE tsv @@ to_tsquery('simple', :q) "
                       "ORDER BY doc_id DESC LIMIT :cap) m JOIN ui_docs d ON d.doc_id = m.doc_id "
                       "GROUP BY d.session_id) g JOIN sessions ss ON ss.session_id = g.session_id "
                       "ORDER BY g.doc DESC")
            elif not capped:
                # SQLite: with min(), the bare column doc_id comes from the row holding the minimum rank
                sql = ("SELECT d.session_id, count(*) AS n, m.doc_id, min(m.rank) AS best FROM "
                       "(SELECT rowid AS doc_id, rank FROM ui_fts WHERE ui_fts MATCH :q) m "
                       "JOIN ui_docs d ON d.doc_id = m.doc_id JOIN sessions ss ON ss.session_id = d.session_id "
                       "GROUP BY d.session_id ORDER BY best, d.session_id")
            else:
                sql = ("SELECT g.session_id, g.n, g.doc FROM (SELECT d.session_id, count(*) AS n, "
                       "max(d.doc_id) AS doc FROM (SELECT rowid AS doc_id FROM ui_fts WHERE ui_fts MATCH :q "
                       "ORDER BY rowid DESC LIMIT :cap) m JOIN ui_docs d ON d.doc_id = m.doc_id "
                       "GROUP BY d.session_id) g JOIN sessions ss ON ss.session_id = g.session_id "
                       "ORDER BY g.doc DESC")
            rows = conn.execute(text(sql), {"q": match, "cap": cap})
            return Ranking([(r[0], int(r[1]), int(r[2])) for r in rows], capped)

    def snippets(self, query: str, doc_ids: list[int]) -> dict[int, tuple[str, str, str]]:
        """Per doc: (event id, type, snippet); the matched words are between \\x02 and \\x03. Cut here from the
        docs' text (read by primary key), not by the database's snippet functions, which re-run the query."""
        words = query_words(query)
        out: dict[int, tuple[str, str, str]] = {}
        if not words or not doc_ids:
            return out
        with self.store.read() as conn:
            for start in range(0, len(doc_ids), KEY_CHUNK):
                chunk = doc_ids[start:start + KEY_CHUNK]
                names = ", ".join(f":d{i}" for i in range(len(chunk)))
                rows = conn.execute(text(f"SELECT doc_id, event_id, type, body FROM ui_docs WHERE doc_id IN ({names})"),
                                    {f"d{i}": d for i, d in enumerate(chunk)})
                for doc_id, event_id, event_type, body in rows:
                    out[int(doc_id)] = (event_id, event_type, snippet(body or "", words))
        return out

    def _match(self, query: str) -> str:
        if self.dialect != "postgresql":
            return fts_query(query)
        words = [w.lower() for w in _STRIP_QUERY.sub(" ", query).split()]
        return " & ".join(f"{w}:*" if n == len(words) - 1 else w for n, w in enumerate(words))


def _typed(statement: TextClause) -> TextClause:
    """The totals' parameters with their types (PostgreSQL cannot infer ``:p IS NULL``; SQLite stores datetimes
    as SQLAlchemy's text)."""
    return statement.bindparams(
        bindparam("lp", type_=BigInteger()), bindparam("lc", type_=Text()), bindparam("lv", type_=Float()),
        bindparam("cur", type_=String()), bindparam("first", type_=DateTime()), bindparam("last", type_=DateTime()),
        bindparam("del", type_=DateTime()))


_UPDATE_SESSION = _typed(text(
    "UPDATE ui_sessions SET events = events + :ev, model_requests = model_requests + :mr, "
    "input_tokens = input_tokens + :t0, output_tokens = output_tokens + :t1, "
    "cache_read_input_tokens = cache_read_input_tokens + :t2, "
    "cache_creation_input_tokens = cache_creation_input_tokens + :t3, tokens = tokens + :tok, "
    "list_cost = CASE WHEN :lp IS NULL THEN list_cost ELSE :lc END, "
    "list_cost_value = CASE WHEN :lp IS NULL THEN list_cost_value ELSE :lv END, "
    "currency = CASE WHEN :lp IS NULL THEN currency ELSE :cur END, "
    "list_cost_position = coalesce(:lp, list_cost_position), "
    "first_event_at = CASE WHEN first_event_at IS NULL OR :first < first_event_at THEN "
    "coalesce(:first, first_event_at) ELSE first_event_at END, "
    "last_event_at = CASE WHEN last_event_at IS NULL OR :last > last_event_at THEN "
    "coalesce(:last, last_event_at) ELSE last_event_at END, "
    "deleted_at = coalesce(deleted_at, :del) WHERE session_id = :s"))
_INSERT_SESSION = _typed(text(
    "INSERT INTO ui_sessions (session_id, events, model_requests, input_tokens, output_tokens, "
    "cache_read_input_tokens, cache_creation_input_tokens, tokens, list_cost, list_cost_value, "
    "currency, list_cost_position, first_event_at, last_event_at, deleted_at) VALUES (:s, :ev, :mr, "
    ":t0, :t1, :t2, :t3, :tok, :lc, :lv, :cur, :lp, :first, :last, :del)"))
_UPDATE_THREAD = text(
    "UPDATE ui_threads SET model_requests = model_requests + :mr, input_tokens = input_tokens + :a, "
    "output_tokens = output_tokens + :b, cache_read_input_tokens = cache_read_input_tokens + :c, "
    "cache_creation_input_tokens = cache_creation_input_tokens + :d "
    "WHERE session_id = :s AND thread_id = :t")
_INSERT_THREAD = text(
    "INSERT INTO ui_threads (session_id, thread_id, model_requests, input_tokens, output_tokens, "
    "cache_read_input_tokens, cache_creation_input_tokens) VALUES (:s, :t, :mr, :a, :b, :c, :d)")


def _wanted(event_type: str) -> bool:
    return (event_type in MESSAGE_TYPES or event_type in TOOL_USE_TYPES or event_type in TOOL_RESULT_TYPES
            or event_type in (vocabulary.REQUEST_END, vocabulary.USAGE, "session.error"))


def index_types() -> Iterable[str]:
    """Event types whose text is searchable (for the README and tests)."""
    return sorted(MESSAGE_TYPES | TOOL_USE_TYPES | TOOL_RESULT_TYPES | {"session.error"})
