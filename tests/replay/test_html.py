"""The HTML transcript in a real headless Chromium (see ``browser.py``): every message and thread in the DOM, no
network request, lazy rendering that stays bounded on a long session, working anchors and filter."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from recorder.emulator import Emulator
from recorder.events import raw_event
from recorder.render.display import clean
from recorder.render.html import render_html
from recorder.replay.fold import content_text
from recorder.replay.meta import load_meta
from recorder.replay.timeline import read_timeline
from recorder.store import EventStore
from tests.replay.browser import Browser
from tests.replay.conftest import Recorded
from tests.replay.support import session_events, unique_events

LONG = 9_000


class _Text(HTMLParser):
    """The visible text of a document: everything but <script>, <style> and <head> contents."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("script", "style", "head"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(dom: str) -> str:
    parser = _Text()
    parser.feed(dom)
    return "".join(parser.parts)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with Browser() as opened:
        yield opened


def _write(path: Path, recorded: Recorded, scenario: str) -> str:
    sid = recorded.sid(scenario)
    path.write_text(render_html(read_timeline(recorded.store, sid), load_meta(recorded.store, sid)), encoding="utf-8")
    return path.as_uri()


def test_multi_agent_html_renders_every_message_and_thread_without_network(recorded: Recorded, tmp_path: Path,
                                                                            browser: Browser) -> None:
    sid = recorded.sid("multi_agent")
    url = _write(tmp_path / "multi.html", recorded, "multi_agent")
    browser.open(url)
    browser.settle(0.3)
    assert browser.evaluate("document.body.dataset.ready") == "1", browser.errors()
    dom = browser.dom()
    lanes = browser.evaluate("Array.from(document.querySelectorAll('#lanes .lanechip'))"
                             ".map(c => [c.dataset.thread, c.textContent])")
    rendered_lanes = browser.evaluate("Array.from(new Set(Array.from(document.querySelectorAll("
                                      "'#timeline .lanetag')).map(t => t.textContent)))")
    requests, errors = browser.requests(), browser.errors()
    assert errors == []
    assert requests == [url], f"the page asked for more than itself: {requests}"
    shown = visible_text(dom)
    events = list(unique_events(recorded.emu, sid).values())
    said = [clean(content_text(e["content"])) for e in events
            if e["type"] in ("user.message", "agent.message", "agent.thread_message_sent")]
    assert len(said) > 10
    for message in said:
        assert message in shown, f"message missing from the DOM: {message[:60]!r}"
    threads = recorded.emu.threads(sid)
    assert sorted(t for t, _ in lanes) == sorted(t["id"] for t in threads)
    names = {t["agent"]["name"] for t in threads}
    assert names == {"coordinator", "researcher", "reviewer", "scout"}
    assert set(rendered_lanes) == names  # every thread has entries in the timeline itself
    for event in events:  # every event has its anchor somewhere in the page
        if event["id"]:
            assert f'id="ev-{event["id"]}"' in dom, event["type"]


def test_the_observer_does_see_a_page_that_loads_something(tmp_path: Path, browser: Browser) -> None:
    """A control for the test above: a request, had the page made one, would have been seen."""
    page = tmp_path / "leaky.html"
    page.write_text('<!DOCTYPE html><img src="http://127.0.0.1:9/pixel.png"><script>fetch("http://127.0.0.1:9/x")'
                    '.catch(() => {})</script>', encoding="utf-8")
    browser.open(page.as_uri())
    browser.settle(0.3)
    requests = browser.requests()
    assert "http://127.0.0.1:9/pixel.png" in requests and "http://127.0.0.1:9/x" in requests


def test_the_page_loads_nothing_by_construction(recorded: Recorded) -> None:
    sid = recorded.sid("unicode")
    page = render_html(read_timeline(recorded.store, sid), load_meta(recorded.store, sid))
    assert "default-src 'none'" in page
    assert not re.search(r"<(link|img|iframe|object|embed|base)\b", page, re.I)
    assert not re.search(r"\bsrc\s*=", page, re.I)
    data = page.split('<script type="application/json" id="session-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in data and ">" not in data  # recorded "</script>" cannot close the data element
    json.loads(data)


def test_a_long_session_renders_lazily_and_anchors_and_filter_work(tmp_path: Path, sqlite_url: str,
                                                                   browser: Browser) -> None:
    emu = Emulator(seed=3)
    sid = emu.add_session("long", events=LONG)
    truth = emu.ground_truth(sid)
    with EventStore(sqlite_url) as store:  # the session stream is all a single-agent transcript needs
        for start in range(0, LONG, 5000):
            store.append([raw_event(e, sid) for e in truth[start:start + 5000]])
        store.record_snapshot(sid, emu.session(sid))
        page = tmp_path / "long.html"
        page.write_text(render_html(read_timeline(store, sid), load_meta(store, sid)), encoding="utf-8")
    last_result = next(e for e in reversed(truth) if e["type"] == "agent.tool_result")
    seconds = browser.open(page.as_uri())
    browser.settle(0.3)
    assert browser.evaluate("document.body.dataset.ready") == "1", browser.errors()
    nodes = browser.evaluate("document.querySelectorAll('#timeline .entry, #timeline .group').length")
    browser.evaluate(f"location.hash = '#ev-{last_result['id']}'")
    browser.settle(0.3)
    anchored = browser.evaluate(
        f"(() => {{ const e = document.getElementById('ev-{last_result['id']}'); "
        "const d = e && e.closest('details'); return [!!e, !!(d && d.open)]; })()")
    browser.evaluate(f"(() => {{ const f = document.getElementById('filter'); f.value = '{truth[1234]['id']}';"
                     " f.dispatchEvent(new Event('input')); })()")
    browser.settle(0.5)
    matched = browser.evaluate("document.querySelectorAll('#timeline .entry').length")
    count = browser.evaluate("document.getElementById('count').textContent")
    errors = browser.errors()
    assert errors == []
    assert seconds < 10, f"a {LONG:,}-event page took {seconds:.1f} s to load"
    assert 0 < nodes <= 2000 < LONG // 3, f"{nodes} rows built up front: rendering is not lazy"
    assert anchored == [True, True]  # the anchor rendered far enough, and opened the tool card holding the result
    assert matched == 1 and count.startswith("1 matching")


@pytest.mark.parametrize("scenario", ["unknown_types", "custom_tool", "large_results", "self_hosted", "workflows",
                                      "error_catalog"])
def test_other_scenarios_render_without_errors(recorded: Recorded, scenario: str, tmp_path: Path,
                                               browser: Browser) -> None:
    url = _write(tmp_path / f"{scenario}.html", recorded, scenario)
    browser.open(url)
    browser.settle(0.2)
    ready = browser.evaluate("document.body.dataset.ready")
    titles = browser.evaluate("Array.from(document.querySelectorAll('#timeline .title')).map(t => t.textContent)")
    errors = browser.errors()
    assert ready == "1" and errors == []
    sid = recorded.sid(scenario)
    if scenario == "unknown_types":
        assert {"agent.future_widget", "session.future_checkpoint", "agent.tool_use_progress"} <= set(titles)
    elif scenario == "custom_tool":
        assert sum("lookup_order" in t or "issue_refund" in t for t in titles) == 3
    elif scenario == "self_hosted":
        assert "Grader iteration 1: satisfied" in titles and any("refusal category: cyber" in t for t in titles)
        header = browser.evaluate("document.querySelector('table.outcomes').textContent")
        assert "needs_revision" in header and "satisfied" in header
    elif scenario == "workflows":
        assert "Workflow run release created" in titles
        assert any(t.startswith("Thread anthropic.advisor (advisor) created") for t in titles)
    elif scenario == "error_catalog":
        assert sum(t.startswith("Error ") for t in titles) == 15 and titles[-1] == "Session terminated"
    else:
        results = [e for e in session_events(recorded.emu, sid)[None] if e["type"] == "agent.tool_result"]
        assert len(results) == 2 and any(t.startswith("🔧 bash") for t in titles)


def test_a_session_deleted_while_followed_ends_with_its_deletion(deleted: Recorded, tmp_path: Path,
                                                                 browser: Browser) -> None:
    browser.open(_write(tmp_path / "deleted.html", deleted, "deleted"))
    browser.settle(0.2)
    titles = browser.evaluate("Array.from(document.querySelectorAll('#timeline .title')).map(t => t.textContent)")
    assert browser.evaluate("document.body.dataset.ready") == "1" and browser.errors() == []
    assert titles.count("Session deleted") == 1 and titles[-1] == "Session deleted"
