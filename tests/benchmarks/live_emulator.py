"""The emulator for bench_live, in a process of its own: N live sessions, and a connection cap high enough for
every stream of every session (the emulator command keeps the default cap of 64 open connections).

Usage: python -m tests.benchmarks.live_emulator SESSIONS INTERVAL EVENTS. Prints the base URL, serves until
SIGTERM."""

from __future__ import annotations

import signal
import sys

from recorder.apiserver.runner import serve_until_interrupted
from recorder.emulator import Emulator


def main(sessions: int, interval: float, events: int) -> None:
    emulator = Emulator(seed=7, heartbeat=5.0)
    for _ in range(sessions):
        emulator.add_session("live", interval=interval, events=events)
    server = emulator.server()
    server.max_connections = 100_000
    signal.signal(signal.SIGTERM, lambda *_: server.stopping.set())
    print(f"emulator listening on {server.base_url}", flush=True)
    serve_until_interrupted(server, on_stop=emulator.close)


if __name__ == "__main__":
    main(int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]))
