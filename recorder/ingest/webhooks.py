"""The webhook listener of ``record --all --follow --listen HOST:PORT``: POST /webhooks, verified, kept, then acted on.

Each delivery, in its own thread (stdlib ``ThreadingHTTPServer``):

1. is verified by the SDK (``client.beta.webhooks.unwrap``: Standard Webhooks signature, and a timestamp no more
   than five minutes off); unsigned, forged or stale deliveries get 401 and nothing is kept or done for them;
2. is kept durably, idempotent by its ``webhook-id`` header (a redelivery adds nothing), *before* the answer:
   once the sender hears 2xx, a crash cannot lose the delivery (the next start records its session);
3. wakes the recorder for the session it names (``notify``, called from this thread; the service hops onto its
   event loop).

A delivery that cannot be kept (the database is down) gets 503, so the sender tries again later. The listener binds
to loopback unless given another address.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from recorder.errors import ConfigError, RecorderError

PATH = "/webhooks"
MAX_BODY = 1 << 20
DEFAULT_HOST = "127.0.0.1"

Verify = Callable[[str, Mapping[str, str]], Any]  # raises when the delivery is not authentic
Accept = Callable[[str, str | None, str | None, str], bool]  # (webhook id, type, session id, body) -> new?
Notify = Callable[[str | None, str | None], None]  # (session id, type)


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT`` or ``PORT`` (loopback); IPv6 hosts in brackets."""
    host, sep, port_text = value.rpartition(":")
    if not sep:
        host, port_text = "", value
    host = host.strip("[]") or DEFAULT_HOST
    try:
        port = int(port_text)
    except ValueError:
        raise ConfigError(f"--listen {value!r}: expected HOST:PORT, e.g. 127.0.0.1:8787") from None
    if not 0 <= port <= 65535:
        raise ConfigError(f"--listen {value!r}: the port must be 0-65535")
    return host, port


def session_of(payload: dict[str, Any]) -> tuple[str | None, str | None]:
    """(session id, type) named by a webhook payload; session id None for non-session events."""
    data = payload.get("data")
    if not isinstance(data, dict):
        return None, None
    kind = data.get("type") if isinstance(data.get("type"), str) else None
    ident = data.get("id")
    if kind is None or not kind.startswith("session.") or not isinstance(ident, str) or not ident:
        return None, kind
    return ident, kind


class WebhookListener:
    """An HTTP server in background threads; :meth:`start` binds and returns the address it listens on."""

    def __init__(self, host: str, port: int, *, verify: Verify, accept: Accept, notify: Notify,
                 on_error: Callable[[str], None] | None = None) -> None:
        self.host, self.port = host, port
        self.verify, self.accept, self.notify = verify, accept, notify
        self.on_error = on_error or (lambda _text: None)
        self.accepted = 0
        self.refused = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        assert self._server is not None
        return self._server.server_address[0], self._server.server_address[1]  # type: ignore[return-value]

    def start(self) -> tuple[str, int]:
        listener = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "recorder-webhooks"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                status, text = listener.handle(self.path, dict(self.headers.items()), self._body())
                self._answer(status, text)

            def do_GET(self) -> None:
                self._answer(405 if self.path.split("?")[0] == PATH else 404, "POST webhooks here")

            def _body(self) -> bytes | None:
                try:
                    length = int(self.headers.get("content-length") or 0)
                except ValueError:
                    return None
                if length < 0 or length > MAX_BODY:
                    return None
                return self.rfile.read(length)

            def _answer(self, status: int, text: str) -> None:
                body = json.dumps({"status": status, "message": text}).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        try:
            server = ThreadingHTTPServer((self.host, self.port), Handler)
        except OSError as err:
            raise ConfigError(f"cannot listen for webhooks on {self.host}:{self.port}: {err.strerror or err}") from None
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="webhooks", daemon=True)
        self._thread.start()
        return self.address

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def handle(self, path: str, headers: Mapping[str, str], body: bytes | None) -> tuple[int, str]:
        """One delivery: (HTTP status, message). Verified, then kept, then acknowledged."""
        if path.split("?")[0] != PATH:
            return 404, f"not found; deliveries go to {PATH}"
        if body is None:
            return 413, "missing, bad or too large content-length"
        lower = {k.lower(): v for k, v in headers.items()}
        try:
            text = body.decode("utf-8")
            self.verify(text, lower)
        except Exception as err:  # any failure to verify is a refusal: nothing is kept
            self.refused += 1
            return 401, f"delivery refused: {type(err).__name__}"
        webhook_id = lower.get("webhook-id") or ""
        try:
            payload = json.loads(text)
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or not webhook_id:
            self.refused += 1
            return 400, "not a webhook event"
        session_id, kind = session_of(payload)
        try:
            new = self.accept(webhook_id, kind, session_id, text)
        except RecorderError as err:
            self.on_error(f"webhook {webhook_id} not kept: {err}")
            return 503, "cannot keep the delivery now; send it again later"
        self.accepted += 1
        if new:
            self.notify(session_id, kind)
        return 200, "kept" if new else "already kept"
