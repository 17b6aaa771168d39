"""Verification on demand for ``/compliance`` and the session pages: the log (against the newest ``--anchor``
file, if any) or one session, with the last result of each kept in memory. One verification runs at a time."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from recorder.errors import RecorderError
from recorder.events import format_time
from recorder.store import EventStore


class Checks:
    def __init__(self, store: EventStore, anchors: list[str]) -> None:
        self.store = store
        self.anchor_paths = anchors
        self.last: dict[str, Any] | None = None  # of the whole log
        self.sessions: dict[str, dict[str, Any]] = {}  # per session
        self._lock = threading.Lock()

    def anchors(self) -> list[dict[str, Any]]:
        """The anchor files given, each summarized (or with the error reading it)."""
        from recorder.compliance import anchor

        out = []
        for path in self.anchor_paths:
            try:
                out.append({"path": path, **anchor.load(path).summary()})
            except RecorderError as err:
                out.append({"path": path, "error": str(err)})
        return out

    def verify_log(self) -> dict[str, Any]:
        from recorder.compliance import anchor
        from recorder.compliance.verify import verify

        anchors = [a for a in self.anchors() if "error" not in a]
        latest = max(anchors, key=lambda a: a["created_at"])["path"] if anchors else None
        with self._lock:
            report = verify(self.store, anchor=anchor.load(latest) if latest else None)
        self.last = {**_result(report), "anchor": latest}
        return self.last

    def verify_session(self, session_id: str) -> dict[str, Any]:
        from recorder.compliance.verify import verify

        with self._lock:
            report = verify(self.store, [session_id], workers=1)
        self.sessions[session_id] = _result(report)
        return self.sessions[session_id]


def _result(report: Any) -> dict[str, Any]:
    return {"ok": report.ok, "summary": report.summary(), "checked_at": format_time(datetime.now(UTC)),
            "report": report.to_json()}
