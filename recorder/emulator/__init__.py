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
``Emulator(seed=0, *, api_key=None, heartbeat=5.0, faults=None)``
    ``api_key`` None accepts any non-empty key (``x-api-key`` or ``Authorization: Bearer``); ``heartbeat`` is
    the seconds between ``event: ping`` frames; ``faults`` are global faults.
``add_session(scenario, *, events=None, live=None, interval=0.05, autostart=True, faults=None, **options) -> str``
    ``live=True`` plays any script scenario in real time (``live`` is live by default); ``events`` sets the
    length of ``long`` / ``live``; ``autostart=False`` waits for ``start(session_id)``.
``add_standard_sessions(*, include_live=False, long_events=2000) -> list[str]``
``start(session_id)``, ``wait_until_finished(session_id, timeout=30.0)`` (TimeoutError), ``is_finished(...)``
``set_faults(session_id | None, spec | Faults | None)``, ``faults(session_id=None) -> Faults``
``serve(host="127.0.0.1", port=0) -> ApiServer`` (started; ``.base_url``, ``.port``, ``.requests``, ``.stop()``);
    ``server(host, port)`` the same, not yet started
``session_ids()``, ``scenario(sid)``, ``thread_ids(sid)``, ``primary_thread_id(sid)``, ``event_count(sid, tid)``
``ground_truth(sid, thread_id=None) -> list[dict]``, ``ground_truth_json(sid, thread_id=None) -> Iterator[str]``
``files(scope_id=None) -> list[dict]``, ``file(file_id)``, ``file_content(file_id) -> bytes``
``close()`` stops live playback. The Emulator is itself a :class:`Source` (below).

The event and thread model
--------------------------
A session has a primary thread (``parent_thread_id`` null) and, in multi-agent scenarios, child threads
(``threads.list`` returns all of them, primary first; a child may itself have children).

* The **session stream** (``events.list`` / ``events.stream``) carries every event of the primary agent and of
  the session itself (user events, agent events, model request spans, ``session.status_*``, ``session.usage``,
  ``session.error`` ...) plus what is **cross-posted** from child threads: ``session.thread_created``,
  ``session.thread_status_*``, ``agent.thread_message_sent`` and ``agent.thread_message_received``.
* The **primary thread's stream** is the session stream without the cross-posted child events.
* A **child thread's stream** is its full history: its ``session.thread_created`` and status events, the
  messages it received and sent, its own model request spans (with ``model_usage``), thinking, tool calls and
  messages. Those non-cross-posted events appear nowhere else: usage reports must read every thread.
* An event that appears in two streams is the same event: same id, same JSON bytes. A message between threads is
  two events (``..._sent`` in the sender's thread, ``..._received`` in the receiver's), with two ids.
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
their ``processed_at``. It ends with ``session.status_terminated``, after which its streams end cleanly. A
stream opened on a terminated session ends at once; one opened on an idle (never terminating) session sends
only heartbeats.

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
