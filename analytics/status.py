"""``recorder analytics status``: where the read model is and how far behind the log (for scripts, a dict; for
people, aligned lines). Changes nothing: the file is opened read-only, the log only asked for its head."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from recorder.events import format_time, parse_time
from recorder.output.listings import short_time
from recorder.store import open_read_only, redact

from . import location
from .projection import Projection


def status(db_url: str, analytics_db: str | Path | None, *, read_log: bool = True) -> dict[str, Any]:
    """The JSON ``analytics status --format json`` prints (``read_log``: also the log head and the lag)."""
    path = location.resolve(db_url, analytics_db)
    info: dict[str, Any] = {"path": str(path), "exists": path.exists(), "log": redact(db_url)}
    if path.exists():
        info["bytes"] = path.stat().st_size
        with Projection(path, read_only=True) as projection:
            state = projection.state()
            info.update(position=state.position, log_rows=state.log_rows, source=state.source,
                        updated_at=format_time(state.updated_at), snapshots_at=format_time(state.snapshots_at),
                        tables=projection.table_counts())
    if read_log:
        with open_read_only(db_url) as store:
            info["log_head"] = store.head_position()
        if "position" in info:
            info["behind"] = max(info["log_head"] - info["position"], 0)
    return info


def _shown(stamp: str | None) -> str:
    """An RFC 3339 time from :func:`status` as the table shows times."""
    return short_time(parse_time(stamp) if stamp else None)


def describe(info: dict[str, Any]) -> str:
    """:func:`status` for people."""
    lines = [f"analytics file  {info['path']}" + (f" ({info['bytes'] / 1e6:,.1f} MB)" if "bytes" in info else
                                                   " (not created yet: any report creates it)"),
             f"event log       {info['log']}"]
    if "position" in info:
        behind = info.get("behind")
        lag = "" if behind is None else (" (up to date)" if behind == 0 else f" ({behind:,} behind the log)")
        lines.append(f"projected       {info['log_rows']:,} log events, through position {info['position']:,}{lag}")
        lines.append(f"updated         {_shown(info['updated_at'])} UTC (snapshots {_shown(info['snapshots_at'])})")
        lines.append("tables          " + ", ".join(f"{name} {count:,}" for name, count in info["tables"].items()))
    elif "log_head" in info:
        lines.append(f"log head        position {info['log_head']:,}")
    return "\n".join(lines) + "\n"
