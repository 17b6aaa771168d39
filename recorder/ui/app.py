"""The routes of ``recorder ui``. Every page has its data as JSON under ``/api/`` (the CLI's field names); every
route answers GET (and HEAD) only, so nothing here can change the log.

    /                           session list: sort, filter, page, search (?q=)   /api/sessions
    /sessions/{id}              session viewer (?event=ID, ?window=N)            /api/sessions/{id}
                                                                                 /api/sessions/{id}/transcript
                                                                                 /api/sessions/{id}/events?after=P
    /sessions/{id}/files/{fid}  an archived file, as a download
    /usage                      charts and tables of the analytics read model    /api/usage, /api/tools,
                                                                                 /api/latency
    /compliance                 verification (on demand), holds, audit, anchors  /api/compliance

The data behind the pages: :mod:`recorder.store` (``Browser``, ``SearchIndex``), :mod:`.viewer` (the transcript
and the thread tree), :mod:`.reports` (analytics), :mod:`.checks` (verification).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from recorder.errors import ConfigError, NotFound, RecorderError
from recorder.events import format_time
from recorder.render import display, html_assets
from recorder.store import SESSION_SORTS as SORTS
from recorder.store import Browser, EventStore, SessionFilter, event_text
from recorder.ui import reports, safe
from recorder.ui.checks import Checks
from recorder.ui.indexer import Indexer
from recorder.ui.viewer import WINDOW, thread_tree, viewer_page

HERE = Path(__file__).parent
PER_PAGE = 50


@dataclass
class Settings:
    db_url: str
    token: str | None = None
    analytics_db: str | None = None
    anchors: list[str] = field(default_factory=list)
    index_interval: float = 2.0
    rebuild_index: bool = False


def _viewer_css() -> str:
    head = html_assets.PAGE_HEAD
    return head[head.index("<style>") + len("<style>"):head.index("</style>")]


def _time(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)[:16].replace("T", " ") if value else "–"


def _marked(snippet: str) -> list[tuple[str, bool]]:
    """A snippet as (text, matched) pieces (the index marks matches with \\x02 ... \\x03)."""
    parts: list[tuple[str, bool]] = []
    for n, piece in enumerate(snippet.split("\x02")):
        if n == 0:
            parts.append((piece, False))
            continue
        inside, _, after = piece.partition("\x03")
        parts += [(inside, True), (after, False)]
    return [p for p in parts if p[0]]


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             finalize=safe.shown)
    env.filters.update(
        when=_time,
        num=lambda v: "–" if v is None else f"{int(v):,}",
        money=lambda v, c=None: display.money(str(v), c) if v is not None else "–",
        marked=_marked,
        script_json=lambda v: Markup(safe.script_json(v)),
    )
    return env


def _int(value: str | None, default: int, low: int = 0, high: int = 10**9) -> int:
    try:
        return min(max(int(value), low), high) if value is not None else default
    except ValueError:
        return default


class App:
    """The application's state: one EventStore, the read-model indexer, the last verification."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = EventStore(settings.db_url)
        self.browser = Browser(self.store)
        self.indexer = Indexer(self.store, settings.db_url, settings.analytics_db, interval=settings.index_interval)
        self.env = _environment()
        self.viewer_css = _viewer_css()
        self.checks = Checks(self.store, settings.anchors)

    # ---------------------------------------------------------------------------------- plumbing

    def page(self, template: str, request: Request, status: int = 200, **context: Any) -> HTMLResponse:
        params = dict(request.query_params)
        params.pop("token", None)

        def url(**changes: Any) -> str:
            merged = {**params, **{k: v for k, v in changes.items()}}
            query = urlencode({k: v for k, v in merged.items() if v not in (None, "")})
            return request.url.path + ("?" + query if query else "")

        body = self.env.get_template(template).render(
            request=request, url=url, params=params, index_error=self.indexer.error,
            behind=self.indexer.index.behind(), **context)
        return HTMLResponse(body, status_code=status, headers={"cache-control": "no-store"})

    @staticmethod
    def json(data: Any, status: int = 200) -> JSONResponse:
        return JSONResponse(data, status_code=status, headers={"cache-control": "no-store"})

    def _filter(self, request: Request) -> SessionFilter:
        from recorder.analytics.window import parse_point

        q = request.query_params
        since = parse_point(q["since"], "since") if q.get("since") else None
        until = parse_point(q["until"], "until") if q.get("until") else None
        return SessionFilter(status=q.get("status") or None, agent=q.get("agent") or None,
                             model=q.get("model") or None, since=since, until=until)

    # --------------------------------------------------------------------------------- sessions

    def list_data(self, request: Request) -> dict[str, Any]:
        q = request.query_params
        query = (q.get("q") or "").strip()
        flt = self._filter(request)
        sort = q.get("sort") or ("rank" if query else "last_activity")
        descending = (q.get("dir") or ("asc" if sort in ("id", "title", "agent", "model", "status", "rank")
                                       else "desc")) == "desc"
        page = _int(q.get("page"), 1, 1)
        per = _int(q.get("per"), PER_PAGE, 1, 500)
        out: dict[str, Any] = {"query": query or None, "sort": sort, "dir": "desc" if descending else "asc",
                               "page": page, "per": per}
        hits: dict[str, dict[str, Any]] = {}
        if query:
            ranking = self.indexer.index.ranked(query)
            ranked = ranking.sessions
            out["capped"] = ranking.capped
            filtered = flt != SessionFilter()
            if sort == "rank" and not filtered:
                chosen = ranked[(page - 1) * per:page * per]
                rows = self.browser.sessions(SessionFilter(session_ids=[r[0] for r in chosen]), limit=per)
                order = {r[0]: n for n, r in enumerate(chosen)}
                rows.rows.sort(key=lambda r: order[r.session_id])
                rows.total = len(ranked)
            else:
                sort_key = sort if sort in SORTS else "last_activity"
                flt = dataclasses.replace(flt, session_ids=[r[0] for r in ranked])
                rows = self.browser.sessions(flt, sort=sort_key, descending=descending, limit=per,
                                             offset=(page - 1) * per)
            best = {r[0]: r for r in ranked}
            shown = [best[row.session_id] for row in rows.rows if row.session_id in best]
            found = self.indexer.index.snippets(query, [doc for _, _, doc in shown])
            for session_id, n, doc in shown:
                if doc in found:
                    event_id, event_type, snippet = found[doc]
                    hits[session_id] = {"event_id": event_id, "type": event_type, "snippet": snippet,
                                        "matches": n}
        else:
            if sort not in SORTS:
                raise ConfigError(f"unknown sort {sort!r}; one of {', '.join(SORTS)}")
            rows = self.browser.sessions(flt, sort=sort, descending=descending, limit=per, offset=(page - 1) * per)
        out["total"] = rows.total
        out["totals"] = rows.totals if not query else None
        out["sessions"] = [{**row.to_json(), **({"hit": hits[row.session_id]} if row.session_id in hits else {})}
                           for row in rows.rows]
        return out

    def home(self, request: Request) -> Response:
        data = self.list_data(request)
        for row in data["sessions"]:
            if "hit" in row:
                row["hit"]["parts"] = _marked(row["hit"]["snippet"])
        pages = max(1, -(-data["total"] // data["per"]))
        return self.page("sessions.html", request, data=data, facets=self.browser.facets(), pages=pages,
                         sorts=list(SORTS))

    def api_sessions(self, request: Request) -> Response:
        return self.json(self.list_data(request))

    # ---------------------------------------------------------------------------------- session

    def _session(self, request: Request) -> Any:
        session_id = request.path_params["session_id"]
        row = self.browser.session(session_id)
        if row is None:
            raise NotFound(f"session {session_id} is not in the log")
        return row

    def session_data(self, row: Any) -> dict[str, Any]:
        threads = self.browser.threads(row.session_id)
        statuses = []
        changes, count = self.browser.events_of_types(row.session_id, "session.status_")
        for event in changes:
            data = event.data
            stop = data.get("stop_reason")
            statuses.append({"event_id": event.event_id, "type": event.type,
                             "status": event.type.removeprefix("session.status_"),
                             "stop_reason": stop.get("type") if isinstance(stop, dict) else stop,
                             "processed_at": format_time(event.processed_at), "thread_id": event.thread_id})
        return {"session": row.to_json(), "threads": thread_tree([t.to_json() for t in threads]),
                "statuses": statuses, "status_changes": count,
                "files": self.browser.files(row.session_id),
                "verification": self.checks.sessions.get(row.session_id)}

    def session(self, request: Request) -> Response:
        self.indexer.catch_up()
        row = self._session(request)
        q = request.query_params
        if q.get("verify"):
            self.checks.verify_session(row.session_id)
        window = _int(q.get("window"), 1, 1) - 1 if q.get("window") else None
        viewer = viewer_page(self.store, self.browser, row.session_id, row.events, window=window,
                             event_id=q.get("event"))
        info = self.session_data(row)
        live_after = self.browser.last_position(row.session_id)
        return self.page("session.html", request, row=row, info=info, viewer=viewer, live_after=live_after,
                         window_size=WINDOW, viewer_body=Markup(html_assets.PAGE_BODY))

    def api_session(self, request: Request) -> Response:
        return self.json(self.session_data(self._session(request)))

    def api_transcript(self, request: Request) -> Response:
        row = self._session(request)
        q = request.query_params
        window = _int(q.get("window"), 1, 1) - 1 if q.get("window") else None
        viewer = viewer_page(self.store, self.browser, row.session_id, row.events, window=window,
                             event_id=q.get("event"))
        return self.json({"window": viewer.window + 1, "windows": viewer.windows, "first": viewer.first,
                          "total": viewer.total, "transcript": viewer.data})

    def api_events(self, request: Request) -> Response:
        """Events indexed after log position ``after``: what a page being watched has not shown yet."""
        self.indexer.catch_up()
        row = self._session(request)
        after = _int(request.query_params.get("after"), 0)
        events = self.browser.events_after(row.session_id, after)
        out = []
        for event in events:
            data = event.data
            body = event_text(event.type, data) or ""
            out.append({"position": event.position, "event_id": event.event_id, "type": event.type,
                        "thread_id": event.thread_id, "processed_at": format_time(event.processed_at),
                        "text": body[:2000]})
        last = events[-1].position if events else after
        return self.json({"session_id": row.session_id, "after": after, "last": last, "events": out,
                          "status": row.status, "total": row.events})

    def file(self, request: Request) -> Response:
        row = self._session(request)
        found = self.browser.file_content(row.session_id, request.path_params["file_id"])
        if found is None:
            raise NotFound("no such file archived for this session")
        name, content = found
        ascii_name = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in name)
        ascii_name = ascii_name.lstrip(".")[:200] or "file"
        return Response(content, media_type="application/octet-stream",
                        headers={"content-disposition": f'attachment; filename="{ascii_name}"',
                                 "cache-control": "no-store"})

    # ------------------------------------------------------------------------------------ usage

    def usage(self, request: Request) -> Response:
        params = request.query_params
        by = params.get("by") or "day"
        usage = reports.rows(self.indexer, params, "usage")
        tools = reports.rows(self.indexer, params, "tools")
        latency = reports.rows(self.indexer, params, "latency", by if by in ("model", "agent", "day") else "model")
        return self.page("usage.html", request, by=by, usage=usage, tools=tools, latency=latency,
                         groups=reports.GROUPS)

    def api_usage(self, request: Request) -> Response:
        return self.json(reports.rows(self.indexer, request.query_params, "usage"))

    def api_tools(self, request: Request) -> Response:
        return self.json(reports.rows(self.indexer, request.query_params, "tools"))

    def api_latency(self, request: Request) -> Response:
        return self.json(reports.rows(self.indexer, request.query_params, "latency"))

    # ------------------------------------------------------------------------------- compliance

    def compliance_data(self) -> dict[str, Any]:
        return {"verification": self.checks.last, "holds": self.browser.holds(), "audit": self.browser.audit(),
                "anchors": self.checks.anchors()}

    def compliance(self, request: Request) -> Response:
        if request.query_params.get("verify"):
            self.checks.verify_log()
        return self.page("compliance.html", request, data=self.compliance_data())

    def api_compliance(self, request: Request) -> Response:
        if request.query_params.get("verify"):
            self.checks.verify_log()
        return self.json(self.compliance_data())

    # ----------------------------------------------------------------------------------- assets

    def viewer_js(self, request: Request) -> Response:
        return Response(html_assets.SCRIPT, media_type="text/javascript; charset=utf-8",
                        headers={"cache-control": "max-age=300"})

    def viewer_style(self, request: Request) -> Response:
        return Response(self.viewer_css, media_type="text/css; charset=utf-8", headers={"cache-control": "max-age=300"})


def create_app(settings: Settings) -> Starlette:
    """The ASGI application (the token rule and security headers wrap it: :class:`recorder.ui.security.Guard`)."""
    from recorder.ui.security import Guard

    state = App(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if settings.rebuild_index:
            state.indexer.reset()
        state.indexer.start()
        try:
            yield
        finally:
            state.indexer.stop()
            state.store.close()

    def guarded(handler: Any) -> Any:
        def run(request: Request) -> Response:
            try:
                return handler(request)
            except RecorderError as err:
                status = 404 if isinstance(err, NotFound) else 400 if isinstance(err, ConfigError) else 500
                if request.url.path.startswith("/api/"):
                    return App.json({"error": str(err)}, status)
                return state.page("error.html", request, status=status, message=str(err), status_code=status)
        return run

    routes = [
        Route("/", guarded(state.home)),
        Route("/api/sessions", guarded(state.api_sessions)),
        Route("/sessions/{session_id}", guarded(state.session)),
        Route("/sessions/{session_id}/files/{file_id}", guarded(state.file)),
        Route("/api/sessions/{session_id}", guarded(state.api_session)),
        Route("/api/sessions/{session_id}/transcript", guarded(state.api_transcript)),
        Route("/api/sessions/{session_id}/events", guarded(state.api_events)),
        Route("/usage", guarded(state.usage)),
        Route("/api/usage", guarded(state.api_usage)),
        Route("/api/tools", guarded(state.api_tools)),
        Route("/api/latency", guarded(state.api_latency)),
        Route("/compliance", guarded(state.compliance)),
        Route("/api/compliance", guarded(state.api_compliance)),
        Route("/static/viewer.js", state.viewer_js),
        Route("/static/viewer.css", state.viewer_style),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.ui = state
    return Guard(app, settings.token)  # type: ignore[return-value]
