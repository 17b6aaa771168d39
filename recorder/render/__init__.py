"""Transcripts of recorded sessions. Pure: timeline events (and the session's snapshots) in, text out.

* :mod:`~recorder.render.markdown` — the default transcript, streamed with flat memory.
* :mod:`~recorder.render.plain` — the same for a terminal (ANSI colour when asked).
* :mod:`~recorder.render.structured` — the JSON transcript for programs, streamed with flat memory.
* :mod:`~recorder.render.html` — a self-contained, lazily built session viewer, streamed with flat memory.
* :mod:`~recorder.render.oneline` — one line per event, for ``recorder replay``.

Shared pieces: :mod:`~recorder.render.display` (how recorded text is made safe to show),
:mod:`~recorder.render.blocks` (what each entry says), :mod:`~recorder.render.summary` (the header),
:mod:`~recorder.render.stream` (the Markdown and text skeleton), :mod:`~recorder.render.deferred` (text written in
order where parts of it are known only later: HTML and JSON rows completed by later events).
"""
