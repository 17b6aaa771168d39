from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from recorder.store import EventStore, SearchIndex, migrate
from recorder.ui.app import Settings
from tests.ui.support import Archive, build_archive, serving

TOKEN = "t0ken-for-the-ui-tests-0123456789"


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    path = tmp_path_factory.mktemp("ui") / "log.db"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    built = build_archive(url)
    with EventStore(url) as store:
        SearchIndex(store).catch_up()
    return built


@pytest.fixture(scope="module")
def ui(archive: Archive, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    analytics = tmp_path_factory.mktemp("analytics") / "a.duckdb"
    with serving(Settings(db_url=archive.url, analytics_db=str(analytics), index_interval=0.5)) as base:
        yield base


@pytest.fixture(scope="module")
def guarded_ui(archive: Archive, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    analytics = tmp_path_factory.mktemp("analytics") / "a.duckdb"
    with serving(Settings(db_url=archive.url, token=TOKEN, analytics_db=str(analytics))) as base:
        yield base


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where a browser test saves its screenshots (pytest's tmp dir for the test; not committed)."""
    out = tmp_path / "screenshots"
    out.mkdir()
    return out
