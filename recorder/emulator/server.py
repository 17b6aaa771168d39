"""The Managed Agents API over loopback HTTP, reading from any :class:`recorder.emulator.source.Source`.

Routes (GET; anything else is a 405):

    /v1/sessions                                         list (statuses[], created_at[gt|gte|lt|lte], order, limit,
                                                         page)
    /v1/sessions/{session_id}                            retrieve
    /v1/sessions/{session_id}/events                     list (limit, page, order, created_at[...], types[])
    /v1/sessions/{session_id}/events/stream              SSE
    /v1/sessions/{session_id}/threads                    list (statuses[], limit, page)
    /v1/sessions/{session_id}/threads/{thread_id}        retrieve
    /v1/sessions/{session_id}/threads/{thread_id}/events list (limit, page; the filters above work too)
    /v1/sessions/{session_id}/threads/{thread_id}/stream SSE
    /v1/files                                            list (scope_id, ids[], limit, page)
    /v1/files/{file_id}                                  metadata
    /v1/files/{file_id}/content                          download

Every request needs an API key (``x-api-key``, or ``Authorization: Bearer`` as the SDK sends it); errors use the
API's shape ``{"type": "error", "error": {"type": ..., "message": ...}, "request_id": ...}``. List bodies carry
a ``Content-Length``; streams are chunked ``text/event-stream`` with ``event: <type>`` / ``data: <json>`` frames
and ``event: ping`` heartbeats, deliver only events emitted after the request arrived, and end cleanly once the
stream's session (or thread) has terminated. ``event_deltas`` is accepted and ignored (no previews are sent).

Page cursors are opaque; an event cursor holds the stream and the position of the last event delivered, so
pages stay consistent while a live stream grows (the SDK re-sends the filters with each page). Faults (see
:mod:`recorder.emulator.faults`) are decided per response from the :class:`FaultBook` before the endpoint runs.

This module is the plumbing (lifecycle, routing, authentication, fault statuses, writing bytes and cutting
connections); the endpoints themselves are in :mod:`recorder.emulator.endpoints`.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import socket
import threading
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from recorder.emulator.endpoints import Endpoints, HttpError
from recorder.emulator.faults import FaultBook, Plan, RequestKind
from recorder.emulator.source import Source
from recorder.emulator.wire import dumps, error_body
from recorder.errors import NotFound


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server answered it (``server.requests``), for tests to assert on."""

    method: str
    path: str
    query: str
    status: int
    session_id: str | None
    faults: tuple[str, ...]


_ID = r"([^/]+)"
_ROUTES: list[tuple[re.Pattern[str], str]] = [(re.compile(p), name) for p, name in (
    (r"/v1/sessions", "list_sessions"),
    (rf"/v1/sessions/{_ID}", "get_session"),
    (rf"/v1/sessions/{_ID}/events", "list_events"),
    (rf"/v1/sessions/{_ID}/events/stream", "stream_events"),
    (rf"/v1/sessions/{_ID}/threads", "list_threads"),
    (rf"/v1/sessions/{_ID}/threads/{_ID}", "get_thread"),
    (rf"/v1/sessions/{_ID}/threads/{_ID}/events", "list_events"),
    (rf"/v1/sessions/{_ID}/threads/{_ID}/stream", "stream_events"),
    (r"/v1/files", "list_files"),
    (rf"/v1/files/{_ID}", "get_file"),
    (rf"/v1/files/{_ID}/content", "download_file"),
)]
_KINDS: dict[str, RequestKind] = {"list_events": "list", "stream_events": "stream"}


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    api: ApiServer


class ApiServer:
    """A running (or ready) HTTP server over a source. Use as a context manager, or ``start()``/``stop()``."""

    def __init__(self, source: Source, *, faults: FaultBook | None = None, api_key: str | None = None,
                 heartbeat: float = 5.0, host: str = "127.0.0.1", port: int = 0,
                 on_start: Callable[[], None] | None = None, log_size: int = 10_000) -> None:
        self.source = source
        self.faults = faults or FaultBook()
        self.api_key = api_key
        self.heartbeat = heartbeat
        self.requests: deque[RequestRecord] = deque(maxlen=log_size)
        self.stopping = threading.Event()
        self._on_start = on_start
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._httpd = _HTTPServer((host, port), _Handler, bind_and_activate=True)
        self._httpd.api = self
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ApiServer:
        """Serve in a background thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                            name=f"emulator-http-{self.port}", daemon=True)
            self._thread.start()
            if self._on_start is not None:
                self._on_start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until :meth:`stop` is called from another (or KeyboardInterrupt)."""
        if self._on_start is not None:
            self._on_start()
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self._close_connections()

    def stop(self) -> None:
        """Stop accepting, end every open response (streams included) and close the socket."""
        self.stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._close_connections()
        self._httpd.server_close()

    def _close_connections(self) -> None:
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> ApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def requests_for(self, session_id: str) -> list[RequestRecord]:
        return [r for r in list(self.requests) if r.session_id == session_id]

    # internal bookkeeping used by the handler
    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            (self._connections.add if add else self._connections.discard)(conn)

    def _request_id(self) -> str:
        return f"req_emu{next(self._ids):012d}"


class _Handler(Endpoints, BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "managed-agents-emulator"
    sys_version = ""
    timeout = 30
    server: _HTTPServer

    # ------------------------------------------------------------------------------------ plumbing

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle plus the client's delayed ACK add
        # ~40 ms to every response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.api._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.api._track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: requests go to ApiServer.requests
        pass

    @property
    def api(self) -> ApiServer:
        return self.server.api

    def do_GET(self) -> None:
        self.started = False
        self.request_id = self.api._request_id()
        self.plan = Plan()
        self.session_id: str | None = None
        url = urlsplit(self.path)
        self.url_path, self.query_string = url.path.rstrip("/") or "/", url.query
        self.params = parse_qs(url.query, keep_blank_values=True)
        try:
            self._dispatch()
        except HttpError as err:
            self._fail(err.status, err.message)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError):
            self.close_connection = True
        except NotFound as err:
            self._fail(404, str(err))
        except Exception:  # a bug in a source or here: answer like the API would, keep serving
            traceback.print_exc()
            self._fail(500, "Internal server error")

    def _fail(self, status: int, message: str) -> None:
        if self.started:  # too late for a status line: cut the response instead
            self._abort()
        else:
            self._send_error(status, message)

    def _method_not_allowed(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        self.close_connection = True  # (a HEAD client would not read the error body)
        self.started = False
        self.request_id = self.api._request_id()
        self.plan = Plan()
        self.session_id = None
        self.url_path, self.query_string = urlsplit(self.path).path, ""
        self._send_error(405, f"Method {self.command} is not supported by the emulator")

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _method_not_allowed

    def _dispatch(self) -> None:
        for pattern, route in _ROUTES:
            match = pattern.fullmatch(self.url_path)
            if match:
                name = route
                break
        else:
            raise HttpError(404, f"No route for GET {self.url_path}")
        args = [unquote(g) for g in match.groups()]
        self._authenticate()
        if name.endswith("_file"):
            self.session_id = self._file_scope(args[0])
        elif args:
            self.session_id = args[0]
        about_thread = "/threads/" in self.url_path
        self.plan = self.api.faults.plan(self.session_id, _KINDS.get(name, "other"), thread=about_thread)
        if self.plan.slow_first_byte:
            self.api.stopping.wait(self.plan.slow_first_byte)
        if self.plan.status is not None:
            self._send_fault_status(self.plan)
            return
        getattr(self, "_" + name)(*args)

    def _authenticate(self) -> None:
        key = self.headers.get("x-api-key")
        auth = self.headers.get("authorization", "")
        if key is None and auth.lower().startswith("bearer "):
            key = auth[7:].strip()
        if not key:
            raise HttpError(401, "x-api-key header is required")
        if self.api.api_key is not None and key != self.api.api_key:
            raise HttpError(401, "invalid x-api-key")

    def _file_scope(self, file_id: str) -> str | None:
        try:
            scope = self.api.source.file(file_id).get("scope") or {}
        except Exception:
            return None
        return scope.get("id")

    # ------------------------------------------------------------------------------------ responses

    def _log(self, status: int) -> None:
        self.api.requests.append(RequestRecord(self.command, self.url_path, self.query_string, status,
                                               self.session_id, tuple(self.plan.labels())))

    def _start(self, status: int, headers: dict[str, str]) -> None:
        self.started = True
        self._log(status)
        self.send_response(status)
        self.send_header("request-id", self.request_id)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _send_error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        body = error_body(status, message, self.request_id)
        self._start(status, {"content-type": "application/json", "content-length": str(len(body)),
                             **(headers or {})})
        self.wfile.write(body)

    def _send_fault_status(self, plan: Plan) -> None:
        assert plan.status is not None
        messages = {429: "Number of requests has exceeded your rate limit (emulated)",
                    500: "Internal server error (emulated)", 529: "Overloaded (emulated)"}
        headers = {}
        if plan.status in (429, 529) and plan.retry_after is not None:
            headers["retry-after"] = _seconds(plan.retry_after)
        self._send_error(plan.status, messages[plan.status], headers)

    def _send_json(self, obj: Any = None, *, body: bytes | None = None, cut: int | None = None) -> None:
        """A JSON 200 response; ``cut`` is where to drop the connection if the plan says so."""
        if body is None:
            body = dumps(obj).encode()
        self._start(200, {"content-type": "application/json", "content-length": str(len(body))})
        if self.plan.drop_after is not None and cut is not None:
            self._write(body[:cut])
            self._abort()
        else:
            self._write(body)

    def _write(self, data: bytes) -> None:
        trickle = self.plan.trickle
        if not trickle:
            self.wfile.write(data)
            return
        for i in range(len(data)):
            if self.api.stopping.is_set():
                raise ConnectionAbortedError("server stopping")
            self.wfile.write(data[i:i + 1])
            self.api.stopping.wait(trickle)

    def _abort(self) -> None:
        """Cut the TCP connection here (the client sees the body end early)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _chunk(self, data: bytes, partial: int | None = None) -> None:
        """Write one chunk of a chunked body (all of it, or its first ``partial`` bytes before a cut)."""
        if self.plan.trickle and partial is None:
            for i in range(len(data)):
                if self.api.stopping.is_set():
                    raise ConnectionAbortedError("server stopping")
                self.wfile.write(b"1\r\n" + data[i:i + 1] + b"\r\n")
                self.api.stopping.wait(self.plan.trickle)
            return
        frame = f"{len(data):x}\r\n".encode() + data + b"\r\n"
        self.wfile.write(frame if partial is None else frame[:len(frame) - len(data) - 2 + partial])


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
