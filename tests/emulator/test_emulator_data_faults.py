"""The data faults of issue 14 (skew, late, hostile, loop_cursor, every): what the API says is wrong, served the
same way on every list page, and documented in recorder/emulator/faults.py."""

from __future__ import annotations

import json

import httpx2
import pytest

from recorder import jsontext
from recorder.emulator import Emulator, Faults
from recorder.emulator.faults import rewrite_event, touched
from recorder.errors import ConfigError


def _texts(server, sid: str, **params: str) -> tuple[list[str], str | None]:  # type: ignore[no-untyped-def]
    """One event list page's items as sent, and its next_page."""
    from recorder.ingest.pages import read_page

    body = httpx2.get(f"{server.base_url}/v1/sessions/{sid}/events", params=params,
                      headers={"x-api-key": "k"}).content
    page, texts = read_page(body)
    return texts or [], page.get("next_page")


def test_specs_round_trip_and_bad_values_are_refused() -> None:
    spec = "skew=-30,late=1.5,hostile,loop_cursor,every=3"
    assert Faults.parse(spec).spec() == spec
    for bad in ("skew", "skew=nan", "late=-1", "hostile=1", "every=0"):
        with pytest.raises(ConfigError):
            Faults.parse(bad)


def test_skew_and_hostile_rewrite_touched_events_alike_on_every_page() -> None:
    emu = Emulator(seed=5)
    sid = emu.add_session("long", events=60)
    faults = Faults.parse("skew=120,hostile,every=4")
    emu.set_faults(sid, faults)
    truth = list(emu.ground_truth_json(sid))
    with emu.serve() as server:
        first, _ = _texts(server, sid, limit="100")
        again, _ = _texts(server, sid, limit="100")
    assert first == again == [rewrite_event(t, faults) for t in truth]
    changed = [t for t in truth if touched(t, 4)]
    assert changed and len(changed) < len(truth)
    for text in (rewrite_event(t, faults) for t in changed):
        obj = jsontext.loads(text)
        assert isinstance(obj, jsontext.PartialObject) and "x_hostile" not in obj, "json refuses it: hostile"
        with pytest.raises((ValueError, RecursionError)):
            json.loads(text)
    emu.close()


def test_loop_cursor_answers_a_page_with_its_own_cursor() -> None:
    emu = Emulator(seed=6)
    sid = emu.add_session("long", events=30)
    emu.set_faults(sid, "loop_cursor")
    with emu.serve() as server:
        _, cursor = _texts(server, sid, limit="5")
        assert cursor
        _, same = _texts(server, sid, limit="5", page=cursor)
        assert same == cursor
    emu.close()
