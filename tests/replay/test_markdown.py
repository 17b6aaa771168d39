"""Markdown and text transcripts: every message in order, every tool call by name with its result status, the
exact prefix for ``until``, truncation with a note, and recorded text that cannot break the file or terminal."""

from __future__ import annotations

import re

from recorder.render.display import clean, truncate
from recorder.render.markdown import fence, markdown
from recorder.render.plain import text
from recorder.replay.fold import content_text
from recorder.replay.meta import load_meta
from recorder.replay.timeline import Until, read_timeline
from tests.replay.conftest import Recorded
from tests.replay.support import session_events

USES = ("agent.tool_use", "agent.mcp_tool_use", "agent.custom_tool_use")
RESULTS = {"agent.tool_result": "tool_use_id", "agent.mcp_tool_result": "mcp_tool_use_id",
           "user.custom_tool_result": "custom_tool_use_id", "user.tool_result": "tool_use_id"}


def _md(recorded: Recorded, scenario: str, **kwargs) -> str:
    sid = recorded.sid(scenario)
    until = kwargs.pop("until", None)
    return markdown(read_timeline(recorded.store, sid, until=until), load_meta(recorded.store, sid), until=until,
                    **kwargs)


def _positions(doc: str, needles: list[str]) -> list[int]:
    """Where each needle is found, each search starting after the previous hit (-1: missing)."""
    out, start = [], 0
    for needle in needles:
        at = doc.find(needle, start)
        out.append(at)
        if at >= 0:
            start = at + len(needle)
    return out


def _messages(events: list[dict]) -> list[str]:
    return [clean(content_text(e["content"])) for e in events if e["type"] in ("user.message", "agent.message")]


def test_every_message_of_every_stream_in_order(recorded: Recorded, scenario: str) -> None:
    doc = _md(recorded, scenario)
    streams = session_events(recorded.emu, recorded.sid(scenario))
    for thread_id, events in streams.items():
        messages = _messages(events)
        assert messages or thread_id is not None
        assert -1 not in _positions(doc, messages), f"a message of stream {thread_id} is missing or out of order"


def test_every_tool_call_by_name_with_its_result_status(recorded: Recorded, scenario: str) -> None:
    doc = _md(recorded, scenario)
    events = [e for stream in session_events(recorded.emu, recorded.sid(scenario)).values() for e in stream]
    uses = {e["id"]: e for e in events if e["type"] in USES}
    results = {e["id"]: e for e in events if e["type"] in RESULTS}
    for result in results.values():
        use = uses[result[RESULTS[result["type"]]]]
        name = use["name"] if use["type"] != "agent.mcp_tool_use" else f"{use['mcp_server_name']}/{use['name']}"
        status = "error" if result["is_error"] else "ok"
        assert f"🔧 {clean(name)} · " in doc
        assert f"↳ {clean(name)} result: {status} · " in doc
        assert f"`{result['id']}`" in doc and f"`{use['id']}`" in doc
    assert doc.count("↳ ") == len(results)


def test_header_has_agent_model_timing_tokens_and_cost(recorded: Recorded) -> None:
    sid = recorded.sid("multi_agent")
    doc = _md(recorded, "multi_agent")
    head = doc.split("\n## ", 1)[0]
    assert head.startswith("# Evaluate moving the cache to Redis\n")
    assert f"- **Session:** {sid}" in head
    assert "- **Agent:** coordinator · claude-opus-4-7" in head
    assert "- **Status:** idle" in head
    assert re.search(r"- \*\*Time:\*\* 2026-\d\d-\d\d \d\d:\d\d:\d\d UTC → ", head)
    snapshot = recorded.emu.session(sid)["usage"]
    assert f"{snapshot['input_tokens']:,} input · {snapshot['output_tokens']:,} output" in head
    cents = int(snapshot["list_cost"]["amount"])  # the API's minor units
    assert f"- **List cost:** ${cents // 100}.{cents % 100:02d} (session snapshot)" in head
    for thread in recorded.emu.threads(sid):
        assert f"| `{thread['id']}`" in head


def test_until_shows_exactly_the_prefix(recorded: Recorded, scenario: str) -> None:
    sid = recorded.sid(scenario)
    full = list(read_timeline(recorded.store, sid))
    messages = [e for e in full if e.type in ("user.message", "agent.message")]
    if len(messages) < 2:
        messages = [e for e in full if e.type in USES]
    if len(messages) < 2:
        messages = [e for e in full if e.type == "session.error"]
    cut_at = messages[len(messages) // 2 - 1]  # a message (or tool call) in the middle
    n = full.index(cut_at)
    doc = _md(recorded, scenario, until=Until(event_id=cut_at.event_id))
    state_line = f"- **Events:** {n + 1:,} events, up to event {cut_at.event_id}"
    assert state_line in doc
    before = [e for e in full[: n + 1] if e.type in ("user.message", "agent.message")]
    after = [e for e in full[n + 1:] if e.type in ("user.message", "agent.message")]
    assert -1 not in _positions(doc, [clean(content_text(e.data["content"])) for e in before])
    for event in after:
        body = clean(content_text(event.data["content"]))
        if not any(body in clean(content_text(b.data["content"])) for b in before):
            assert body not in doc
    shown_ids = set(re.findall(r"`(sevt_[0-9A-Za-z]+)`", doc))
    assert shown_ids <= {e.event_id for e in full[: n + 1]} | {e.data.get("session_thread_id") for e in full}


def test_long_results_are_truncated_with_a_note(recorded: Recorded) -> None:
    doc = _md(recorded, "large_results")
    assert len(doc) < 40_000  # 7.5 MB of results are not copied into the transcript
    assert doc.count("*(truncated: showing") == 2
    assert "of 3,000,000 characters" in doc and "of 4,500,000 characters" in doc
    full = _md(recorded, "large_results", max_chars=0)
    assert len(full) > 7_500_000 and "truncated" not in full


def test_recorded_text_cannot_break_the_file_or_the_terminal(recorded: Recorded) -> None:
    doc = _md(recorded, "unicode")
    doc.encode("utf-8")  # a lone surrogate would make this raise
    assert "\x00" not in doc and "\x1b" not in doc and "\\x00" in doc and "\\ud800" in doc
    assert "😀" in doc and "שלום" in doc and "\u2028" in doc  # real text is kept as is
    plain = text(read_timeline(recorded.store, recorded.sid("unicode")), load_meta(recorded.store,
                                                                                   recorded.sid("unicode")))
    assert "\x1b" not in plain and "\u202e" not in plain and "\\u202e" in plain
    coloured = text(read_timeline(recorded.store, recorded.sid("unicode")),
                    load_meta(recorded.store, recorded.sid("unicode")), colour=True)
    assert coloured.count("\x1b[") > 10 and "\x1b[31mred" not in coloured  # our colours only, never the session's


def test_text_transcript_has_the_same_content(recorded: Recorded) -> None:
    sid = recorded.sid("mcp")
    plain = text(read_timeline(recorded.store, sid), load_meta(recorded.store, sid))
    streams = session_events(recorded.emu, sid)
    assert -1 not in _positions(plain, [m.split("\n")[0] for m in _messages(streams[None])])
    assert "↳ sentry/" in plain and "result: error" in plain
    assert "Error mcp_connection_failed_error (retrying)" in plain


def test_fences_survive_backticks_and_truncate_counts() -> None:
    assert fence("a ```` b").startswith("`````\n")
    assert fence("plain", "json") == "```json\nplain\n```\n"
    cut, note = truncate("x" * 50, 10)
    assert cut == "x" * 10 and "10 of 50 characters" in (note or "")
    assert truncate("a\nb\nc", 100, 2) == ("a\nb", "truncated: showing 3 of 5 characters (3 lines); the full text is "
                                                    "in the log")
    assert truncate("short", 100) == ("short", None)


def test_workflow_runs_advisor_errors_deletion_and_collapsed_thinking(recorded: Recorded, deleted: Recorded
                                                                     ) -> None:
    doc = _md(recorded, "workflows")
    assert "Workflow run release created" in doc and "phases: build, test" in doc
    assert "Workflow run release ended: error: program_error" in doc
    assert "Thread anthropic.advisor (advisor) created" in doc and "for workflow run release" in doc
    assert "auto judgement: deny (destructive_filesystem_operation)" in doc
    errors = _md(recorded, "error_catalog")
    assert "repository_url: https://github.com/acme/widgets" in errors and errors.rstrip().endswith(
        "Session terminated")
    assert _md(deleted, "deleted").rstrip().endswith("Session deleted")


def test_thinking_with_text_is_folded() -> None:
    from recorder.render.blocks import Describer
    from recorder.render.markdown import _block
    from recorder.replay.fold import Folder
    from recorder.replay.meta import SessionMeta
    from recorder.replay.timeline import TimelineEvent

    meta = SessionMeta("sesn_t")
    folder = Folder(meta)
    data = {"type": "agent.thinking", "id": "sevt_1", "thinking": "Step *one*"}
    event = TimelineEvent(0, "sevt_1", "sevt_1", "agent.thinking", None, None, "{}", data, (None,))
    entry = folder.feed(event)
    block = Describer(folder.finish()).describe(entry)
    assert block is not None and block.collapsed
    assert "<details><summary>" in _block(block) and "Step *one*" in _block(block)
