"""``recorder ui``: the archive in a browser. A read-only Starlette application over the event log and the
analytics read model, rendered on the server (Jinja2) with a little vanilla JavaScript; nothing is loaded from
the network.

* :mod:`~recorder.ui.app` — the routes: pages and their JSON under ``/api/``.
* :mod:`~recorder.ui.security` — the token rule and the security headers (strict Content-Security-Policy).
* :mod:`~recorder.ui.viewer` — the session viewer's data: the HTML transcript's, by windows of events, and the
  thread tree with each agent's own and total figures.
* :mod:`~recorder.ui.reports` — ``/usage``'s reports from the analytics read model.
* :mod:`~recorder.ui.checks` — verification on demand (the log, one session).
* :mod:`~recorder.ui.indexer` — keeps the UI's read model (search index, totals) caught up with the log.
* :mod:`~recorder.ui.safe` — recorded text made safe to show (controls, bidi overrides) and to embed.
* :mod:`~recorder.ui.server` — binding rules and running it under uvicorn.
"""
