"""Headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``), for HTML tests.

Why the protocol and not ``--dump-dom`` alone: it sees every request the *page* makes (``Network.
requestWillBeSent``, which also covers images, fonts, fetches and websockets the page starts), every uncaught
exception and console error, and it can evaluate expressions in the page after it loaded — without counting the
browser's own background traffic. Chromium is Debian's ``chromium`` package, run as root with ``--no-sandbox``
and a fresh profile; ``.ci/ensure-chromium`` installs it. If it is missing the browser tests FAIL, unless
``RECORDER_SKIP_BROWSER=1`` says to skip them on purpose.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("RECORDER_CHROMIUM", "/usr/bin/chromium")
SKIP = os.environ.get("RECORDER_SKIP_BROWSER") == "1"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--remote-debugging-pipe"]


def require_chromium() -> str:
    if SKIP:
        pytest.skip("RECORDER_SKIP_BROWSER=1: browser tests skipped on purpose")
    if not (Path(CHROMIUM).exists() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: run `.ci/ensure-chromium` (Debian's chromium package) "
                    "or set RECORDER_SKIP_BROWSER=1 to skip browser tests deliberately", pytrace=False)
    return CHROMIUM


class Browser:
    """One headless Chromium with one page, spoken to over fds 3 (commands) and 4 (replies and events)."""

    def __init__(self, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="recorder-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def child_fds() -> None:  # runs in the child: put the pipe ends on fds 3 and 4, inheritable
            a, b = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.process = subprocess.Popen(
            [require_chromium(), *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            preexec_fn=child_fds, close_fds=False, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Network", "Page", "Runtime", "Log"):
            self.call(f"{domain}.enable", session=True)

    # ---- protocol

    def _send(self, method: str, params: dict[str, Any] | None, session: bool) -> int:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        return self._next_id

    def _receive(self, predicate: Any, timeout: float | None = None) -> dict[str, Any]:
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "method" in message:
                    self.events.append(message)
                if predicate(message):
                    return message
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the browser did not answer in time")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise RuntimeError("the browser closed the DevTools pipe")
                self._buffer += chunk

    def call(self, method: str, params: dict[str, Any] | None = None, *, session: bool = False,
             timeout: float | None = None) -> dict[str, Any]:
        number = self._send(method, params, session)
        reply = self._receive(lambda m: m.get("id") == number, timeout)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    # ---- page

    def open(self, url: str, timeout: float | None = None) -> float:
        """Navigate (forgetting the events of earlier pages) and wait for the load event; returns the seconds it
        took."""
        self.events.clear()
        started = time.monotonic()
        self.call("Page.navigate", {"url": url}, session=True)
        self._receive(lambda m: m.get("method") == "Page.loadEventFired", timeout)
        return time.monotonic() - started

    def evaluate(self, expression: str, timeout: float | None = None) -> Any:
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True}, session=True, timeout=timeout)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page exception: {result['exceptionDetails']}")
        return result["result"].get("value")

    def settle(self, seconds: float = 0.3) -> None:
        """Let the page run for a moment, collecting its events."""
        with contextlib.suppress(TimeoutError):
            self._receive(lambda m: False, seconds)

    def requests(self) -> list[str]:
        """Every URL the page asked for (its own document included)."""
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    def errors(self) -> list[str]:
        """Uncaught exceptions and console/log errors of the page."""
        out = []
        for e in self.events:
            method, params = e.get("method"), e.get("params", {})
            if method == "Runtime.exceptionThrown":
                out.append(json.dumps(params.get("exceptionDetails", {}))[:500])
            elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                out.append(json.dumps(params.get("args", []))[:500])
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                out.append(params["entry"].get("text", "")[:500])
        return out

    def dom(self) -> str:
        return self.evaluate("document.documentElement.outerHTML")

    def close(self) -> None:
        try:
            self._send("Browser.close", None, False)
            self.process.wait(timeout=5)
        except Exception:
            self.process.kill()
            self.process.wait(timeout=5)
        finally:
            os.close(self._to_browser)
            os.close(self._from_browser)
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
