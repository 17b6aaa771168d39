"""An offline emulator of the Claude Managed Agents session API, served over loopback HTTP.

Tests, the demo and the benchmarks drive the real ``anthropic`` SDK against it exactly as against Anthropic::

    import anthropic
    from recorder.emulator import Emulator

    emu = Emulator(seed=7)                                  # same seed, same sessions, byte for byte
    sid = emu.add_session("tool_use")                       # a scenario by name; returns the session id
    sids = emu.add_standard_sessions()                      # one of every scenario (``live`` if include_live=True)
    big = emu.add_session("long", events=1_000_000)         # generated lazily, memory stays flat
    live = emu.add_session("live", interval=0.02)           # plays in real time once served
    with emu.serve() as server:                             # background thread on 127.0.0.1, a free port
        client = anthropic.Anthropic(api_key="test-key", base_url=server.base_url)
        client.beta.sessions.events.list(sid)               # ... every endpoint the recorder uses
        emu.ground_truth(sid)                               # the session stream as list delivers it (dicts)
        emu.ground_truth(sid, thread_id)                    # one thread's stream
        emu.thread_ids(sid); emu.session_ids(); emu.files(sid)
        emu.set_faults(sid, "drop_after=5,rate_limit=2")    # or a Faults object; None / "" clears
        emu.wait_until_finished(live, timeout=10)
        server.requests                                     # what the server answered (method, path, status, faults)

Public API
----------
``Emulator(seed=0, *, api_key=None, heartbeat=5.0, faults=None, webhook_url=None, webhook_secret=None,
webhook_faults=None, file_lag=(1.0, 3.0), turn_interval=0.02)``
    ``api_key`` None accepts any non-empty key (``x-api-key`` or ``Authorization: Bearer``); ``heartbeat`` is
    the seconds between ``event: ping`` frames; ``faults`` are global faults; ``webhook_*`` see Webhooks below;
    ``file_lag`` seconds (or a range) before a real-time session's new files are listed; ``turn_interval`` the
    step interval of later turns.
``add_session(scenario, *, events=None, live=None, interval=0.05, autostart=True, faults=None, **options) -> str``
    ``live=True`` plays any script scenario in real time (``live`` is live by default); ``events`` sets the
    length of ``long`` / ``live``; ``autostart=False`` waits for ``start(session_id)``; ``options`` are scenario
    options (``pending=True`` for ``custom_tool`` / ``confirmation``, ``mb`` for ``large_results``).
``create_session(scenario="tool_use", **kwargs) -> str``: a session created at runtime (live by default; starts
    at once when served).
``add_standard_sessions(*, include_live=False, long_events=2000) -> list[str]``
``start(session_id)``, ``wait_until_finished(session_id, timeout=30.0)`` = ``wait_until_idle`` (TimeoutError),
``is_finished(...)``, ``status(sid)``, ``is_deleted(sid)``
``send_message(sid, text, *, wait=False, tools=1, files=0) -> event id``: an idle session runs one more turn
    (``files`` new output files) and goes idle again; ``send_events(sid, events)`` is the same for any user events.
``archive(sid)``, ``delete(sid)``: as ``client.beta.sessions.archive`` / ``.delete`` (see The life cycle).
``set_faults(session_id | None, spec | Faults | None)``, ``faults(session_id=None) -> Faults``
``serve(host="127.0.0.1", port=0) -> ApiServer`` (started; ``.base_url``, ``.port``, ``.requests``, ``.stop()``);
    ``server(host, port)`` the same, not yet started. ``server.requests`` is the request log: ``RequestRecord``
    (method, path, query, status, session_id, faults, ``at`` = wall-clock time), newest last.
``session_ids()``, ``scenario(sid)``, ``thread_ids(sid)``, ``primary_thread_id(sid)``, ``event_count(sid, tid)``
``ground_truth(sid, thread_id=None) -> list[dict]``, ``ground_truth_json(sid, thread_id=None) -> Iterator[str]``
``files(scope_id=None) -> list[dict]`` (listed now), ``file(file_id)``, ``file_content(file_id) -> bytes``
``configure_webhooks(url, secret=None, faults=None)``, ``webhook_secret``, ``send_webhook(type, sid, url=None)``,
``webhook_log() -> list[Attempt]``, ``webhooks.wait_idle(timeout)``, ``webhooks.set_faults(spec)``
``close()`` stops live playback and webhook delivery. The Emulator is itself a :class:`Source` and a
:class:`~recorder.apiserver.SessionControl`.

The life cycle
--------------
A session is ``idle`` when created. It runs (``session.status_running``; ``rescheduling`` after some errors) and
goes ``idle`` again with a ``stop_reason``: ``end_turn`` (its work is done), ``requires_action`` (``event_ids``:
it waits for the client's ``user.custom_tool_result`` or ``user.tool_confirmation``), ``retries_exhausted`` or
``budget_reached`` (it waits for a new message). A ``session.usage`` event (cumulative usage; ``list_cost`` an
integer string of cents) comes just before every ``session.status_idle``. Every scenario ends idle, ``end_turn``
(``custom_tool`` / ``confirmation`` with ``pending=True`` end on ``requires_action``); only ``errors`` and
``error_catalog`` end ``terminated``, by an unrecoverable error. An idle session takes new user events
(``events.send`` / ``send_message``) and runs again.

* Streams stay open while a session is idle (heartbeats only): it may run again. They end cleanly once it can emit
  nothing more: terminated, archived, or deleted.
* **Archive** (``POST /v1/sessions/{id}/archive``): ``archived_at`` is set, the history stays readable, new
  events are refused (400), open streams end, and ``sessions.list`` leaves it out unless ``include_archived=true``.
* **Delete** (``DELETE /v1/sessions/{id}``, answering ``{"id", "type": "session_deleted"}``): open streams
  receive a ``session.deleted`` event and end; then every request about the session, its threads, events and
  files answers 404.
* ``sessions.list`` is newest first by default (``order=asc`` reverses it), in cursor pages (``page`` /
  ``next_page``), filtered by ``statuses[]``, ``created_at[...]``, ``agent_id`` and ``include_archived``.
* **Files** a session writes while playing in real time are listed (``files.list(scope_id=...)``) ``file_lag``
  seconds after the ``session.status_idle`` that follows them; a session finished at creation has its files listed
  at once.

The event and thread model
--------------------------
A session has a primary thread (``parent_thread_id`` null) and, in multi-agent scenarios, child threads
(``threads.list`` returns all of them, primary first). There is one level of delegation: only the primary thread
spawns subagents. A subagent that finishes goes idle (``session.thread_status_idle``, ``end_turn``).

* The **session stream** (``events.list`` / ``events.stream``) carries every event of the primary agent and of
  the session itself (user events, agent events, model request spans, ``session.status_*``, ``session.usage``,
  ``session.error`` ...) plus what is **cross-posted** from child threads: ``session.thread_created``,
  ``session.thread_status_*``, ``agent.thread_message_sent`` and ``agent.thread_message_received``.
* The **primary thread's stream** is the session stream without the cross-posted child events.
* A **child thread's stream** is its full history: its ``session.thread_created`` and status events, the
  messages it received and sent, its own model request spans (with ``model_usage``), thinking, tool calls and
  messages. Those non-cross-posted events appear nowhere else: usage reports must read every thread.
* A child's **blocking** events (``agent.custom_tool_use``, an ``agent.tool_use`` needing confirmation) and the
  client's answers to them are cross-posted to the session stream too, but the session stream's copy has
  ``session_thread_id`` set and the thread's own copy has none: the same id with different bytes on two streams.
* Any other event that appears in two streams is the same event: same id, same JSON bytes. A message between
  threads is two events (``..._sent`` in the sender's thread, ``..._received`` in the receiver's), two ids.
* ``user.interrupt`` events carry ``"id": ""``; the ``interrupts`` scenario has two distinct ones.
* ``processed_at`` is RFC 3339 with microseconds and ``Z``, non-decreasing in list order, with exact ties.
* Queued user events: in live playback, a user event may first appear with ``processed_at: null`` (delivered on
  the stream, listed after every processed event) and later appear again processed, with the same id, at its
  place in time. Finished sessions hold no queued events. A list cursor never moves past a queued event.

Sessions snapshots (status, usage with ``list_cost``, stats, ``updated_at``) follow the events; every session
has a ``github_repository`` resource whose ``authorization_token`` is a fake secret to scrub. Scenarios, faults
and their spec syntax: :mod:`recorder.emulator.scenarios`, :mod:`recorder.emulator.faults`, or
``recorder emulator --help``.

Time
----
Finished sessions have synthetic, seed-determined times (from 2026-03-02, three hours apart). A live session
emits one step every ``interval`` seconds once started, stamping the wall clock; events that share a step share
their ``processed_at``. Later turns are played the same way, after the session's last event.

Webhooks
--------
With a URL (``webhook_url``, ``configure_webhooks`` or per call), the emulator POSTs thin, signed webhooks
(:mod:`recorder.emulator.webhooks`): ``{"type": "event", "id", "created_at", "data": {"type", "id": <session
id>, "organization_id", "workspace_id"[, "session_thread_id"]}}``, signed per Standard Webhooks (``webhook-id``,
``webhook-timestamp``, ``webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` under
``whsec_...``), verifiable with ``client.beta.webhooks.unwrap(body, headers=..., key=emu.webhook_secret)``.
Sent: ``session.created`` (every new session), for what happens in real time ``session.status_run_started``,
``session.status_idled``, ``session.status_rescheduled``, ``session.status_terminated``,
``session.thread_created``, ``session.thread_idled``, ``session.thread_terminated``, ``session.updated``; and
``session.archived``, ``session.deleted``. A session finished at creation sends ``session.created`` and its
final status only. At least once (retried until 2xx, five attempts), in one background thread; faults
``drop=K,duplicate=K,delay=S,reorder=K`` lose, double, hold or reorder deliveries.

Serving something else
----------------------
The HTTP layer lives in :mod:`recorder.apiserver` (``ApiServer``, the ``Source`` protocol, the wire format); the
emulator is one source behind it (plus a ``Planner``, its fault book, and a ``SessionControl`` for the API's
writes). ``recorder serve`` puts the event log behind the same server without loading any of this package.
"""

from recorder.apiserver import ApiServer, EventQuery, EventRecord, RequestRecord, Source, Subscription
from recorder.emulator.emulator import Emulator
from recorder.emulator.faults import FaultBook, Faults
from recorder.emulator.scenarios import SCENARIOS

__all__ = [
    "SCENARIOS",
    "ApiServer",
    "Emulator",
    "EventQuery",
    "EventRecord",
    "FaultBook",
    "Faults",
    "RequestRecord",
    "Source",
    "Subscription",
]
