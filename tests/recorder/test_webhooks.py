"""The webhook listener: the SDK's own ``unwrap`` verifies each delivery; refused ones keep nothing; accepted ones are
kept once by webhook-id before the 2xx, then wake the recorder."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import anthropic
import httpx2
import pytest
from standardwebhooks import Webhook

from recorder.errors import ConfigError, StoreUnavailable
from recorder.ingest.webhooks import WebhookListener, parse_listen, session_of
from recorder.store import EventStore, Lifecycle

KEY = "whsec_" + base64.b64encode(b"recorder-test-signing-key-0123456").decode()


def payload(session_id: str = "sesn_1", kind: str = "session.created", event_id: str = "wevt_1") -> str:
    return json.dumps({"type": "event", "id": event_id, "created_at": "2026-12-01T10:00:00Z",
                       "data": {"type": kind, "id": session_id, "organization_id": "org", "workspace_id": "ws"}})


def signed(body: str, webhook_id: str, *, key: str = KEY, at: datetime | None = None) -> dict[str, str]:
    at = at or datetime.now(UTC)
    return {"webhook-id": webhook_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": Webhook(key).sign(webhook_id, at, body), "content-type": "application/json"}


class Harness:
    def __init__(self, store: EventStore) -> None:
        client = anthropic.AsyncAnthropic(api_key="sk-test")
        self.life = Lifecycle(store)
        self.woken: list[tuple[str | None, str | None]] = []
        self.lock = threading.Lock()

        def verify(body: str, headers: Any) -> Any:
            return client.beta.webhooks.unwrap(body, headers=headers, key=KEY)

        def accept(webhook_id: str, kind: str | None, session_id: str | None, body: str) -> bool:
            return self.life.accept_delivery(webhook_id, event_type=kind, session_id=session_id, payload=body)

        def notify(session_id: str | None, kind: str | None) -> None:
            with self.lock:
                self.woken.append((session_id, kind))

        self.listener = WebhookListener("127.0.0.1", 0, verify=verify, accept=accept, notify=notify)
        host, port = self.listener.start()
        self.url = f"http://{host}:{port}/webhooks"

    def post(self, body: str, headers: dict[str, str], url: str | None = None) -> httpx2.Response:
        return httpx2.post(url or self.url, content=body.encode(), headers=headers, timeout=10)


@pytest.fixture
def harness(store: EventStore) -> Iterator[Harness]:
    h = Harness(store)
    yield h
    h.listener.stop()


def test_a_signed_delivery_is_kept_once_and_wakes_its_session(harness: Harness) -> None:
    body = payload("sesn_a", "session.status_idled")
    headers = signed(body, "msg_a")
    first = harness.post(body, headers)
    again = harness.post(body, headers)  # delivered twice (at least once)
    assert first.status_code == 200 and again.status_code == 200
    kept = harness.life.deliveries()
    assert [(d.webhook_id, d.session_id, d.event_type) for d in kept] == [("msg_a", "sesn_a", "session.status_idled")]
    assert kept[0].payload == body
    assert harness.woken == [("sesn_a", "session.status_idled")]


@pytest.mark.parametrize("case", ["unsigned", "forged", "wrong key", "stale", "tampered"])
def test_unauthentic_deliveries_are_refused_and_keep_nothing(harness: Harness, case: str) -> None:
    body = payload("sesn_x")
    headers = signed(body, "msg_x")
    if case == "unsigned":
        headers = {"content-type": "application/json"}
    elif case == "forged":
        headers["webhook-signature"] = "v1," + base64.b64encode(b"0" * 32).decode()
    elif case == "wrong key":
        headers = signed(body, "msg_x", key="whsec_" + base64.b64encode(b"another-key-another-key-01234").decode())
    elif case == "stale":
        headers = signed(body, "msg_x", at=datetime.now(UTC) - timedelta(minutes=30))
    elif case == "tampered":
        body = payload("sesn_other")
    response = harness.post(body, headers)
    assert 400 <= response.status_code < 500
    assert harness.life.deliveries() == [] and harness.woken == []


def test_other_paths_and_methods_are_refused(harness: Harness) -> None:
    body = payload()
    assert harness.post(body, signed(body, "msg_p"), url=harness.url.replace("/webhooks", "/other")).status_code == 404
    assert httpx2.get(harness.url, timeout=10).status_code == 405
    assert harness.life.deliveries() == []


def test_non_session_events_are_kept_and_name_no_session(harness: Harness) -> None:
    body = json.dumps({"type": "event", "id": "wevt_9", "created_at": "2026-12-01T10:00:00Z",
                       "data": {"type": "agent.created", "id": "agent_1", "organization_id": "o", "workspace_id": "w"}})
    assert harness.post(body, signed(body, "msg_agent")).status_code == 200
    assert [d.session_id for d in harness.life.deliveries()] == [None]
    assert harness.woken == [(None, "agent.created")]


def test_a_delivery_that_cannot_be_kept_is_not_acknowledged() -> None:
    def accept(*_args: Any) -> bool:
        raise StoreUnavailable("database down")

    listener = WebhookListener("127.0.0.1", 0, verify=lambda body, headers: None, accept=accept,
                               notify=lambda *_: None)
    body = payload()
    status, _ = listener.handle("/webhooks", signed(body, "msg_down"), body.encode())
    assert status == 503


def test_listen_addresses() -> None:
    assert parse_listen("0.0.0.0:9000") == ("0.0.0.0", 9000)
    assert parse_listen(":8787") == ("127.0.0.1", 8787)
    assert parse_listen("8787") == ("127.0.0.1", 8787)
    assert parse_listen("[::1]:8787") == ("::1", 8787)
    with pytest.raises(ConfigError):
        parse_listen("host:port")
    assert session_of({"data": {"type": "session.deleted", "id": "sesn_d"}}) == ("sesn_d", "session.deleted")
