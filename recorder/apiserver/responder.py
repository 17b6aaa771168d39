"""The :class:`Responder`: one request's side of the wire as the endpoints and the SSE writer see it (the query,
the plan for the response, the writers). The HTTP plumbing in :mod:`recorder.apiserver.server` implements it."""

from __future__ import annotations

from typing import Any, Protocol

from recorder.apiserver.shaping import Plan


class Responder(Protocol):
    """One request's side of the wire, as the endpoints see it."""

    plan: Plan
    params: dict[str, list[str]]

    def start(self, status: int, headers: dict[str, str]) -> None:
        """Send the status line and headers."""

    def send_json(self, obj: Any = None, *, body: bytes | None = None, cut: int | None = None,
                  status: int = 200) -> None:
        """A whole JSON response (``cut``: where to drop the connection if the plan says so)."""

    def write(self, data: bytes) -> None:
        """Body bytes (trickled if the plan says so)."""

    def chunk(self, data: bytes, partial: int | None = None) -> None:
        """One chunk of a chunked body (or its first ``partial`` bytes before a cut)."""

    def abort(self) -> None:
        """Cut the connection now."""

    def close_after(self) -> None:
        """Close the connection once this response is done."""

    def body(self) -> bytes:
        """The request body."""
