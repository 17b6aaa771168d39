"""Server-sent events: one stream's new events as ``event: <type>`` / ``data: <json>`` frames in a chunked
``text/event-stream`` body, with ``event: ping`` heartbeats while nothing happens.

The stream ends cleanly (the terminating zero chunk) when the subscription finishes (its session or thread can
emit nothing more, or was deleted), when the plan's ``end_after`` is reached, or when the server stops. The plan
can also cut it mid-frame (``drop_after``), repeat frames (``duplicate``) or send only heartbeats.
"""

from __future__ import annotations

import threading
import time

from recorder.apiserver.responder import Responder
from recorder.apiserver.source import Subscription

PING = b'event: ping\ndata: {"type":"ping"}\n\n'


def stream_events(out: Responder, subscription: Subscription, *, heartbeat: float,
                  stopping: threading.Event, session_stream: bool = True) -> None:
    """Write ``subscription``'s events to ``out`` until it finishes (see the module docstring)."""
    plan = out.plan
    if plan.heartbeat_only:
        subscription.close()  # nothing will be read from it: do not let it queue events
    try:
        out.close_after()
        out.start(200, {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache",
                        "transfer-encoding": "chunked", "connection": "close"})
        sent = 0
        last_beat = time.monotonic()
        while not stopping.is_set():
            wait = max(0.0, min(0.25, heartbeat - (time.monotonic() - last_beat)))
            record = None if plan.heartbeat_only else subscription.get(wait)
            if plan.heartbeat_only:
                stopping.wait(wait)
            if record is None:
                if subscription.finished and not plan.heartbeat_only:
                    break
                if time.monotonic() - last_beat >= heartbeat:
                    out.chunk(PING)
                    last_beat = time.monotonic()
                continue
            if plan.held_back is not None and session_stream and plan.held_back(record.json):
                continue  # a data fault: this event never comes on the stream (lists show it later)
            text = record.json if plan.rewrite is None else plan.rewrite(record.json)
            frame = f"event: {record.type}\ndata: {text}\n\n".encode()
            if plan.drop_after is not None and sent >= plan.drop_after:
                out.chunk(frame, partial=len(frame) // 2)
                out.abort()
                return
            out.chunk(frame)
            sent += 1
            if plan.duplicate and sent % plan.duplicate == 0:
                out.chunk(frame)
            if plan.end_after is not None and sent >= plan.end_after:
                break
        out.write(b"0\r\n\r\n")
    finally:
        subscription.close()
