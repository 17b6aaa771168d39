"""`recorder verify --against-api`: the log compared with what the API lists now.

For every session in scope, every stream the API has (the session stream and each thread of ``threads.list``) is
listed in full through the SDK (raw pages, the recorder's own API layer: deadlines, retries) and compared with the
recorded stream by event key (the id; for empty-id events the same surrogate the log uses):

- an event the API lists that the log lacks is a problem (``missing``);
- an event the log holds that the API does not list is a problem (``extra``);
- the events both hold must be in the same order.

Queued events (``processed_at`` null) are ignored, as the recorder ignores them. A session the API no longer has
(deleted on the platform, which is what an archive is for) is a note, not a problem; so is a live session's tail
recorded after the comparison began.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from recorder.compliance.report import Problem
from recorder.errors import ApiError
from recorder.events import raw_event
from recorder.ingest.api import Api
from recorder.store import EventStore

MAX_LISTED = 5  # ids named per problem line


@dataclass
class ApiComparison:
    sessions: int = 0
    streams: int = 0
    events: int = 0
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _ids(keys: Sequence[str]) -> str:
    shown = ", ".join(keys[:MAX_LISTED])
    return shown + (f" and {len(keys) - MAX_LISTED} more" if len(keys) > MAX_LISTED else "")


async def _api_keys(api: Api, session_id: str, thread_id: str | None) -> list[str]:
    keys: list[str] = []
    page: str | None = None
    while True:
        listed = await api.list_events(session_id, thread_id, limit=1000, page=page)
        texts: list[str | None] = list(listed.texts) if listed.texts else [None] * len(listed.data)
        for obj, text in zip(listed.data, texts, strict=True):
            if isinstance(obj, dict) and obj.get("processed_at") is not None:
                keys.append(raw_event(obj, session_id, thread_id, text).event_key)
        if not listed.next_page:
            return keys
        page = listed.next_page


def _log_keys(store: EventStore, session_id: str, thread_id: str | None) -> list[str]:
    return [event.event_key for event in store.stream_events(session_id, thread_id)]


def compare_stream(
    session_id: str, thread_id: str | None, api_keys: Sequence[str], log_keys: Sequence[str]
) -> list[Problem]:
    """Problems between one stream as the API lists it and as the log holds it."""
    where = "session stream" if thread_id is None else f"thread {thread_id}"
    problems: list[Problem] = []
    api_set, log_set = set(api_keys), set(log_keys)
    missing = [key for key in api_keys if key not in log_set]
    extra = [key for key in log_keys if key not in api_set]
    if missing:
        problems.append(Problem("api", f"{where}: the API lists {len(missing):,} event(s) the log lacks: "
                                f"{_ids(missing)}", session_id, thread_id))
    if extra:
        problems.append(Problem("api", f"{where}: the log holds {len(extra):,} event(s) the API does not list: "
                                f"{_ids(extra)}", session_id, thread_id))
    common_api = [key for key in api_keys if key in log_set]
    common_log = [key for key in log_keys if key in api_set]
    for index, (a, b) in enumerate(zip(common_api, common_log, strict=True)):
        if a != b:
            problems.append(Problem("api", f"{where}: order differs from the API's at the {index + 1}th shared "
                                    f"event (API {a}, log {b})", session_id, thread_id))
            break
    return problems


async def compare(store: EventStore, api: Api, session_ids: Sequence[str]) -> ApiComparison:
    result = ApiComparison()
    for session_id in session_ids:
        try:
            threads = await api.list_threads(session_id)
        except ApiError as err:
            if err.status == 404:
                result.notes.append(f"session {session_id} is not on the API any more (deleted?); the log keeps it")
                continue
            raise
        result.sessions += 1
        thread_ids = [t["id"] for t in threads if isinstance(t.get("id"), str)]
        for thread_id in [None, *thread_ids]:
            api_keys = await _api_keys(api, session_id, thread_id)
            log_keys = await asyncio.to_thread(_log_keys, store, session_id, thread_id)
            result.streams += 1
            result.events += len(api_keys)
            result.problems.extend(compare_stream(session_id, thread_id, api_keys, log_keys))
        recorded = set(await asyncio.to_thread(store.thread_ids, session_id)) - set(thread_ids)
        if recorded:
            result.problems.append(Problem("api", f"the log holds thread(s) the API does not list: "
                                           f"{_ids(sorted(recorded))}", session_id))
    return result
