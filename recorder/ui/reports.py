"""The reports behind ``/usage``: the analytics read model's usage, tool statistics and latency, as the rows of
``recorder usage|tools --stats|latency --format json`` (same field names)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from recorder.errors import ConfigError
from recorder.ui.indexer import Indexer

GROUPS = ("day", "agent", "model", "session", "thread")
KINDS = ("usage", "tools", "latency")


def rows(indexer: Indexer, params: Mapping[str, str], kind: str, by: str | None = None) -> list[dict[str, Any]]:
    """One report's rows: ``kind`` usage (grouped ``by`` or ``params["by"]``), tools or latency; windowed by
    ``params["since"]`` / ``params["until"]``."""
    from recorder.analytics import queries
    from recorder.analytics.window import window
    from recorder.output import formats as output

    by = by or params.get("by") or ("day" if kind == "usage" else "model")
    if by not in GROUPS:
        raise ConfigError(f"unknown group {by!r}; one of {', '.join(GROUPS)}")
    win = window(params.get("since") or None, params.get("until") or None)
    with indexer.analytics() as projection:
        if kind == "usage":
            report = queries.usage(projection, by, win)
        elif kind == "latency":
            report = queries.latency(projection, by, win)
        else:
            report = queries.tool_stats(projection, window=win)
    return json.loads(output.to_json(report))
