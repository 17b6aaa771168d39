"""The DuckDB read model projected from the event log: usage, cost, tool-call and latency reports.

The event log (``recorder.store``) is the source of truth; this package keeps a DuckDB file in step with it, by
global position, and reports from that file. The file can be deleted at any time: the next report rebuilds it.

Modules, one job each (importing this package imports none of them, so the CLI stays quick to start):

    location     where the analytics file lives: --analytics-db, $RECORDER_ANALYTICS_DB, beside a SQLite log,
                 else in the user's cache directory
    duck         opening the DuckDB file (waiting while another process holds it); DuckDB errors -> recorder.errors
    schema       fact tables, the distinct-event index, derived tables and the views reports read
    extract      log rows -> fact rows (pure)
    projection   ``Projection``: ``update`` (tail the log, checkpoint in the same transaction), ``rebuild``,
                 ``state``; honours retention prunes and notices a different log
    parallel     reading and flattening long stretches of the log in worker processes
    queries      the reports: ``usage``, ``tool_calls``, ``tool_stats``, ``latency`` -> ``Report``
    prices       a user-supplied price table, for estimates next to the platform's list cost
    window       --since / --until
    charts, html the self-contained HTML report
    service      what the CLI calls: the read model of a log, brought up to date
    status       where the read model is and how far behind the log (``recorder analytics status``)

Reports are :class:`recorder.output.report.Report` objects, written by :mod:`recorder.output.formats` like every
command's output. This folder installs as ``recorder.analytics`` (pyproject.toml maps it); its modules import
each other relatively, so they read the same under that name and under the checkout's folder name.
"""
