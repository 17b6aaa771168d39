"""Render a 100,000-event session to Markdown from a SQLite event log: time and peak memory, next to a baseline
measured in the same run on the same log — just reading the session's stored rows — and the same render of a
20,000-event prefix of it, to show what memory grows with (one key hash per event, nothing else).

The log is built as the recorder builds it: the emulator's ``long`` session (a realistic mix: user messages,
model requests with usage, tool calls and results, agent messages, status changes, session.usage), its session
stream and its primary thread's stream, so the renderer has 200,000 stored rows to merge into 100,000 events.
Targets (issue 5): under 5 s, bounded memory. Times are the best of two runs, wall clock and this process's CPU
time (when they differ much, the machine was busy with something else: the load average is reported too).

Memory (issue 15): the HTML transcript of the same session (one timed run), its tracemalloc peak next to the
baseline's and Markdown's; then each as a ``python -m recorder`` subprocess, peak RSS (``wait4``) of
``transcript --format html`` / ``md`` / ``json`` next to ``events`` (which only reads and prints the session
stream's rows: the process's floor). Target: HTML under 150 MB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from recorder.emulator import Emulator
from recorder.events import raw_event
from recorder.render.html import write_html
from recorder.render.markdown import write_markdown
from recorder.replay.meta import load_meta
from recorder.replay.timeline import Until, read_timeline
from recorder.store import EventStore, migrate
from tests.benchmarks.common import report

EVENTS = 100_000
PREFIX = 20_000
BATCH = 5_000
TARGET_SECONDS = 5.0
REPEAT = 2
HTML_TARGET_MB = 150


def build_log(url: str) -> str:
    emu = Emulator(seed=11)
    sid = emu.add_session("long", events=EVENTS)
    with EventStore(url) as store:
        for thread_id in [None, *emu.thread_ids(sid)]:
            batch = []
            for text in emu.ground_truth_json(sid, thread_id):
                batch.append(raw_event(json.loads(text), sid, thread_id))
                if len(batch) == BATCH:
                    store.append(batch)
                    batch = []
            if batch:
                store.append(batch)
        store.record_snapshot(sid, emu.session(sid))
        for thread in emu.threads(sid):
            store.record_snapshot(sid, thread, thread_id=thread["id"])
    return sid


def measure(run: Callable[[], Any], repeat: int = REPEAT) -> dict[str, float]:
    """Wall and CPU seconds (the best of ``repeat`` runs, as timeit does: the others measured the machine's other
    load), then the peak of Python allocations in one more, traced, run."""
    best_wall = best_cpu = float("inf")
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    wall, cpu = best_wall, best_cpu
    tracemalloc.start()
    try:
        run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return {"seconds": round(wall, 3), "cpu_seconds": round(cpu, 3), "peak_mb": round(peak / 1e6, 1)}


# Started from a small launcher, not from this process: a child's peak RSS (ru_maxrss) includes what its parent
# held when it forked, and this one holds a log's worth of rows.
_LAUNCH = ("import os, sys\n"
           "pid = os.posix_spawn(sys.executable, [sys.executable, '-m', 'recorder', *sys.argv[1:]], os.environ)\n"
           "_, status, usage = os.wait4(pid, 0)\n"
           "print(usage.ru_maxrss, file=sys.stderr)\n"
           "sys.exit(os.waitstatus_to_exitcode(status))\n")


def peak_rss(args: list[str]) -> dict[str, float]:
    """Wall seconds and peak RSS (MB) of ``python -m recorder ARGS`` (its stdout discarded)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-S", "-c", _LAUNCH, *args], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"recorder {' '.join(args)} exited {done.returncode}: {done.stderr.strip()}")
    kilobytes = int(done.stderr.strip().splitlines()[-1])
    return {"seconds": round(time.perf_counter() - started, 2), "peak_rss_mb": round(kilobytes / 1024, 1)}


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'log.db'}"
        migrate.upgrade(url)
        started = time.perf_counter()
        sid = build_log(url)
        print(f"built a log of {EVENTS:,} events (x2 streams) in {time.perf_counter() - started:.1f} s")
        out_path = Path(tmp) / "transcript.md"
        with EventStore(url) as store:
            streams = [None, *store.thread_ids(sid)]
            rows = sum(1 for tid in streams for _ in store.stream_events(sid, tid))

            def read_rows() -> None:  # the baseline: every stored row of the session, through the store's API
                for tid in streams:
                    for _ in store.stream_events(sid, tid):
                        pass

            def render(until: Until | None = None) -> Callable[[], None]:
                def run() -> None:
                    meta = load_meta(store, sid)
                    with out_path.open("w", encoding="utf-8") as out:
                        write_markdown(read_timeline(store, sid, until=until, meta=meta), meta, out, until=until)
                return run

            prefix_id = next(e.event_id for n, e in enumerate(read_timeline(store, sid)) if n == PREFIX - 1)
            baseline = measure(read_rows)
            full = measure(render())
            size = out_path.stat().st_size
            prefix = measure(render(Until(event_id=prefix_id)))
            html_path = Path(tmp) / "transcript.html"

            def render_html() -> None:
                meta = load_meta(store, sid)
                with html_path.open("w", encoding="utf-8") as out:
                    write_html(read_timeline(store, sid, meta=meta), meta, out)

            html = measure(render_html, repeat=1)
            html_size = html_path.stat().st_size
        processes = {name: peak_rss([*args, "--db", url]) for name, args in (
            ("events", ["events", sid]), ("transcript_md", ["transcript", sid, "-o", str(out_path)]),
            ("transcript_html", ["transcript", sid, "--format", "html", "-o", str(html_path)]),
            ("transcript_json", ["transcript", sid, "--format", "json", "-o", str(Path(tmp) / "t.json")]))}
    results: dict[str, Any] = {
        "events": EVENTS,
        "stored_rows": rows,
        "baseline_read_rows": baseline,
        "render_markdown": {**full, "output_mb": round(size / 1e6, 1)},
        "render_markdown_prefix": {"events": PREFIX, **prefix},
        "render_html": {**html, "output_mb": round(html_size / 1e6, 1)},
        "processes": processes,
        "html_target_mb": HTML_TARGET_MB,
        "html_within_target": processes["transcript_html"]["peak_rss_mb"] < HTML_TARGET_MB,
        "ratio_to_baseline": round(full["seconds"] / baseline["seconds"], 2),
        "target_seconds": TARGET_SECONDS,
        "within_target": full["seconds"] < TARGET_SECONDS,
        "within_target_cpu": full["cpu_seconds"] < TARGET_SECONDS,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }
    print(f"baseline: read {rows:,} stored rows       {baseline['seconds']:6.2f} s "
          f"(cpu {baseline['cpu_seconds']:.2f})  peak {baseline['peak_mb']:6.1f} MB")
    print(f"render {EVENTS:,} events to Markdown  {full['seconds']:6.2f} s (cpu {full['cpu_seconds']:.2f})  "
          f"peak {full['peak_mb']:6.1f} MB  -> {size / 1e6:.1f} MB of Markdown, "
          f"{results['ratio_to_baseline']}x the baseline; target < {TARGET_SECONDS:g} s: "
          f"{'met' if results['within_target'] else 'MISSED'} (cpu: "
          f"{'met' if results['within_target_cpu'] else 'MISSED'}; load average {results['load_average'][0]} on "
          f"{results['cpus']} cpus)")
    print(f"render the first {PREFIX:,} events      {prefix['seconds']:6.2f} s (cpu {prefix['cpu_seconds']:.2f})  "
          f"peak {prefix['peak_mb']:6.1f} MB")
    per_event = (full["peak_mb"] - prefix["peak_mb"]) * 1e6 / (EVENTS - PREFIX)
    results["peak_bytes_per_extra_event"] = round(per_event)
    print(f"memory grows by {per_event:.0f} bytes per event (the hashes of event keys that keep each event once); "
          "payloads, messages and output are never held")
    print(f"render {EVENTS:,} events to HTML      {html['seconds']:6.2f} s (cpu {html['cpu_seconds']:.2f})  "
          f"peak {html['peak_mb']:6.1f} MB  -> {html_size / 1e6:.1f} MB of HTML (tracemalloc; reading the rows: "
          f"{baseline['peak_mb']:.1f} MB)")
    for name, got in processes.items():
        label = name.replace("transcript_", "transcript --format ")
        print(f"python -m recorder {label:<28}{got['seconds']:6.2f} s  peak RSS {got['peak_rss_mb']:6.1f} MB")
    print(f"HTML peak RSS {processes['transcript_html']['peak_rss_mb']:.1f} MB against the floor of "
          f"{processes['events']['peak_rss_mb']:.1f} MB (events); target < {HTML_TARGET_MB} MB: "
          f"{'met' if results['html_within_target'] else 'MISSED'} (load average {results['load_average'][0]})")
    report("render", results)


if __name__ == "__main__":
    main()
