"""Running the UI: check the binding rule, open the listening socket (a port in use is one clear line, port 0
picks a free one and says which), then serve the app with uvicorn until interrupted."""

from __future__ import annotations

import socket
from collections.abc import Callable

from recorder.errors import RecorderError
from recorder.store import EventStore
from recorder.ui.app import Settings, create_app
from recorder.ui.security import check_binding


def listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(128)
    except OSError as err:
        sock.close()
        raise RecorderError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
    return sock


def serve(settings: Settings, *, host: str = "127.0.0.1", port: int = 8780,
          ready: Callable[[str], None] | None = None) -> None:
    """Serve ``recorder ui`` on ``host:port`` (refusing a non-loopback host without a token)."""
    import uvicorn

    check_binding(host, settings.token)
    EventStore(settings.db_url).close()  # a clear error now (unreachable, not migrated) rather than per request
    sock = listen(host, port)
    config = uvicorn.Config(create_app(settings), log_level="warning", access_log=False, proxy_headers=True,
                            forwarded_allow_ips="127.0.0.1", server_header=False)
    server = uvicorn.Server(config)
    if ready is not None:
        shown = f"[{host.strip('[]')}]" if ":" in host else host
        ready(f"http://{shown}:{sock.getsockname()[1]}/")
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
