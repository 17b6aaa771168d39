"""The Managed Agents API over HTTP, reading from any :class:`recorder.apiserver.source.Source`.

Routes:

    GET    /v1/sessions                                  list (statuses[], created_at[gt|gte|lt|lte], order,
                                                         include_archived, agent_id, limit, page)
    GET    /v1/sessions/{session_id}                     retrieve
    POST   /v1/sessions/{session_id}/archive             archive        (needs a SessionControl)
    DELETE /v1/sessions/{session_id}                     delete         (needs a SessionControl)
    POST   /v1/sessions/{session_id}/events              send events    (needs a SessionControl)
    GET    /v1/sessions/{session_id}/events              list (limit, page, order, created_at[...], types[])
    GET    /v1/sessions/{session_id}/events/stream       SSE
    GET    /v1/sessions/{session_id}/threads             list (statuses[], limit, page)
    GET    /v1/sessions/{session_id}/threads/{thread_id} retrieve
    GET    .../threads/{thread_id}/events                list (limit, page only, as the SDK sends)
    GET    .../threads/{thread_id}/stream                SSE
    GET    /v1/files                                     list (scope_id, ids[], limit, page)
    GET    /v1/files/{file_id}                           metadata
    GET    /v1/files/{file_id}/content                   download

Every request needs an API key (``x-api-key``, or ``Authorization: Bearer`` as the SDK sends it); with
``api_key`` set, exactly that one. Errors use the API's shape ``{"type": "error", "error": {"type": ...,
"message": ...}, "request_id": ...}``. Beyond ``max_connections`` open connections a request is answered 503 at
once. List bodies carry a ``Content-Length``; streams are chunked SSE (:mod:`recorder.apiserver.sse`).

Page cursors are opaque; an event cursor holds the stream and the position of the last event delivered, so
pages stay consistent while a live stream grows (the SDK re-sends the filters with each page). A ``planner``
(:mod:`recorder.apiserver.shaping`) may decide per response to answer with an error status or to shape the
body; without one every response is plain.

This module is the plumbing (lifecycle, routing, authentication, the connection cap, writing bytes and cutting
connections, the request log); the endpoints are in :mod:`recorder.apiserver.endpoints`.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import socket
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from recorder.apiserver.endpoints import Context, Endpoints, HttpError
from recorder.apiserver.shaping import NO_PLAN, Plan, Planner, RequestKind
from recorder.apiserver.source import SessionControl, Source
from recorder.apiserver.wire import dumps, error_body
from recorder.errors import ConfigError, NotFound

DEFAULT_MAX_CONNECTIONS = 64


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server answered it (``server.requests``), for tests to count and assert on.

    ``at`` is the wall-clock time (``time.time()``) at which the status line went out."""

    method: str
    path: str
    query: str
    status: int
    session_id: str | None
    faults: tuple[str, ...]
    at: float = 0.0


_ID = r"([^/]+)"
_ROUTES: list[tuple[str, re.Pattern[str], str]] = [(m, re.compile(p), name) for m, p, name in (
    ("GET", r"/v1/sessions", "list_sessions"),
    ("GET", rf"/v1/sessions/{_ID}", "get_session"),
    ("DELETE", rf"/v1/sessions/{_ID}", "delete_session"),
    ("POST", rf"/v1/sessions/{_ID}/archive", "archive_session"),
    ("GET", rf"/v1/sessions/{_ID}/events", "list_events"),
    ("POST", rf"/v1/sessions/{_ID}/events", "send_events"),
    ("GET", rf"/v1/sessions/{_ID}/events/stream", "stream_events"),
    ("GET", rf"/v1/sessions/{_ID}/threads", "list_threads"),
    ("GET", rf"/v1/sessions/{_ID}/threads/{_ID}", "get_thread"),
    ("GET", rf"/v1/sessions/{_ID}/threads/{_ID}/events", "list_thread_events"),
    ("GET", rf"/v1/sessions/{_ID}/threads/{_ID}/stream", "stream_events"),
    ("GET", r"/v1/files", "list_files"),
    ("GET", rf"/v1/files/{_ID}", "get_file"),
    ("GET", rf"/v1/files/{_ID}/content", "download_file"),
)]
_KINDS: dict[str, RequestKind] = {"list_events": "list", "list_thread_events": "list", "stream_events": "stream"}
_WRITES = frozenset({"delete_session", "archive_session", "send_events"})


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    request_queue_size = 128
    api: ApiServer


class ApiServer:
    """A running (or ready) HTTP server over a source. Use as a context manager, or ``start()``/``stop()``.

    ``planner`` shapes responses (the emulator's faults); ``control`` answers the write routes; ``name`` is what
    the server calls itself (the ``server`` header and messages); ``max_connections`` caps open connections.
    """

    def __init__(self, source: Source, *, planner: Planner | None = None, control: SessionControl | None = None,
                 api_key: str | None = None, heartbeat: float = 5.0, host: str = "127.0.0.1", port: int = 0,
                 on_start: Callable[[], None] | None = None, log_size: int = 10_000, name: str = "recorder",
                 max_connections: int = DEFAULT_MAX_CONNECTIONS) -> None:
        if max_connections < 1:
            raise ConfigError("the connection cap must be at least 1")
        self.source = source
        self.planner = planner
        self.control = control
        self.api_key = api_key
        self.heartbeat = heartbeat
        self.name = name
        self.max_connections = max_connections
        self.requests: deque[RequestRecord] = deque(maxlen=log_size)
        self.stopping = threading.Event()
        self.context = Context(source, heartbeat, self.stopping, control)
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
        host = self.host
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    def start(self) -> ApiServer:
        """Serve in a background thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                            name=f"{self.name}-http-{self.port}", daemon=True)
            self._thread.start()
            if self._on_start is not None:
                self._on_start()
        return self

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

    def open_connections(self) -> int:
        with self._lock:
            return len(self._connections)

    # internal bookkeeping used by the handler
    def _admit(self, conn: socket.socket) -> bool:
        """Track a new connection; False if it is over the cap (it is tracked all the same until it ends)."""
        with self._lock:
            self._connections.add(conn)
            return len(self._connections) <= self.max_connections

    def _release(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.discard(conn)

    def _request_id(self) -> str:
        return f"req_{self.name[:3]}{next(self._ids):012d}"


class _Handler(BaseHTTPRequestHandler):
    """The plumbing of one connection; implements :class:`recorder.apiserver.responder.Responder`."""

    protocol_version = "HTTP/1.1"
    sys_version = ""
    timeout = 30
    server: _HTTPServer

    # ------------------------------------------------------------------------------------ plumbing

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle plus the client's delayed ACK add
        # ~40 ms to every response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.admitted = self.server.api._admit(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.api._release(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: requests go to ApiServer.requests
        pass

    def version_string(self) -> str:
        return self.api.name

    @property
    def api(self) -> ApiServer:
        return self.server.api

    def _handle(self) -> None:
        self.started = False
        self.request_id = self.api._request_id()
        self.plan: Plan = NO_PLAN
        self.session_id: str | None = None
        self._body: bytes | None = None
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
        except ConfigError as err:
            self._fail(400, str(err))
        except Exception:  # a bug in a source or here: answer like the API would, keep serving
            traceback.print_exc()
            self._fail(500, "Internal server error")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    def _fail(self, status: int, message: str) -> None:
        if self.started:  # too late for a status line: cut the response instead
            self.abort()
        else:
            self._send_error(status, message)

    def _dispatch(self) -> None:
        if not self.admitted:
            self.close_connection = True
            self.body()
            raise HttpError(503, f"Too many open connections (at most {self.api.max_connections}); retry later")
        method = "GET" if self.command == "HEAD" else self.command
        if method == "HEAD":
            self.close_connection = True  # (a HEAD client would not read the error body)
        matched = None
        allowed = False
        for route_method, pattern, route in _ROUTES:
            match = pattern.fullmatch(self.url_path)
            if match:
                allowed = True
                if route_method == method and self.command != "HEAD":
                    matched = (route, match)
                    break
        if matched is None:
            self.body()
            self.close_connection = True
            if allowed:
                raise HttpError(405, f"Method {self.command} is not supported by {self.api.name} here")
            raise HttpError(404, f"No route for {self.command} {self.url_path}")
        name, match = matched
        args = [unquote(g) for g in match.groups()]
        self._authenticate()
        if name.endswith("_file"):
            self.session_id = self._file_scope(args[0])
        elif args:
            self.session_id = args[0]
        if name in _WRITES and self.api.control is None:
            self.body()
            raise HttpError(405, f"{self.api.name} serves a read-only record: {self.command} is not supported")
        if self.api.planner is not None:
            about_thread = "/threads/" in self.url_path
            self.plan = self.api.planner.plan(self.session_id, _KINDS.get(name, "other"), thread=about_thread)
        if self.plan.slow_first_byte:
            self.api.stopping.wait(self.plan.slow_first_byte)
        if self.plan.status is not None:
            self._send_fault_status(self.plan)
            return
        endpoints = Endpoints(self.api.context, self)
        getattr(endpoints, name)(*args)

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

    # ------------------------------------------------------------------------------------ Responder

    def body(self) -> bytes:
        if self._body is None:
            length = int(self.headers.get("content-length") or 0)
            self._body = self.rfile.read(length) if length > 0 else b""
        return self._body

    def close_after(self) -> None:
        self.close_connection = True

    def _log(self, status: int) -> None:
        self.api.requests.append(RequestRecord(self.command, self.url_path, self.query_string, status,
                                               self.session_id, tuple(self.plan.labels()), time.time()))

    def start(self, status: int, headers: dict[str, str]) -> None:
        self.started = True
        self._log(status)
        self.send_response(status)
        self.send_header("request-id", self.request_id)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _send_error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        body = error_body(status, message, self.request_id)
        extra = {"connection": "close"} if self.close_connection else {}
        self.start(status, {"content-type": "application/json", "content-length": str(len(body)),
                            **extra, **(headers or {})})
        self.wfile.write(body)

    def _send_fault_status(self, plan: Plan) -> None:
        assert plan.status is not None
        messages = {429: "Number of requests has exceeded your rate limit (emulated)",
                    500: "Internal server error (emulated)", 529: "Overloaded (emulated)"}
        headers = {}
        if plan.status in (429, 529) and plan.retry_after is not None:
            headers["retry-after"] = _seconds(plan.retry_after)
        self._send_error(plan.status, messages.get(plan.status, "Error (emulated)"), headers)

    def send_json(self, obj: Any = None, *, body: bytes | None = None, cut: int | None = None,
                  status: int = 200) -> None:
        """A JSON response; ``cut`` is where to drop the connection if the plan says so."""
        if body is None:
            body = dumps(obj).encode()
        self.start(status, {"content-type": "application/json", "content-length": str(len(body))})
        if self.plan.drop_after is not None and cut is not None:
            self.write(body[:cut])
            self.abort()
        else:
            self.write(body)

    def write(self, data: bytes) -> None:
        trickle = self.plan.trickle
        if not trickle:
            self.wfile.write(data)
            return
        for i in range(len(data)):
            if self.api.stopping.is_set():
                raise ConnectionAbortedError("server stopping")
            self.wfile.write(data[i:i + 1])
            self.api.stopping.wait(trickle)

    def abort(self) -> None:
        """Cut the TCP connection here (the client sees the body end early)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def chunk(self, data: bytes, partial: int | None = None) -> None:
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
