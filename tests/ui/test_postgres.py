"""The UI over a PostgreSQL log: the same pages and answers as on SQLite (tsvector search, JSON snapshots)."""

from __future__ import annotations

from pathlib import Path

import pytest

from recorder.store import EventStore, SearchIndex, migrate
from recorder.ui.app import Settings
from tests.ui.support import UNIQUE, build_archive, request, serving

pytestmark = pytest.mark.postgres


def test_the_ui_on_postgresql(fresh_pg_url: str, tmp_path: Path) -> None:
    migrate.upgrade(fresh_pg_url)
    archive = build_archive(fresh_pg_url)
    with EventStore(fresh_pg_url) as store:
        SearchIndex(store).catch_up()
        head = store.head_position()
    with serving(Settings(db_url=fresh_pg_url, analytics_db=str(tmp_path / "a.duckdb"))) as base:
        listed = request(base + "/api/sessions?sort=list_cost&dir=desc").json()
        assert listed["total"] == len(archive.sessions)
        found = request(base + f"/api/sessions?q={UNIQUE}").json()["sessions"]
        assert [s["session_id"] for s in found] == [archive.sessions["unique"]]
        assert f"\x02{UNIQUE}\x03" in found[0]["hit"]["snippet"]
        archived = request(base + "/api/sessions?status=archived").json()["sessions"]
        assert [s["session_id"] for s in archived] == [archive.sessions["hostile"]]
        sid = archive.sessions["multi_agent"]
        assert len(request(base + f"/api/sessions/{sid}").json()["threads"]) >= 3
        for route in ("/", f"/?q={UNIQUE}", f"/sessions/{sid}", "/usage", "/compliance?verify=1"):
            assert request(base + route).status == 200, route
        assert request(base + "/api/sessions", method="DELETE").status == 405
    with EventStore(fresh_pg_url) as store:
        assert store.head_position() == head
