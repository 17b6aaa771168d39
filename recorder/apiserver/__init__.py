"""The Managed Agents API's HTTP shape, served from any source of sessions.

Layers, each depending only on those below it:

* :mod:`.wire` - JSON text, timestamps, cursors, error bodies;
* :mod:`.source` - the :class:`Source` protocol (what the server reads) and :class:`SessionControl` (the API's
  writes, for sources that can change);
* :mod:`.shaping` - a response :class:`Plan` and the :class:`Planner` that decides it (only the emulator has one);
* :mod:`.responder`, :mod:`.sse`, :mod:`.endpoints` - the routes, written against a small responder interface;
* :mod:`.server` - :class:`ApiServer`, the HTTP plumbing (routing, authentication, connection cap, request log);
* :mod:`.runner` - serve until Ctrl-C.

``recorder serve`` puts the event log behind it (:mod:`recorder.serve`); the emulator puts generated scenarios
and faults behind it (:mod:`recorder.emulator`).
"""

from recorder.apiserver.runner import serve_until_interrupted
from recorder.apiserver.server import DEFAULT_MAX_CONNECTIONS, ApiServer, RequestRecord
from recorder.apiserver.shaping import NO_PLAN, Plan, Planner
from recorder.apiserver.source import EventQuery, EventRecord, SessionControl, Source, Subscription

__all__ = [
    "DEFAULT_MAX_CONNECTIONS",
    "NO_PLAN",
    "ApiServer",
    "EventQuery",
    "EventRecord",
    "Plan",
    "Planner",
    "RequestRecord",
    "SessionControl",
    "Source",
    "Subscription",
    "serve_until_interrupted",
]
