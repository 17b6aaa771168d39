"""What every report is: typed columns and rows, plus notes for the reader. Rendering: :mod:`.formats`.

A column's ``kind`` decides how a value is shown in a terminal table and how it is written for scripts:

    text     a string                          int      an integer count (1,234,567)
    float    a number                          ratio    a fraction shown as a percentage (87.3%)
    ms       milliseconds (shown 1.23 s)       seconds  seconds (shown 2m 05s)
    money    a decimal amount of ``currency``  time     a UTC timestamp (RFC 3339 with Z for scripts)
    day      a UTC calendar day                json     a JSON document (an object in JSON output)
    bool     true / false
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

KINDS = frozenset({"text", "int", "float", "ratio", "ms", "seconds", "money", "time", "day", "json", "bool"})


@dataclass(frozen=True)
class Column:
    name: str
    kind: str = "text"
    label: str | None = None  # terminal table header (default: the name)
    in_table: bool = True  # shown in the terminal table (scripts always get every column)
    width: int | None = None  # truncate to this many characters in the terminal table (never an id: see never_cut)
    currency_column: str = "currency"  # money: the column naming this amount's currency

    @property
    def never_cut(self) -> bool:
        """Ids are shown whole however narrow the terminal: a cut id cannot be pasted into the next command."""
        return self.name == "id" or self.name.endswith("_id")

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind!r}")

    @property
    def header(self) -> str:
        return self.label or self.name


@dataclass
class Report:
    title: str
    columns: list[Column]
    rows: list[tuple[Any, ...]]
    notes: list[str] = field(default_factory=list)
    total: tuple[Any, ...] | None = None  # a totals row for the terminal table
    generated_at: datetime | None = None
    window: str | None = None  # the time window, when one was given (shown when nothing is in it)

    def records(self) -> list[dict[str, Any]]:
        """Rows as dicts keyed by column name (raw values)."""
        names = [c.name for c in self.columns]
        return [dict(zip(names, row, strict=True)) for row in self.rows]

    def column(self, name: str) -> list[Any]:
        index = [c.name for c in self.columns].index(name)
        return [row[index] for row in self.rows]
