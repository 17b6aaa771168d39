"""The one exception tree of the project.

Everything the library raises on purpose derives from :class:`RecorderError`. The CLI turns any of them into
one line on stderr (the message says what happened and what to do) and an exit status; nothing else escapes
as a traceback.

    RecorderError                  exit 1 unless noted
    ├── ConfigError                bad option, bad database URL, missing setting (exit 2 from the CLI)
    ├── StoreError                 the event log cannot do what was asked
    │   ├── StoreUnavailable       cannot connect / server gone
    │   ├── StoreReadOnly          the database or its directory is read-only
    │   ├── StoreFull              the disk (or the server's disk) is full
    │   ├── SchemaError            the database is not migrated, or is newer than this version
    │   └── NotFound               no such session / thread / event in the log
    ├── IntegrityViolation         the log fails verification (tampered, truncated, reordered), or a bundle does
    ├── OutputError                cannot write an output file or directory (an export, an anchor)
    ├── ApiError                   the Managed Agents API refused or failed beyond retrying
    │   ├── AuthError              the API key is missing or rejected
    │   └── StreamStopped          one stream cannot go on (unstorable event, looping cursor)
    ├── LeaseLost                  another recorder took over a session this one was recording
    ├── DeadlineReached            the wall-clock deadline ran out (exit 3; what was recorded is committed)
    └── Terminated                 stopped by SIGTERM (exit 143 = 128 + 15; what was recorded is committed)
"""

from __future__ import annotations


class RecorderError(Exception):
    """Base of every error this project raises on purpose. ``str(err)`` is one line meant for a person."""

    exit_code = 1


class ConfigError(RecorderError):
    exit_code = 2


class StoreError(RecorderError):
    pass


class StoreUnavailable(StoreError):
    pass


class StoreReadOnly(StoreError):
    pass


class StoreFull(StoreError):
    pass


class SchemaError(StoreError):
    pass


class NotFound(StoreError):
    pass


class IntegrityViolation(RecorderError):
    pass


class OutputError(RecorderError):
    pass


class ApiError(RecorderError):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AuthError(ApiError):
    pass


class LeaseLost(RecorderError):
    pass


class DeadlineReached(RecorderError):
    exit_code = 3


class StreamStopped(ApiError):
    """One stream cannot be recorded further (an event that cannot be stored, a cursor leading back to itself);
    the message names the stream and the event or cursor. The run goes on with the others and exits 1."""


class Terminated(RecorderError):
    """SIGTERM (systemd, Docker, kill) stopped the run, handled like Ctrl-C: what was recorded is committed, the
    leases are released and the audit row says so. Exit 143 (128 + SIGTERM), the status a shell reports for a
    process killed by SIGTERM, so supervisors read it as "stopped by a signal"; distinct from 130 (Ctrl-C)."""

    exit_code = 143
