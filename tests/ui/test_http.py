"""The UI over plain HTTP: JSON under /api/, search, sorting and filters, the token rule, security headers,
escaping, and that no route changes the log."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest
from click.testing import CliRunner

from recorder.cli import cli
from recorder.store import EventStore
from tests.helpers import message, raws
from tests.ui.conftest import TOKEN
from tests.ui.support import UNIQUE, Archive, request

ROUTES = ["/", "/api/sessions", "/usage", "/api/usage", "/api/tools", "/api/latency", "/compliance",
          "/api/compliance", "/static/ui.js", "/static/viewer.js"]


def session_routes(sid: str) -> list[str]:
    return [f"/sessions/{sid}", f"/api/sessions/{sid}", f"/api/sessions/{sid}/transcript",
            f"/api/sessions/{sid}/events?after=0"]


def test_list_shows_every_session_with_cli_field_names(ui: str, archive: Archive) -> None:
    data = request(ui + "/api/sessions").json()
    with EventStore(archive.url) as store:
        recorded = {s.session_id: s for s in store.sessions()}
    assert data["total"] == len(recorded)
    assert {row["session_id"] for row in data["sessions"]} == set(recorded)
    for row in data["sessions"]:
        summary = recorded[row["session_id"]]
        assert row["events"] == summary.events
        assert row["threads"] == summary.threads
        assert row["status"] == summary.status
        assert row["title"] == summary.title
    expected = {"session_id", "title", "agent", "model", "status", "archived_at", "deleted_at", "created_at",
                "last_event_at", "events", "threads", "model_requests", "input_tokens", "output_tokens",
                "cache_read_input_tokens", "cache_creation_input_tokens", "tokens", "list_cost", "currency"}
    assert expected <= set(data["sessions"][0])
    hostile = next(r for r in data["sessions"] if r["session_id"] == archive.sessions["hostile"])
    assert hostile["archived_at"] == "2026-03-05T00:00:00Z"


def test_tokens_and_cost_agree_with_the_usage_report(ui: str, archive: Archive, tmp_path: object) -> None:
    rows = {r["session_id"]: r for r in request(ui + "/api/sessions").json()["sessions"]}
    result = CliRunner().invoke(cli, ["usage", "--by", "session", "--format", "json", "--db", archive.url,
                                      "--analytics-db", str(tmp_path) + "/usage.duckdb"])
    assert result.exit_code == 0, result.output
    report = {r["session_id"]: r for r in json.loads(result.stdout)}
    for sid, row in rows.items():
        for field in ("model_requests", "input_tokens", "output_tokens", "cache_read_input_tokens",
                      "cache_creation_input_tokens"):
            assert row[field] == report[sid][field], (sid, field)
    budget = rows[archive.sessions["budget"]]
    assert budget["list_cost"] is not None
    assert float(budget["list_cost"]) == pytest.approx(report[archive.sessions["budget"]]["list_cost"])


def test_search_for_a_word_one_session_holds_lists_that_session_alone(ui: str, archive: Archive) -> None:
    data = request(ui + f"/api/sessions?q={UNIQUE}").json()
    assert [r["session_id"] for r in data["sessions"]] == [archive.sessions["unique"]]
    assert data["total"] == 1
    hit = data["sessions"][0]["hit"]
    assert f"\x02{UNIQUE}\x03" in hit["snippet"]
    page = request(ui + f"/?q={UNIQUE}").text
    assert f"<mark>{UNIQUE}</mark>" in page
    assert page.count("<tr data-session=") == 1
    assert request(ui + "/api/sessions?q=nosuchwordanywhere").json()["sessions"] == []


def test_search_finds_tool_calls_and_matches_word_prefixes(ui: str, archive: Archive) -> None:
    found = {r["session_id"] for r in request(ui + "/api/sessions?q=quetzal").json()["sessions"]}
    assert found == {archive.sessions["unique"]}
    tools = request(ui + "/api/sessions?q=bash").json()["sessions"]
    assert archive.sessions["tool_use"] in {r["session_id"] for r in tools}
    assert any(r["hit"]["type"].endswith("tool_use") or r["hit"]["type"].endswith("tool_result") for r in tools)


def test_search_with_a_filter_keeps_only_matching_sessions(ui: str, archive: Archive) -> None:
    data = request(ui + f"/api/sessions?q={UNIQUE}&agent=solo-agent").json()
    assert [r["session_id"] for r in data["sessions"]] == [archive.sessions["unique"]]
    assert request(ui + f"/api/sessions?q={UNIQUE}&agent=coordinator").json()["sessions"] == []


@pytest.mark.parametrize("sort", ["tokens", "events", "threads", "list_cost", "title", "id", "last_activity"])
def test_sorting_happens_on_the_server(ui: str, sort: str) -> None:
    field = {"id": "session_id", "last_activity": "last_event_at"}.get(sort, sort)
    for direction in ("asc", "desc"):
        rows = request(ui + f"/api/sessions?sort={sort}&dir={direction}").json()["sessions"]
        values = [r[field] for r in rows if r[field] is not None]
        if sort == "list_cost":
            values = [float(v) for v in values]
        assert values == sorted(values, reverse=direction == "desc"), (sort, direction)


def test_paging_and_filters(ui: str, archive: Archive) -> None:
    everything = request(ui + "/api/sessions?sort=id&dir=asc").json()["sessions"]
    first = request(ui + "/api/sessions?sort=id&dir=asc&per=3&page=1").json()
    second = request(ui + "/api/sessions?sort=id&dir=asc&per=3&page=2").json()
    assert [r["session_id"] for r in first["sessions"] + second["sessions"]] == \
        [r["session_id"] for r in everything[:6]]
    assert first["total"] == len(everything)
    solo = request(ui + "/api/sessions?agent=solo-agent").json()["sessions"]
    assert {r["session_id"] for r in solo} == {archive.sessions["unique"], archive.sessions["hostile"]}
    archived = request(ui + "/api/sessions?status=archived").json()["sessions"]
    assert [r["session_id"] for r in archived] == [archive.sessions["hostile"]]
    haiku = request(ui + "/api/sessions?model=claude-haiku-4-5").json()["sessions"]
    assert all(r["model"] == "claude-haiku-4-5" for r in haiku) and haiku
    assert request(ui + "/api/sessions?since=2000-01-01&until=2000-01-02").json()["sessions"] == []
    assert request(ui + "/api/sessions?sort=nonsense").status == 400


def test_session_json_has_thread_tree_statuses_and_files(ui: str, archive: Archive) -> None:
    data = request(ui + f"/api/sessions/{archive.sessions['multi_agent']}").json()
    threads = data["threads"]
    assert len(threads) == data["session"]["threads"] >= 3
    assert threads[0]["depth"] == 0 and threads[0]["parent_thread_id"] is None
    assert any(t["depth"] >= 1 for t in threads)
    root = threads[0]
    assert root["total_tokens"] == sum(t["tokens"] for t in threads)
    assert root["total_tokens"] == data["session"]["tokens"]
    assert data["statuses"] and all(s["type"].startswith("session.status_") for s in data["statuses"])
    files = request(ui + f"/api/sessions/{archive.sessions['tool_use']}").json()["files"]
    assert [f["file_id"] for f in files] == [archive.file_id]


def test_file_downloads_as_an_attachment_never_inline(ui: str, archive: Archive) -> None:
    answer = request(ui + f"/sessions/{archive.sessions['tool_use']}/files/{archive.file_id}")
    assert answer.status == 200
    assert answer.body == archive.file_bytes
    assert answer.headers["content-type"] == "application/octet-stream"
    assert answer.headers["content-disposition"] == 'attachment; filename="_findings.md"'
    assert request(ui + f"/sessions/{archive.sessions['tool_use']}/files/nope").status == 404


def test_unknown_session_is_404(ui: str) -> None:
    assert request(ui + "/sessions/sesn_nope").status == 404
    assert request(ui + "/api/sessions/sesn_nope").json() == {"error": "session sesn_nope is not in the log"}


def test_every_answer_carries_a_strict_csp(ui: str, archive: Archive) -> None:
    for route in [*ROUTES, *session_routes(archive.sessions["multi_agent"]), "/nope"]:
        answer = request(ui + route)
        csp = answer.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp, route
        assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"


def test_pages_load_nothing_from_elsewhere(ui: str, archive: Archive) -> None:
    for route in ["/", "/usage", "/compliance", f"/sessions/{archive.sessions['multi_agent']}"]:
        page = request(ui + route).text
        # Recorded text may hold URLs (a web_fetch's input): what matters is that nothing is loaded from them.
        assert not re.search(r"""(?:src|href|action)\s*=\s*["']?(?:https?:)?//""", page, re.IGNORECASE)
        assert not re.search(r"url\(\s*[\"']?(?:https?:)?//", page)  # nor from stylesheets
        assert "<script>" not in page  # no inline script: the CSP would refuse it
        assert "//" not in "".join(part.split('"')[0] for part in page.split('src="')[1:])


def test_recorded_text_is_escaped_bidi_overrides_included(ui: str, archive: Archive) -> None:
    sid = archive.sessions["hostile"]
    for page in (request(ui + "/").text, request(ui + f"/sessions/{sid}").text):
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "\u202e" not in page and "\u202c" not in page
        assert "\\u202e" in page
    viewer = request(ui + f"/sessions/{sid}").text
    assert "<b>bold</b>" not in viewer
    unicode_page = request(ui + f"/sessions/{archive.sessions['unicode']}").text
    for control in ("\u202a", "\u202b", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\x1b"):
        assert control not in unicode_page


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_no_route_changes_anything(ui: str, archive: Archive, method: str) -> None:
    with EventStore(archive.url) as store:
        head = store.head_position()
        sessions = len(store.sessions())
    for route in [*ROUTES, *session_routes(archive.sessions["multi_agent"]), "/compliance?verify=1"]:
        answer = request(ui + route, method=method, data=b"{}")
        assert answer.status == 405, (method, route, answer.status)
    with EventStore(archive.url) as store:
        assert store.head_position() == head
        assert len(store.sessions()) == sessions


def test_reading_every_page_leaves_the_log_as_it_was(ui: str, archive: Archive) -> None:
    with EventStore(archive.url) as store:
        head, sessions = store.head_position(), store.sessions()
    for route in [*ROUTES, *session_routes(archive.sessions["multi_agent"]), "/compliance?verify=1",
                  f"/sessions/{archive.sessions['budget']}?verify=1"]:
        assert request(ui + route).status == 200, route
    with EventStore(archive.url) as store:
        assert store.head_position() == head and store.sessions() == sessions


def test_compliance_verifies_on_demand(ui: str) -> None:
    data = request(ui + "/api/compliance?verify=1").json()
    assert data["verification"]["ok"] is True
    assert data["holds"] == [] and isinstance(data["audit"], list)
    assert "✓ the log is intact" in request(ui + "/compliance").text


def test_usage_api_has_the_cli_field_names(ui: str) -> None:
    rows = request(ui + "/api/usage?by=model").json()
    assert rows and {"model", "model_requests", "input_tokens", "output_tokens", "list_cost"} <= set(rows[0])
    assert request(ui + "/api/usage?by=day&since=7d").status == 200
    assert request(ui + "/api/usage?by=planet").status == 400
    tools = request(ui + "/api/tools").json()
    assert tools and {"kind", "name", "calls", "errors", "p50_ms"} <= set(tools[0])
    assert request(ui + "/api/latency?by=model").json()[0]["model_requests"] > 0


def test_new_events_reach_a_watched_page(ui: str, archive: Archive) -> None:
    sid = archive.sessions["unique"]
    after = request(ui + f"/api/sessions/{sid}/events?after=0").json()["last"]
    with EventStore(archive.url) as store:
        store.append(raws([message(50, "a late message arrives")], session=sid))
    data = request(ui + f"/api/sessions/{sid}/events?after={after}").json()
    assert [e["text"] for e in data["events"]] == ["a late message arrives"]
    assert request(ui + f"/api/sessions/{sid}/events?after={data['last']}").json()["events"] == []


# ---------------------------------------------------------------------------------------------- the token


def test_with_a_token_every_request_needs_it(guarded_ui: str, archive: Archive) -> None:
    for route in [*ROUTES, f"/sessions/{archive.sessions['multi_agent']}", "/nope"]:
        answer = request(guarded_ui + route)
        assert answer.status == 401, route
        assert "content-security-policy" in answer.headers
        assert request(guarded_ui + route, headers={"Authorization": "Bearer wrong-token-000000000"}).status == 401
    ok = request(guarded_ui + "/api/sessions", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status == 200 and ok.json()["total"] > 0
    assert request(guarded_ui + "/", headers={"Cookie": "recorder_ui_token=wrong"}).status == 401


def test_a_token_in_the_url_becomes_a_cookie(guarded_ui: str) -> None:
    answer = request(guarded_ui + f"/?q={UNIQUE}&token={quote(TOKEN)}")
    assert answer.status == 303
    assert answer.headers["location"] == f"/?q={UNIQUE}"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"recorder_ui_token={TOKEN};") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    after = request(guarded_ui + answer.headers["location"], headers={"Cookie": cookie.split(";")[0]})
    assert after.status == 200 and UNIQUE in after.text
    assert request(guarded_ui + "/?token=wrong-token-000000000").status == 401


def test_beyond_loopback_without_a_token_the_command_refuses(archive: Archive, monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    monkeypatch.delenv("RECORDER_UI_TOKEN", raising=False)
    result = CliRunner().invoke(cli, ["ui", "--host", "0.0.0.0", "--db", archive.url])
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "without a token" in lines[0] and "Traceback" not in result.output
    short = CliRunner().invoke(cli, ["ui", "--host", "0.0.0.0", "--token", "short", "--db", archive.url])
    assert short.exit_code != 0 and len(short.stderr.strip().splitlines()) == 1


def test_an_unmigrated_log_is_one_clear_line(tmp_path: object) -> None:
    result = CliRunner().invoke(cli, ["ui", "--db", f"sqlite:///{tmp_path}/empty.db", "--port", "0"])
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "recorder db upgrade" in lines[0]


def test_a_port_in_use_is_one_clear_line(archive: Archive) -> None:
    from recorder.ui.server import listen

    taken = listen("127.0.0.1", 0)
    try:
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["ui", "--db", archive.url, "--port", str(port)])
    finally:
        taken.close()
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"cannot listen on 127.0.0.1:{port}" in lines[0]
