"""A small recorded archive for the UI tests, written straight into a log (no HTTP): emulator scenarios (a
multi-agent session, tools with files, unicode with bidi controls, budget with list costs) plus hand-written
sessions with a word no other holds and a hostile title; and the UI served by uvicorn on a free port."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from recorder.emulator import Emulator
from recorder.events import raw_event
from recorder.store import EventStore, FileArchive
from tests.helpers import message, raws, span_end

UNIQUE = "quetzalcoatl"
HOSTILE_TITLE = "<script>alert(1)</script> \u202eevil\u202c & \"quotes\""
SCENARIOS = ("multi_agent", "tool_use", "unicode", "budget", "mcp")


@dataclass
class Archive:
    url: str
    sessions: dict[str, str]  # name -> session id
    file_id: str
    file_bytes: bytes


def build_archive(url: str) -> Archive:
    emu = Emulator(seed=5)
    names: dict[str, str] = {}
    with EventStore(url) as store:
        for scenario in SCENARIOS:
            sid = emu.add_session(scenario)
            names[scenario] = sid
            for thread_id in [None, *emu.thread_ids(sid)]:
                batch = [raw_event(json.loads(text), sid, thread_id) for text in emu.ground_truth_json(sid, thread_id)]
                store.append(batch)
            store.record_snapshot(sid, emu.session(sid))
            for thread in emu.threads(sid):
                store.record_snapshot(sid, thread, thread_id=thread["id"])
        # a session holding a word no other holds, and one with a hostile title
        store.append(raws([message(0, f"please look at the {UNIQUE} module"), message(1, "done"),
                           span_end(2, "sevt_x", tokens=100)], session="sesn_unique"))
        store.record_snapshot("sesn_unique", {"id": "sesn_unique", "status": "idle", "title": "Unique word",
                                              "agent": {"name": "solo-agent", "model": {"id": "claude-haiku-4-5"}}})
        names["unique"] = "sesn_unique"
        store.append(raws([message(0, "hello \u202eolleh\u202c <b>bold</b>")], session="sesn_hostile"))
        store.record_snapshot("sesn_hostile", {"id": "sesn_hostile", "status": "idle", "title": HOSTILE_TITLE,
                                               "archived_at": "2026-03-05T00:00:00Z",
                                               "agent": {"name": "solo-agent", "model": {"id": "claude-haiku-4-5"}}})
        names["hostile"] = "sesn_hostile"
        content = b"# findings\n\nredis is fine\n"
        FileArchive(store).archive(names["tool_use"], {"id": "file_ui_1", "filename": "../findings.md",
                                                                 "mime_type": "text/html"}, content)
    return Archive(url, names, "file_ui_1", content)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serving(settings: Any) -> Iterator[str]:
    """The UI app under uvicorn in a thread; yields its base URL."""
    import uvicorn

    from recorder.ui.app import create_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the UI server did not start")
        time.sleep(0.05)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def request(url: str, method: str = "GET", headers: dict[str, str] | None = None, data: bytes | None = None
            ) -> Answer:
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=data)
    try:
        with _OPENER.open(req, timeout=30) as response:
            return Answer(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
    except urllib.error.HTTPError as err:
        return Answer(err.code, {k.lower(): v for k, v in err.headers.items()}, err.read())
