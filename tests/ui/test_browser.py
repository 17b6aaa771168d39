"""The UI in a real browser: Playwright driving Debian's Chromium (``executable_path``; Playwright's own browser
downloads are not reachable). Clicks through the list, sorting, search, a multi-agent session's threads and the
usage charts, with screenshots in the test's tmp dir. No request may leave the server, no script may fail."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.replay.browser import require_chromium
from tests.ui.support import UNIQUE, Archive

playwright = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = require_chromium()
    with playwright.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=executable, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield launched
        finally:
            launched.close()


class Watched:
    """A page whose requests and errors are recorded."""

    def __init__(self, browser: Any, base: str) -> None:
        self.page = browser.new_page(viewport={"width": 1360, "height": 900})
        self.base = base
        self.errors: list[str] = []
        self.foreign: list[str] = []
        self.page.on("pageerror", lambda err: self.errors.append(str(err)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("request", lambda r: None if r.url.startswith(base) or r.url.startswith("data:")
                     else self.foreign.append(r.url))

    def check(self) -> None:
        assert self.errors == [] and self.foreign == []


@pytest.fixture
def watched(browser: Any, ui: str) -> Iterator[Watched]:
    page = Watched(browser, ui)
    try:
        yield page
    finally:
        page.page.close()


def _column(page: Any, index: int) -> list[str]:
    return page.locator(f"#sessions tbody tr td:nth-child({index})").all_inner_texts()


def _number(text: str) -> float:
    cleaned = text.replace(",", "").replace("$", "").replace("USD", "").strip()
    return float(cleaned) if cleaned not in ("", "–") else -1.0


def test_list_sorting_and_search(watched: Watched, archive: Archive, screenshots: Path) -> None:
    page = watched.page
    page.goto(watched.base + "/")
    rows = page.locator("#sessions tbody tr[data-session]")
    assert rows.count() == len(archive.sessions)
    page.screenshot(path=str(screenshots / "list.png"), full_page=True)

    page.click("#sessions th[data-sort=tokens] a")
    page.wait_for_selector("#sessions th[data-sort=tokens].sorted.desc")
    tokens = [_number(t) for t in _column(page, 10)]
    assert tokens == sorted(tokens, reverse=True) and tokens[0] > 0
    page.click("#sessions th[data-sort=tokens] a")
    page.wait_for_selector("#sessions th[data-sort=tokens].sorted.asc")
    assert [_number(t) for t in _column(page, 10)] == sorted(tokens)
    page.click("#sessions th[data-sort=title] a")
    page.wait_for_selector("#sessions th[data-sort=title].sorted.asc")
    titles = [t.splitlines()[0] for t in _column(page, 2)]
    assert titles == sorted(titles, key=str)
    page.screenshot(path=str(screenshots / "sorted.png"), full_page=True)

    page.fill("#q", UNIQUE)
    page.press("#q", "Enter")
    page.wait_for_url(f"**/?q={UNIQUE}")
    assert rows.count() == 1
    assert rows.first.get_attribute("data-session") == archive.sessions["unique"]
    assert page.locator("#sessions mark").first.inner_text() == UNIQUE
    page.screenshot(path=str(screenshots / "search.png"), full_page=True)

    page.click("#sessions .hit a")  # the snippet opens the session at the matching event
    page.wait_for_selector("body[data-ready='1']", state="attached")
    assert "?event=" in page.url and "#ev-" in page.url
    assert UNIQUE in page.locator(".flash, #timeline").first.inner_text()
    watched.check()


def test_filters_narrow_the_list(watched: Watched, archive: Archive) -> None:
    page = watched.page
    page.goto(watched.base + "/")
    page.select_option("select[name=agent]", "solo-agent")
    page.wait_for_url("**agent=solo-agent**")
    sessions = {r.get_attribute("data-session") for r in page.locator("#sessions tbody tr[data-session]").all()}
    assert sessions == {archive.sessions["unique"], archive.sessions["hostile"]}
    page.select_option("select[name=status]", "archived")
    page.wait_for_url("**status=archived**")
    assert page.locator("#sessions tbody tr[data-session]").count() == 1
    assert page.locator("#sessions .tag.archived").count() == 1
    watched.check()


def test_multi_agent_session_threads(watched: Watched, archive: Archive, screenshots: Path) -> None:
    page = watched.page
    page.goto(watched.base + "/")
    page.click(f"#sessions tr[data-session='{archive.sessions['multi_agent']}'] td.title a")
    page.wait_for_selector("body[data-ready='1']", state="attached")
    tree = page.locator("table.tree tbody tr[data-thread]")
    chips = page.locator(".lanechip")
    threads = tree.count()
    assert threads >= 3 and chips.count() == threads
    page.screenshot(path=str(screenshots / "session.png"), full_page=False)

    # every message of the session is on the page (the viewer builds rows as it scrolls: open them all)
    page.click("#expand")
    total = int(page.locator("#event-count").inner_text().replace(",", ""))
    assert total > 0
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_timeout(300)

    # into a sub-agent: only its lane stays shown; and back
    child = tree.nth(1).get_attribute("data-thread")
    tree.nth(1).locator("a.thread-link").click()
    off = page.locator(".lanechip.off")
    assert off.count() == threads - 1
    assert page.locator(f".lanechip[data-thread='{child}']").get_attribute("class") == "lanechip"
    page.screenshot(path=str(screenshots / "sub-agent.png"), full_page=False)
    tree.nth(1).locator("a.thread-link").click()
    assert page.locator(".lanechip.off").count() == 0

    # own and total figures: the root's total is every thread's own tokens added up
    own = [_number(t) for t in page.locator("table.tree tbody tr td:nth-child(6)").all_inner_texts()]
    root_total = _number(page.locator("table.tree tbody tr td:nth-child(8)").first.inner_text())
    assert root_total == sum(own)
    watched.check()


def test_session_page_shows_every_message(watched: Watched, archive: Archive) -> None:
    from recorder.replay.fold import content_text
    from recorder.store import EventStore

    sid = archive.sessions["multi_agent"]
    with EventStore(archive.url) as store:
        texts = {content_text(e.data.get("content")) for e in store.session_events(sid)
                 if e.type in ("user.message", "agent.message")}
    threads = {e for e in texts if e}
    assert len(threads) >= 3
    page = watched.page
    page.goto(watched.base + f"/sessions/{sid}")
    page.wait_for_selector("body[data-ready='1']", state="attached")
    for _ in range(20):  # scroll until every row is built
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        page.wait_for_timeout(50)
    shown = page.locator("#timeline").inner_text()
    for text in threads:
        assert text.strip().splitlines()[0][:40] in shown
    watched.check()


def test_usage_charts_are_interactive(watched: Watched, screenshots: Path) -> None:
    page = watched.page
    page.goto(watched.base + "/usage")
    page.wait_for_selector("body[data-chart='1']", state="attached")
    bars = page.locator("#chart rect.bar")
    assert bars.count() >= 1
    assert page.locator("#chart-title").inner_text() == "Tokens by day"
    page.screenshot(path=str(screenshots / "usage-day.png"), full_page=True)
    page.select_option("#metric", "model_requests")
    assert page.locator("#chart-title").inner_text() == "Model requests by day"
    page.select_option("#by", "model")
    page.wait_for_url("**by=model**")
    page.wait_for_selector("body[data-chart='1']", state="attached")
    labels = {b.get_attribute("data-label") for b in page.locator("#chart rect.bar").all()}
    assert labels and all(label and label.startswith("claude-") for label in labels)
    page.select_option("#by", "agent")
    page.wait_for_url("**by=agent**")
    assert page.locator("#chart rect.bar").count() >= 1
    assert page.locator("#tools-table tbody tr").count() >= 1
    page.screenshot(path=str(screenshots / "usage-agent.png"), full_page=True)
    watched.check()


def test_compliance_page_verifies(watched: Watched, screenshots: Path) -> None:
    page = watched.page
    page.goto(watched.base + "/compliance")
    page.click("#verify-now")
    page.wait_for_selector(".verdict.ok")
    page.screenshot(path=str(screenshots / "compliance.png"), full_page=True)
    watched.check()


def test_new_events_appear_without_a_reload(watched: Watched, archive: Archive, screenshots: Path) -> None:
    from recorder.store import EventStore
    from tests.helpers import message, raws

    sid = archive.sessions["unique"]
    page = watched.page
    page.goto(watched.base + f"/sessions/{sid}")
    page.wait_for_selector("body[data-ready='1']", state="attached")
    page.evaluate("document.body.dataset.marker = 'same page'")
    with EventStore(archive.url) as store:
        store.append(raws([message(90, "a message recorded while you watch")], session=sid))
    page.wait_for_selector("#live-events li", timeout=15_000)
    assert "a message recorded while you watch" in page.locator("#live-events").inner_text()
    assert page.evaluate("document.body.dataset.marker") == "same page"  # no reload happened
    page.screenshot(path=str(screenshots / "live.png"), full_page=True)
    watched.check()
