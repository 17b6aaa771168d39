"""Serve until Ctrl-C: the one loop behind ``recorder serve`` and ``recorder emulator``."""

from __future__ import annotations

from collections.abc import Callable

from recorder.apiserver.server import ApiServer


def serve_until_interrupted(server: ApiServer, *, on_stop: Callable[[], None] | None = None) -> None:
    """Start ``server`` in the background, wait for KeyboardInterrupt (or ``server.stop()`` from elsewhere), then
    stop it and call ``on_stop``."""
    try:
        server.start()
        while not server.stopping.wait(3600):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        if on_stop is not None:
            on_stop()
