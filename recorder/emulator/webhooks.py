"""Signed session webhooks, as the API sends them: thin, signed per Standard Webhooks, at least once, unordered.

A delivery is an HTTP POST of a JSON body ``{"type": "event", "id": "wevt_...", "created_at": ..., "data":
{"type": "session.status_idled", "id": <session id>, "organization_id": ..., "workspace_id": ...}}`` (plus
``session_thread_id`` for thread webhooks), the shape of the SDK's ``BetaWebhookEvent``. Headers:
``webhook-id`` (the event id, the same on every attempt and every duplicate), ``webhook-timestamp`` (Unix
seconds) and ``webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` under the secret
``whsec_<base64 key>``; ``client.beta.webhooks.unwrap(body, headers=..., key=secret)`` verifies and parses one.

Delivery runs in one background thread. A delivery that fails (no connection, or a non-2xx answer) is retried
after ``retry_delay`` seconds, up to ``attempts`` times in all. Faults (:class:`WebhookFaults`, spec
``"drop=K,duplicate=K,delay=S,reorder=K"``) make it lossy the way the real thing can be: ``drop`` loses the next
K webhooks outright (never sent), ``duplicate`` sends the next K twice, ``delay`` holds every webhook S seconds,
``reorder`` collects K webhooks and sends them newest first. Every attempt is logged (:attr:`WebhookSender.log`).
"""

from __future__ import annotations

import base64
import queue
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook

from recorder.apiserver.wire import dumps
from recorder.emulator import ids
from recorder.errors import ConfigError

ORGANIZATION_ID = "org_emulator"
WORKSPACE_ID = "wrkspc_emulator"

# session stream event type -> webhook type
WEBHOOK_OF_EVENT = {
    "session.status_running": "session.status_run_started",
    "session.status_idle": "session.status_idled",
    "session.status_rescheduled": "session.status_rescheduled",
    "session.status_terminated": "session.status_terminated",
    "session.thread_created": "session.thread_created",
    "session.thread_status_idle": "session.thread_idled",
    "session.thread_status_terminated": "session.thread_terminated",
    "session.updated": "session.updated",
}


def make_secret(seed: int) -> str:
    """A Standard Webhooks secret (``whsec_`` + base64 of 24 bytes) derived from the seed."""
    raw = ids.digest(seed, "webhook-secret").to_bytes(16, "big") + ids.digest(seed, "webhook-secret-2").to_bytes(
        16, "big")[:8]
    return "whsec_" + base64.b64encode(raw).decode()


@dataclass
class WebhookFaults:
    """Delivery faults; counts are used up as they fire."""

    drop: int = 0
    duplicate: int = 0
    delay: float = 0.0
    reorder: int = 0

    @classmethod
    def parse(cls, spec: WebhookFaults | str | None) -> WebhookFaults:
        if spec is None:
            return cls()
        if isinstance(spec, WebhookFaults):
            return replace(spec)
        faults = cls()
        for item in spec.split(","):
            name, _, value = item.strip().partition("=")
            if not name:
                continue
            try:
                if name in ("drop", "duplicate", "reorder"):
                    setattr(faults, name, int(value or 1))
                    if getattr(faults, name) < 0:
                        raise ValueError
                elif name == "delay":
                    faults.delay = float(value)
                    if not faults.delay >= 0:
                        raise ValueError
                else:
                    raise ValueError
            except ValueError:
                raise ConfigError(f"bad webhook fault {item.strip()!r}: expected drop=K, duplicate=K, delay=S or "
                                  "reorder=K") from None
        return faults


@dataclass(frozen=True)
class Attempt:
    """One POST of one webhook (``status`` None: no answer; ``dropped``: lost on purpose, never sent)."""

    webhook_id: str
    type: str
    session_id: str
    url: str
    status: int | None
    at: float
    dropped: bool = False


@dataclass
class _Webhook:
    id: str
    type: str
    session_id: str
    body: str
    url: str
    secret: str
    due: float
    tries: int = 0
    copies: int = 1
    extra: dict[str, Any] = field(default_factory=dict)


class WebhookSender:
    """Queues and POSTs signed webhooks (see the module docstring). Thread-safe."""

    def __init__(self, seed: int, *, url: str | None = None, secret: str | None = None,
                 faults: WebhookFaults | str | None = None, attempts: int = 5, retry_delay: float = 0.2,
                 timeout: float = 5.0) -> None:
        self.seed = seed
        self.url = url
        self.secret = secret or make_secret(seed)
        self.faults = WebhookFaults.parse(faults)
        self.attempts = attempts
        self.retry_delay = retry_delay
        self.timeout = timeout
        self.log: list[Attempt] = []
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[_Webhook | None] = queue.SimpleQueue()
        self._held: list[_Webhook] = []
        self._count = 0
        self._pending = 0
        self._idle = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._closed = False

    def configure(self, url: str | None, secret: str | None = None, faults: WebhookFaults | str | None = None
                  ) -> None:
        with self._lock:
            self.url = url
            if secret is not None:
                self.secret = secret
            if faults is not None:
                self.faults = WebhookFaults.parse(faults)

    def set_faults(self, faults: WebhookFaults | str | None) -> None:
        with self._lock:
            self.faults = WebhookFaults.parse(faults)

    def send(self, webhook_type: str, session_id: str, *, url: str | None = None, **extra: str) -> str | None:
        """Queue one webhook (to ``url``, default the configured one); its id, or None if there is nowhere to
        send it."""
        with self._lock:
            target = url or self.url
            if target is None or self._closed:
                return None
            self._count += 1
            webhook_id = ids.make_id("wevt", self.seed, "webhook", self._count)
            now = datetime.now(UTC)
            payload = {"type": "event", "id": webhook_id,
                       "created_at": now.isoformat(timespec="microseconds").replace("+00:00", "Z"),
                       "data": {"type": webhook_type, "id": session_id, "organization_id": ORGANIZATION_ID,
                                "workspace_id": WORKSPACE_ID, **extra}}
            item = _Webhook(webhook_id, webhook_type, session_id, dumps(payload), target, self.secret,
                            time.monotonic() + self.faults.delay)
            if self.faults.drop > 0:
                self.faults.drop -= 1
                self.log.append(Attempt(webhook_id, webhook_type, session_id, target, None, time.time(), True))
                return webhook_id
            if self.faults.duplicate > 0:
                self.faults.duplicate -= 1
                item.copies = 2
            self._pending += 1
            if self.faults.reorder > 0:
                self._held.append(item)
                if len(self._held) < self.faults.reorder:
                    self._ensure_thread()
                    return webhook_id
                held, self._held = self._held, []
                self.faults.reorder = 0
                for h in reversed(held):
                    self._queue.put(h)
            else:
                self._queue.put(item)
            self._ensure_thread()
        return webhook_id

    def flush_held(self) -> None:
        """Release webhooks held for reordering (newest first)."""
        with self._lock:
            held, self._held = self._held, []
            for h in reversed(held):
                self._queue.put(h)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every queued webhook is delivered or given up (held ones excepted)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._pending - len(self._held) > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._queue.put(None)

    def _ensure_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="emulator-webhooks", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        waiting: list[_Webhook] = []
        while True:
            timeout = None
            if waiting:
                timeout = max(0.0, min(w.due for w in waiting) - time.monotonic())
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                item = None
            else:
                if item is None:
                    return
                waiting.append(item)
            now = time.monotonic()
            due = [w for w in waiting if w.due <= now]
            waiting = [w for w in waiting if w.due > now]
            for webhook in due:
                if self._deliver(webhook):
                    self._done()
                elif webhook.tries < self.attempts:
                    webhook.due = time.monotonic() + self.retry_delay
                    waiting.append(webhook)
                else:
                    self._done()

    def _done(self) -> None:
        with self._lock:
            self._pending -= 1
            self._idle.notify_all()

    def _deliver(self, webhook: _Webhook) -> bool:
        """POST it (twice if duplicated); True once answered 2xx."""
        webhook.tries += 1
        ok = False
        for _ in range(webhook.copies):
            timestamp = datetime.now(UTC)
            signature = Webhook(webhook.secret).sign(webhook.id, timestamp, webhook.body)
            request = urllib.request.Request(webhook.url, data=webhook.body.encode(), method="POST", headers={
                "content-type": "application/json", "webhook-id": webhook.id,
                "webhook-timestamp": str(int(timestamp.timestamp())), "webhook-signature": signature,
                "user-agent": "managed-agents-emulator-webhooks"})
            status: int | None = None
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    status = response.status
            except urllib.error.HTTPError as err:
                status = err.code
            except (OSError, ValueError):
                status = None
            with self._lock:
                self.log.append(Attempt(webhook.id, webhook.type, webhook.session_id, webhook.url, status,
                                        time.time()))
            ok = ok or (status is not None and 200 <= status < 300)
        if ok:
            webhook.copies = 1
        return ok
