"""``record --all --follow --workers N``: the service spread over N worker processes on one host.

One Python process is one core (the GIL); hundreds of live sessions need more. With ``--workers N`` the command
becomes a supervisor that starts N copies of itself (``--shard I/N``, in sessions of their own so that a terminal's
Ctrl-C reaches only the supervisor) and:

- **partition**: worker ``I`` records the sessions whose stable hash (CRC-32 of the id) is ``I`` modulo ``N``
  (:func:`in_shard`); every worker sweeps ``sessions.list`` and queues only its own. Leases are still taken for
  every session, so several such hosts, or a plain ``record`` of the same session, never record it twice at once.
  Each worker gets ``1/N`` of ``--max-rpm`` and of ``--concurrency`` (at least 1), so the whole stays within them;
- **stop**: Ctrl-C and SIGTERM are passed to every worker once; each commits what it handed to the store, releases
  its leases and exits. A worker that fails stops the others (a service silently missing a shard is worse);
- **report**: the workers' session lines are passed through as they come; their run lines are combined into one
  (sums, every run id, the worst outcome), and the exit status is the worst of theirs (error 1, deadline 3,
  SIGTERM 143, Ctrl-C 130, done 0).

``--listen`` (webhooks) goes with one process only: a webhook port cannot be shared; the list sweep finds every
change (lower ``--sweep-interval`` if need be).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

OUTCOME_ORDER = ("ok", "interrupted", "deadline", "error")  # the worst wins
EXIT_ORDER = (0, 130, 143, 3, 1)  # the worst wins (anything else counts as 1)


def in_shard(session_id: str, index: int, count: int) -> bool:
    """Whether worker ``index`` of ``count`` records this session (stable across processes and runs)."""
    return count <= 1 or zlib.crc32(session_id.encode("utf-8")) % count == index


def parse_shard(value: str) -> tuple[int, int]:
    """``I/N`` as (I, N); ValueError unless 0 <= I < N."""
    index_text, _, count_text = value.partition("/")
    index, count = int(index_text), int(count_text)
    if not 0 <= index < count:
        raise ValueError(f"shard {value!r}: need I/N with 0 <= I < N")
    return index, count


def share(total: int, count: int) -> int:
    """One worker's share of a limit over all of them (at least 1)."""
    return max(1, -(-total // count))


@dataclass
class Summary:
    """The workers' run lines, combined."""

    run_ids: list[int | None] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)
    sessions: int = 0
    events_added: int = 0
    unchanged: int = 0
    deleted: int = 0

    def add(self, run: dict[str, Any]) -> None:
        self.run_ids.append(run.get("run_id"))
        self.outcomes.append(str(run.get("outcome")))
        for name in ("sessions", "events_added", "unchanged", "deleted"):
            setattr(self, name, getattr(self, name) + int(run.get(name) or 0))

    @property
    def outcome(self) -> str:
        known = [o for o in self.outcomes if o in OUTCOME_ORDER]
        if len(known) < len(self.outcomes) or not self.outcomes:
            return "error"
        return max(known, key=OUTCOME_ORDER.index)

    def as_dict(self, workers: int) -> dict[str, Any]:
        return {"type": "run", "run_id": None, "run_ids": self.run_ids, "workers": workers, "outcome": self.outcome,
                "sessions": self.sessions, "events_added": self.events_added, "unchanged": self.unchanged,
                "deleted": self.deleted}


def worst_exit(codes: Sequence[int]) -> int:
    return max((c if c in EXIT_ORDER else 1 for c in codes), key=EXIT_ORDER.index, default=0)


class Supervisor:
    """Runs the worker processes of one ``record --all --follow --workers N`` (see the module docstring)."""

    def __init__(self, argv: Sequence[str], count: int, *, on_session: Callable[[dict[str, Any]], None],
                 env: dict[str, str] | None = None) -> None:
        self.argv = list(argv)  # the record command's arguments, without --workers (each worker adds --shard)
        self.count = count
        self.on_session = on_session
        self.env = env
        self.summary = Summary()
        self.processes: list[subprocess.Popen[str]] = []
        self._lock = threading.Lock()
        self._signalled: set[int] = set()

    def _start(self) -> None:
        for index in range(self.count):
            command = [sys.executable, "-m", "recorder", "record", *self.argv, "--shard", f"{index}/{self.count}",
                       "--json"]
            self.processes.append(subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=None, text=True, env=self.env, start_new_session=True,
            ))

    def _read(self, stdout: IO[str]) -> None:
        for line in stdout:
            try:
                item = json.loads(line)
            except ValueError:
                item = None
            with self._lock:
                if isinstance(item, dict) and item.get("type") == "run":
                    self.summary.add(item)
                elif isinstance(item, dict):
                    self.on_session(item)

    def signal_all(self, signum: int) -> None:
        """Pass a signal to every worker still running (once per signal)."""
        if signum in self._signalled:
            return
        self._signalled.add(signum)
        for process in self.processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signum)

    def run(self) -> int:
        """Start the workers, wait for all of them; returns the exit status of the whole."""
        previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
        for signum in previous:
            signal.signal(signum, lambda received, _frame: self.signal_all(received))
        readers: list[threading.Thread] = []
        try:
            self._start()
            for process in self.processes:
                assert process.stdout is not None
                reader = threading.Thread(target=self._read, args=(process.stdout,), daemon=True)
                reader.start()
                readers.append(reader)
            codes = self._wait()
            for reader in readers:
                reader.join()
            return worst_exit(codes)
        finally:
            for process in self.processes:  # a defect in the supervisor must not leave workers behind
                if process.poll() is None:
                    process.terminate()
                    process.wait()
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _wait(self) -> list[int]:
        """Wait for every worker; the first to fail (exit 1 or 2) stops the others with SIGTERM."""
        pending = set(range(len(self.processes)))
        codes = [0] * len(self.processes)
        while pending:
            for index in sorted(pending):
                try:
                    code = self.processes[index].wait(timeout=0.2)
                except subprocess.TimeoutExpired:
                    continue
                codes[index] = code
                pending.discard(index)
                if code in (1, 2) or code < 0:
                    self.signal_all(signal.SIGTERM)
        return codes
