"""Who may ask, and what a page may do.

Binding: loopback by default; any other address needs a token (``--token`` or ``RECORDER_UI_TOKEN``), checked in
:func:`check_binding` before the server starts. Once a token is set, every request needs it, however it arrives:

* a header, ``Authorization: Bearer TOKEN`` (scripts, reverse proxies that inject it);
* or ``?token=TOKEN`` on any URL (a link to send a colleague): the answer is a redirect to the same URL without
  it, setting an ``HttpOnly``, ``SameSite=Strict`` cookie that carries the token from then on (``Secure`` when
  the request came over HTTPS, e.g. through a proxy that sets ``X-Forwarded-Proto``).

Anything else gets 401. Tokens are compared in constant time.

Every answer carries a Content-Security-Policy under which a page loads nothing from anywhere but this server
(scripts and styles from ``/static/`` only, no inline script, no frames, no forms posting elsewhere), plus
``nosniff``, ``no-referrer`` and ``DENY`` framing. The app is read-only: its routes answer GET and HEAD only.
"""

from __future__ import annotations

import hmac
import ipaddress
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from recorder.errors import ConfigError

COOKIE = "recorder_ui_token"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]


def is_loopback(host: str) -> bool:
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_binding(host: str, token: str | None) -> None:
    """Refuse to listen beyond loopback without a token."""
    if not is_loopback(host) and not token:
        raise ConfigError(f"refusing to listen on {host} without a token: pass --token or set RECORDER_UI_TOKEN "
                          "(or bind to 127.0.0.1 behind a reverse proxy)")
    if token is not None and len(token) < 16:
        raise ConfigError("the UI token must be at least 16 characters (e.g. `openssl rand -hex 16`)")


class Guard:
    """ASGI middleware: the security headers on every answer, and the token rule when a token is set."""

    def __init__(self, app: Any, token: str | None) -> None:
        self.app = app
        self.token = token.encode() if token else None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *HEADERS]}
            await send(message)

        if self.token is not None:
            answer = self._check(scope)
            if answer is not None:
                status, headers, body = answer
                await send_with_headers({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send_with_headers)

    def _matches(self, given: str | None) -> bool:
        return given is not None and self.token is not None and hmac.compare_digest(given.encode(), self.token)

    def _check(self, scope: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer ") and self._matches(auth[7:].strip()):
            return None
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # a malformed cookie header is just no cookie
            cookie = SimpleCookie()
        if COOKIE in cookie and self._matches(cookie[COOKIE].value):
            return None
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        given = [v for k, v in query if k == "token"]
        if given and self._matches(given[-1]):
            rest = urlencode([(k, v) for k, v in query if k != "token"])
            location = quote(scope.get("root_path", "") + scope["path"]) + ("?" + rest if rest else "")
            secure = scope.get("scheme") == "https" or headers.get("x-forwarded-proto") == "https"
            value = (f"{COOKIE}={self.token.decode()}; Path=/; HttpOnly; SameSite=Strict"  # type: ignore[union-attr]
                     + ("; Secure" if secure else ""))
            return 303, [(b"location", location.encode()), (b"set-cookie", value.encode()),
                         (b"cache-control", b"no-store")], b""
        body = b"401: this recorder UI needs its token (Authorization: Bearer TOKEN, or ?token=TOKEN once)\n"
        return 401, [(b"content-type", b"text/plain; charset=utf-8"), (b"www-authenticate", b"Bearer")], body
