"""The record command's garbage-collector settings (recorder/heap.py): what the imports built is frozen and the
young threshold raised while the run goes, and both are undone at its end, however it ends."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from recorder import heap
from recorder.cli import cli
from recorder.emulator import Emulator
from recorder.store import EventStore
from tests.recorder.support import API_KEY, assert_exact


def test_the_settings_hold_inside_and_are_undone_after_even_on_error() -> None:
    before = gc.get_threshold()
    frozen_before = gc.get_freeze_count()
    with pytest.raises(RuntimeError), heap.tuned_for_recording():
        assert gc.get_threshold() == (heap.YOUNG_THRESHOLD, *heap.OLDER_THRESHOLDS)
        assert gc.get_freeze_count() > frozen_before  # this test's own objects, at least
        raise RuntimeError("the run failed")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen_before


def test_the_record_command_records_with_the_settings(store: EventStore, backend_url: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[int, int, int]] = []
    real = heap.tuned_for_recording

    @contextlib.contextmanager
    def spy() -> Iterator[None]:
        with real():
            seen.append(gc.get_threshold())
            yield

    monkeypatch.setattr(heap, "tuned_for_recording", spy)
    emu = Emulator(seed=84)
    sid = emu.add_session("tool_use")
    with emu.serve() as server:
        env = {"ANTHROPIC_API_KEY": API_KEY, "ANTHROPIC_BASE_URL": server.base_url, "RECORDER_DB": backend_url}
        result = CliRunner().invoke(cli, ["record", sid, "--no-json"], env=env)
    assert result.exit_code == 0, result.output
    assert seen == [(heap.YOUNG_THRESHOLD, *heap.OLDER_THRESHOLDS)]
    assert gc.get_threshold() != seen[0] and gc.get_freeze_count() == 0
    assert_exact(store, emu, [sid])
    emu.close()
