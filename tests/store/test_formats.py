"""Formats the store writes by hand must equal what SQLAlchemy itself would write."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime
from sqlalchemy.dialects import sqlite

from recorder.store.log import sqlite_datetime


def test_sqlite_datetime_text_matches_sqlalchemy() -> None:
    dialect = sqlite.dialect()
    process = DateTime().dialect_impl(dialect).bind_processor(dialect)
    for value in [datetime(2026, 11, 1, 12, 0, 0), datetime(2026, 3, 2, 9, 28, 55, 369779),
                  datetime(1999, 12, 31, 23, 59, 59, 1), datetime(2026, 1, 1, 0, 0, 0, 999999)]:
        assert sqlite_datetime(value) == process(value)
    assert sqlite_datetime(None) is None
