"""Writing a Report: an aligned terminal table for people; CSV, JSON or Parquet for scripts. The one table
renderer of the project (every command's table goes through :func:`render_table`).

Scripts get every column with raw values: integers, decimal numbers (money in major units of ``currency``),
times as RFC 3339 UTC with ``Z``, days as ``YYYY-MM-DD``, JSON columns as JSON (an object in JSON output, text in
CSV), NULL as ``null`` / an empty CSV field. The table shows the columns marked ``in_table``, formatted for the
eye (thousands separators, percentages, durations, currency), with a totals row when the report has one, and the
report's notes below it.
"""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
import sys
from collections.abc import Callable, Collection, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from recorder.errors import ConfigError, OutputError
from recorder.events import dump_json, format_time
from recorder.money import format_money
from recorder.output import files
from recorder.output.report import Column, Report

FORMATS = ("table", "csv", "json", "parquet")
NUMERIC = frozenset({"int", "float", "ratio", "ms", "seconds", "money"})
MISSING = "—"
_DUCK_TYPES = {
    "text": "VARCHAR", "int": "BIGINT", "float": "DOUBLE", "ratio": "DOUBLE", "ms": "DOUBLE", "seconds": "DOUBLE",
    "money": "DECIMAL(38, 6)", "time": "TIMESTAMP", "day": "DATE", "json": "JSON", "bool": "BOOLEAN",
}


# --------------------------------------------------------------------------------------------- for scripts


def script_value(column: Column, value: Any, *, json_objects: bool = True) -> Any:
    """A value as scripts get it (JSON-ready)."""
    if value is None:
        return None
    kind = column.kind
    if kind == "int":
        return int(value)
    if kind == "money":
        return float(round(Decimal(value), 6))
    if kind in ("float", "ratio", "ms", "seconds"):
        number = float(value)
        return None if math.isnan(number) else round(number, 6 if kind in ("ratio", "float") else 3)
    if kind == "time":
        return format_time(value) if isinstance(value, datetime) else str(value)
    if kind == "day":
        return value.isoformat() if isinstance(value, date) else str(value)
    if kind == "json":
        if not json_objects:
            return value
        try:
            return json.loads(value) if isinstance(value, str) else value
        except ValueError:
            return value
    if kind == "bool":
        return bool(value)
    return value if isinstance(value, str) else str(value)


def to_json(report: Report) -> str:
    records = [
        {c.name: script_value(c, v) for c, v in zip(report.columns, row, strict=True)} for row in report.rows
    ]
    return dump_json(records, indent=2) + "\n"


def to_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([c.name for c in report.columns])
    for row in report.rows:
        out = []
        for column, value in zip(report.columns, row, strict=True):
            value = script_value(column, value, json_objects=False)
            out.append("" if value is None else ("true" if value is True else "false" if value is False else value))
        writer.writerow(out)
    return buffer.getvalue()


def to_parquet(report: Report, path: str | Path) -> None:
    """Write ``report`` as a Parquet file (atomically, like every output file)."""
    files.write_via(path, lambda temp: _write_parquet(report, temp))


def _write_parquet(report: Report, path: Path) -> None:
    import duckdb

    con = duckdb.connect()
    try:
        columns = ", ".join(f'"{c.name}" {_DUCK_TYPES[c.kind]}' for c in report.columns)
        con.execute(f"CREATE TABLE report ({columns})")
        if report.rows:
            with con.appender("report") as appender:
                appender.append_rows([_parquet_row(report.columns, row) for row in report.rows])
        con.execute("COPY report TO ? (FORMAT parquet)", [str(path)])
    except duckdb.Error as err:
        raise OutputError(f"cannot write {path}: {str(err).splitlines()[0]}") from None
    finally:
        con.close()


def _parquet_row(columns: list[Column], row: tuple[Any, ...]) -> tuple[Any, ...]:
    out = []
    for column, value in zip(columns, row, strict=True):
        if value is not None and column.kind in ("float", "ratio", "ms", "seconds"):
            value = float(value)
        out.append(value)
    return tuple(out)


# ------------------------------------------------------------------------------------------------ for people


def _money(value: Any, currency: str | None) -> str:
    return format_money(value, currency)


def _duration_ms(ms: float) -> str:
    if ms < 1000:
        return f"{ms:.0f} ms"
    return _duration_s(ms / 1000)


def _duration_s(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def display_value(column: Column, value: Any, currency: str | None = None) -> str:
    if value is None:
        return MISSING
    kind = column.kind
    if kind == "int":
        return f"{int(value):,}"
    if kind == "ratio":
        return f"{float(value) * 100:.1f}%"
    if kind == "ms":
        return _duration_ms(float(value))
    if kind == "seconds":
        return _duration_s(float(value))
    if kind == "float":
        return f"{float(value):,.3f}"
    if kind == "money":
        return _money(value, currency)
    if kind == "time":
        return value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else str(value)
    if kind == "day":
        return value.isoformat() if isinstance(value, date) else str(value)
    if kind == "bool":
        return "yes" if value else "no"
    text = value if isinstance(value, str) else str(value)
    return " ".join(text.split()) if kind == "json" else text.replace("\n", " ")


def row_currency(report: Report, row: tuple[Any, ...], column: Column) -> str | None:
    """The currency of ``column``'s value in ``row`` (money columns name the column holding it)."""
    names = [c.name for c in report.columns]
    if column.kind != "money" or column.currency_column not in names:
        return None
    value = row[names.index(column.currency_column)]
    return value if isinstance(value, str) else None


def _truncate(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def render_table(report: Report, max_width: int | None = None, *, align_right: Collection[str] = ()) -> str:
    """The report as an aligned table (only ``in_table`` columns), a totals row and the notes."""
    shown = [(i, c) for i, c in enumerate(report.columns) if c.in_table]

    def cells(row: tuple[Any, ...]) -> list[str]:
        return [display_value(c, row[i], row_currency(report, row, c)) for i, c in shown]

    body = [cells(row) for row in report.rows]
    total = cells(report.total) if report.total is not None else None
    headers = [c.header for _, c in shown]
    limits = [10_000 if c.never_cut else c.width or 10_000 for _, c in shown]
    widths = [
        min(max([len(h)] + [len(r[j]) for r in body] + ([len(total[j])] if total else [])), max(limits[j], len(h)))
        for j, h in enumerate(headers)
    ]
    if max_width:
        _fit(widths, headers, [c for _, c in shown], max_width)
    align: list[Callable[[str, int], str]] = [
        (lambda s, w: s.rjust(w)) if c.kind in NUMERIC or c.name in align_right else (lambda s, w: s.ljust(w))
        for _, c in shown
    ]

    def line(values: list[str]) -> str:
        return "  ".join(align[j](_truncate(v, widths[j]), widths[j]) for j, v in enumerate(values)).rstrip()

    out = [line(headers), "  ".join("─" * w for w in widths)]
    if not body:
        out = [f"{report.title}: nothing recorded" + (f" from {report.window}" if report.window else "")]
    else:
        out += [line(r) for r in body]
        if total is not None:
            out += ["  ".join("─" * w for w in widths), line(total)]
    out += [f"note: {note}" for note in report.notes]
    return "\n".join(out) + "\n"


def simple_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, numeric: Collection[str] = ()) -> str:
    """Rows of ready-made text as a table (the same renderer as every report; columns named in ``numeric`` are
    right-aligned)."""
    columns = [Column(name, "text") for name in header]
    report = Report("", columns, [tuple(row) for row in rows])
    return render_table(report, align_right=frozenset(numeric))


def json_text(data: Any) -> str:
    """Indented JSON for scripts, one trailing newline."""
    return dump_json(data, indent=2) + "\n"


def _fit(widths: list[int], headers: list[str], columns: list[Column], max_width: int) -> None:
    """Narrow the widest text columns until the table fits ``max_width`` (never below their header or 8)."""
    def total() -> int:
        return sum(widths) + 2 * (len(widths) - 1)

    while total() > max_width:
        candidates = [j for j, c in enumerate(columns) if c.kind in ("text", "json") and not c.never_cut and
                      widths[j] > max(8, len(headers[j]))]
        if not candidates:
            return
        j = max(candidates, key=lambda k: widths[k])
        widths[j] -= min(widths[j] - max(8, len(headers[j])), total() - max_width)


# ---------------------------------------------------------------------------------------------------- write


def write(report: Report, fmt: str, output: str | Path | None = None, *, stream: IO[str] | None = None) -> None:
    """Write ``report`` in ``fmt`` to the file ``output`` (atomically, :mod:`.files`), or to ``stream`` (stdout)
    when there is none or it is ``-``."""
    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if files.is_stdout(output):
        output = None
    stream = stream or sys.stdout
    if fmt == "parquet":
        if output is None:
            raise ConfigError("--format parquet writes a file: add -o FILE")
        to_parquet(report, output)
        return
    if fmt == "table":
        width = None
        if output is None and stream.isatty():
            width = shutil.get_terminal_size((120, 24)).columns
        text = render_table(report, width)
    elif fmt == "csv":
        text = to_csv(report)
    else:
        text = to_json(report)
    if output is None:
        stream.write(text)
        return
    files.write_text(output, text)
