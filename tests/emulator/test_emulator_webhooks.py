"""Signed session webhooks: verified by the SDK's own ``client.beta.webhooks.unwrap``, thin payloads, at least
once (retried), and the delivery faults (drops, duplicates, delays, reordering)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anthropic
import pytest
from standardwebhooks import WebhookVerificationError

from recorder.emulator import Emulator
from recorder.emulator.webhooks import WebhookFaults
from tests.emulator.support import wait_for


class Receiver:
    """A loopback endpoint that keeps every POST (body text and headers); answers ``fail_first`` 500s first."""

    def __init__(self, fail_first: int = 0) -> None:
        self.received: list[tuple[str, dict[str, str]]] = []
        self.fail_first = fail_first
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
                with receiver.lock:
                    failing = receiver.fail_first > 0
                    if failing:
                        receiver.fail_first -= 1
                    else:
                        receiver.received.append((body, {k.lower(): v for k, v in self.headers.items()}))
                self.send_response(500 if failing else 204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/webhooks"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def events(self, client: anthropic.Anthropic, key: str) -> list[Any]:
        with self.lock:
            received = list(self.received)
        return [client.beta.webhooks.unwrap(body, headers=headers, key=key) for body, headers in received]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


CLIENT = anthropic.Anthropic(api_key="unused", base_url="http://127.0.0.1:9")


def test_webhooks_are_signed_thin_and_verified_by_the_sdk(receiver: Receiver) -> None:
    emu = Emulator(seed=21, webhook_url=receiver.url, turn_interval=0.001)
    secret = emu.webhook_secret
    assert secret.startswith("whsec_")
    with emu.serve():
        sid = emu.create_session("multi_agent", interval=0.001)
        emu.wait_until_idle(sid)
        emu.archive(sid)
        other = emu.add_session("interrupts")
        emu.delete(other)
        assert emu.webhooks.wait_idle(10)
    events = receiver.events(CLIENT, secret)
    for event in events:
        assert event.type == "event" and event.data.organization_id and event.data.workspace_id
    about = [(e.data.type, e.data.id) for e in events]
    assert about[0] == ("session.created", sid)
    for kind in ("session.status_run_started", "session.status_idled", "session.archived"):
        assert (kind, sid) in about, kind
    threads = [e.data for e in events if e.data.type == "session.thread_created"]
    assert {t.session_thread_id for t in threads} == set(emu.thread_ids(sid)[1:])  # type: ignore[union-attr]
    assert ("session.thread_idled", sid) in about
    last_idled = max(i for i, a in enumerate(about) if a == ("session.status_idled", sid))
    assert about.index(("session.archived", sid)) > last_idled
    assert ("session.created", other) in about and ("session.deleted", other) in about
    body, headers = receiver.received[0]
    assert json.loads(body)["data"] == {"type": "session.created", "id": sid, "organization_id": "org_emulator",
                                        "workspace_id": "wrkspc_emulator"}  # thin: a type and the session id
    assert headers["webhook-id"] == json.loads(body)["id"] and headers["webhook-signature"].startswith("v1,")
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    # a forged body, or the wrong key, does not verify
    with pytest.raises(WebhookVerificationError):
        CLIENT.beta.webhooks.unwrap(body.replace(sid, "sesn_forged"), headers=headers, key=secret)
    with pytest.raises(WebhookVerificationError):
        CLIENT.beta.webhooks.unwrap(body, headers=headers, key="whsec_" + "A" * 32)


def test_delivery_is_retried_until_answered(receiver: Receiver) -> None:
    receiver.fail_first = 2
    emu = Emulator(seed=22, webhook_url=receiver.url)
    emu.webhooks.retry_delay = 0.05
    webhook_id = emu.send_webhook("session.status_idled", "sesn_x")
    assert emu.webhooks.wait_idle(10)
    assert [e.id for e in receiver.events(CLIENT, emu.webhook_secret)] == [webhook_id]
    attempts = [a.status for a in emu.webhook_log() if a.webhook_id == webhook_id]
    assert attempts == [500, 500, 204]
    emu.close()


def test_drops_duplicates_delays_and_reordering(receiver: Receiver) -> None:
    emu = Emulator(seed=23, webhook_url=receiver.url, webhook_faults="drop=1,duplicate=1")
    key = emu.webhook_secret
    dropped = emu.send_webhook("session.status_idled", "sesn_a")
    doubled = emu.send_webhook("session.status_idled", "sesn_b")
    plain = emu.send_webhook("session.status_idled", "sesn_c")
    assert emu.webhooks.wait_idle(10)
    ids = [e.id for e in receiver.events(CLIENT, key)]
    assert dropped not in ids and ids.count(doubled) == 2 and ids.count(plain) == 1  # never sent, sent twice
    assert [a.dropped for a in emu.webhook_log() if a.webhook_id == dropped] == [True]
    receiver.received.clear()
    emu.webhooks.set_faults(WebhookFaults(reorder=3))
    sent = [emu.send_webhook("session.status_run_started", f"sesn_{n}") for n in range(3)]
    assert emu.webhooks.wait_idle(10)
    assert [e.id for e in receiver.events(CLIENT, key)] == sent[::-1]  # newest first
    receiver.received.clear()
    emu.webhooks.set_faults("delay=0.3")
    started = time.monotonic()
    late = emu.send_webhook("session.status_idled", "sesn_late")
    wait_for(lambda: bool(receiver.received), timeout=5)
    assert time.monotonic() - started >= 0.25 and [e.id for e in receiver.events(CLIENT, key)] == [late]
    emu.close()


def test_nothing_is_sent_without_a_url_and_a_url_can_be_given_per_call(receiver: Receiver) -> None:
    emu = Emulator(seed=24)
    assert emu.add_session("tool_use") and emu.webhook_log() == []
    assert emu.send_webhook("session.created", "sesn_q") is None
    webhook_id = emu.send_webhook("session.created", "sesn_q", url=receiver.url)
    assert emu.webhooks.wait_idle(10)
    assert [e.id for e in receiver.events(CLIENT, emu.webhook_secret)] == [webhook_id]
    emu.configure_webhooks(receiver.url, secret="whsec_" + "QUJD" * 8)
    sid = emu.add_session("mcp")
    assert emu.webhooks.wait_idle(10)
    latest = [CLIENT.beta.webhooks.unwrap(body, headers=headers, key="whsec_" + "QUJD" * 8)
              for body, headers in receiver.received[-2:]]
    assert [(e.data.type, e.data.id) for e in latest] == [("session.created", sid), ("session.status_idled", sid)]
    emu.close()
