"""Running the UI: check the binding rule, then serve the app with uvicorn until interrupted."""

from __future__ import annotations

from collections.abc import Callable

from recorder.store import EventStore
from recorder.ui.app import Settings, create_app
from recorder.ui.security import check_binding


def serve(settings: Settings, *, host: str = "127.0.0.1", port: int = 8780,
          ready: Callable[[str], None] | None = None) -> None:
    """Serve ``recorder ui`` on ``host:port`` (refusing a non-loopback host without a token)."""
    import uvicorn

    check_binding(host, settings.token)
    EventStore(settings.db_url).close()  # a clear error now (unreachable, not migrated) rather than per request
    config = uvicorn.Config(create_app(settings), host=host, port=port, log_level="warning", access_log=False,
                            proxy_headers=True, forwarded_allow_ips="127.0.0.1", server_header=False)
    server = uvicorn.Server(config)
    if ready is not None:
        shown = f"[{host}]" if ":" in host else host
        ready(f"http://{shown}:{port}/")
    server.run()
