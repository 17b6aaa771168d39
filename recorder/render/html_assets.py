"""The static parts of the HTML transcript: the page skeleton, its stylesheet and its script (see ``html.py``).

Kept as Python strings so the package needs no data files. The script reads ``#session-data`` and builds the
timeline lazily; it only ever puts recorded text into the DOM with ``textContent``.
"""

PAGE_HEAD = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy"
      content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="referrer" content="no-referrer">
<meta name="generator" content="recorder transcript">
<title>{title}</title>
<style>
:root { --bg: #fbfbfc; --fg: #1d2129; --muted: #6b7280; --line: #e3e5ea; --card: #fff; --ok: #2b8a3e;
        --err: #c92a2a; --warn: #e67700; --code: #f4f5f7; --hl: #fff3bf; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #15171b; --fg: #e6e8eb; --muted: #9aa1ad; --line: #2c3038; --card: #1c1f25; --code: #22262d;
          --hl: #4a3f10; }
}
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg);
       color: var(--fg); }
header.top { padding: 16px 20px 8px; border-bottom: 1px solid var(--line); }
h1 { font-size: 20px; margin: 0 0 8px; overflow-wrap: anywhere; }
table.facts { border-collapse: collapse; font-size: 13px; }
table.facts th { text-align: left; color: var(--muted); font-weight: 500; padding: 1px 12px 1px 0; vertical-align: top;
                 white-space: nowrap; }
table.facts td { padding: 1px 0; overflow-wrap: anywhere; }
table.threads { border-collapse: collapse; font-size: 12px; margin-top: 10px; }
table.threads th, table.threads td { text-align: left; padding: 2px 10px 2px 0; border-bottom: 1px solid var(--line); }
table.threads th { color: var(--muted); font-weight: 500; }
table.threads .num { text-align: right; }
.bar { position: sticky; top: 0; z-index: 2; background: var(--bg); border-bottom: 1px solid var(--line);
       padding: 8px 20px; display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; }
.bar input[type=search] { flex: 1 1 260px; max-width: 480px; padding: 5px 8px; border: 1px solid var(--line);
       border-radius: 6px; background: var(--card); color: var(--fg); font: inherit; }
.bar button { font: inherit; padding: 4px 10px; border: 1px solid var(--line); border-radius: 6px;
       background: var(--card); color: var(--fg); cursor: pointer; }
#count { color: var(--muted); font-size: 12px; }
#lanes { display: flex; flex-wrap: wrap; gap: 6px; padding: 8px 20px; border-bottom: 1px solid var(--line); }
.lanechip { display: inline-flex; align-items: center; gap: 6px; border: 1px solid var(--line); border-left: 5px solid
       var(--c); border-radius: 6px; padding: 3px 8px; background: var(--card); font-size: 12px; cursor: pointer; }
.lanechip.off { opacity: .45; }
.lanechip small { color: var(--muted); }
main { padding: 10px 20px 80px; }
#timeline { position: relative; }
#timeline > * { margin-left: calc(var(--depth) * 22px); }
#timeline.columns > * { margin-left: calc(var(--lane) * 100% / var(--lanes)); width: calc(100% / var(--lanes)); }
.entry, .group { border-left: 4px solid var(--c); background: var(--card); border-radius: 6px; margin: 6px 0;
       padding: 6px 10px; box-shadow: 0 0 0 1px var(--line); min-width: 0; }
.group { padding: 0; }
.group > .ghead { padding: 6px 10px; font-size: 12px; color: var(--muted); border-bottom: 1px dashed var(--line); }
.group > .gbody { padding: 2px 8px 4px; }
.group .entry { box-shadow: none; border-left-width: 2px; margin: 4px 0; padding: 4px 8px; }
.meta { display: flex; flex-wrap: wrap; gap: 4px 8px; align-items: baseline; font-size: 12px; color: var(--muted); }
.meta .title { color: var(--fg); font-weight: 600; font-size: 13px; overflow-wrap: anywhere; }
.perma { color: var(--muted); text-decoration: none; }
.perma:hover { color: var(--fg); }
.lanetag { color: var(--c); font-weight: 600; }
.detail { overflow-wrap: anywhere; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; margin-top: 4px; }
pre { background: var(--code); padding: 6px 8px; border-radius: 4px; margin: 4px 0; white-space: pre-wrap;
      overflow-wrap: anywhere; max-height: 420px; overflow: auto; font: 12px/1.4 ui-monospace, SFMono-Regular,
      Menlo, Consolas, monospace; }
.note { font-size: 12px; color: var(--muted); font-style: italic; }
.inline .title { font-weight: 400; }
.s-user .title { color: #1864ab; } .s-agent .title { color: var(--ok); }
.s-error > .meta .title, .s-error > summary .title { color: var(--err); }
.s-muted .title { color: var(--muted); }
.s-unknown .title { color: #9c36b5; }
details.tool > summary { cursor: pointer; list-style: none; }
details.tool > summary::-webkit-details-marker { display: none; }
details.tool > summary > .meta { display: inline-flex; }
details.tool > summary::before { content: "▸ "; color: var(--muted); }
details.tool[open] > summary::before { content: "▾ "; }
.badge { font-size: 11px; padding: 0 6px; border-radius: 8px; border: 1px solid currentColor; }
.st-ok { color: var(--ok); } .st-error, .st-denied { color: var(--err); } .st-pending { color: var(--warn); }
.part { margin-top: 6px; font-size: 12px; color: var(--muted); }
.flash { animation: flash 2s ease-out; }
@keyframes flash { from { background: var(--hl); } to { background: var(--card); } }
#sentinel { height: 40px; }
.empty { color: var(--muted); padding: 20px 0; }
noscript { display: block; padding: 20px; }
</style>
</head>
<body>
"""

PAGE_BODY = """
<div class="bar">
  <input type="search" id="filter" placeholder="Filter: event id, type, tool name or text" autocomplete="off">
  <button type="button" id="layout" title="Show threads as columns or stacked">Lanes: stacked</button>
  <button type="button" id="expand" title="Open or close every tool call shown">Expand tools</button>
  <span id="count"></span>
</div>
<nav id="lanes" aria-label="Threads"></nav>
<main>
<noscript>This transcript needs JavaScript to show its events (the data is embedded in the file).</noscript>
<div id="timeline"></div>
<div id="sentinel"></div>
</main>
"""

SCRIPT = r"""
(function () {
"use strict";
var DATA = JSON.parse(document.getElementById("session-data").textContent);
var lanes = DATA.lanes, rows = DATA.rows;
var CHUNK = 250;
var timeline = document.getElementById("timeline"), sentinel = document.getElementById("sentinel");
var filterBox = document.getElementById("filter"), countEl = document.getElementById("count");
var layoutBtn = document.getElementById("layout"), expandBtn = document.getElementById("expand");
var view = rows, rendered = 0, filtering = false, expandAll = false, flat = null;
var where = new Map();  // event id (or key) -> index of its row in `rows`

function keyOf(e) { return e.id || e.key; }
rows.forEach(function (row, n) {
  var add = function (e) {
    where.set(keyOf(e), n);
    if (e.res) where.set(e.res.id, n);
    if (e.conf) where.set(e.conf.id, n);
  };
  add(row);
  if (row.group) { if (row.end) where.set(row.end, n); row.items.forEach(add); }
});

function el(tag, cls, text) {
  var node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}
function clock(t) { return t ? t.slice(11, 19) : "--:--:--"; }
function anchor(id) { return "ev-" + id; }
function laneOf(n) { return lanes[n] || lanes[0]; }
function place(node, lane) {
  var l = laneOf(lane);
  node.style.setProperty("--c", l.colour);
  node.style.setProperty("--lane", String(lane));
  node.style.setProperty("--depth", String(l.depth || 0));
  node.classList.add("lane-" + lane);
}
function meta(e, withLane) {
  var m = el("div", "meta");
  var link = el("a", "perma", "#");
  link.href = "#" + anchor(encodeURIComponent(keyOf(e)));
  link.title = (e.id || e.key) + " · " + e.type;
  m.appendChild(link);
  m.appendChild(el("time", "time", clock(e.t)));
  if (withLane && lanes.length > 1) m.appendChild(el("span", "lanetag", laneOf(e.lane).label));
  m.appendChild(el("span", "title", e.title || e.type));
  if (e.detail) m.appendChild(el("span", "detail", e.detail));
  return m;
}
function body(node, e) {
  if (e.text) node.appendChild(el("div", "text", e.text));
  if (e.code !== undefined && e.code !== null && e.code !== "") node.appendChild(el("pre", "code", e.code));
  if (e.note) node.appendChild(el("div", "note", "(" + e.note + ")"));
}
function entryNode(e, nested) {
  var node;
  if (e.kind === "tool_use") {
    node = el("details", "entry tool s-" + (e.status === "ok" ? "ok" : e.status === "pending" ? "tool" : "error"));
    if (expandAll) node.open = true;
    var summary = el("summary");
    summary.appendChild(meta(e, !nested));
    summary.firstChild.appendChild(el("span", "badge st-" + e.status, e.status));
    node.appendChild(summary);
    node.appendChild(el("div", "part", "input"));
    body(node, {code: e.code, note: e.note});
    if (e.conf) {
      var c = el("div", "part conf", e.conf.title);
      c.id = anchor(e.conf.id);
      node.appendChild(c);
    }
    if (e.res) {
      var r = el("div", "part res", e.res.title + (e.res.detail ? " · " + e.res.detail : "") + " · " + clock(e.res.t));
      r.id = anchor(e.res.id);
      node.appendChild(r);
      body(node, {code: e.res.code, note: e.res.note});
    } else {
      node.appendChild(el("div", "part", "no result recorded"));
    }
  } else if (e.collapsed) {
    node = el("details", "entry s-" + e.style + " k-" + e.kind);
    var sum = el("summary");
    sum.appendChild(meta(e, !nested));
    node.appendChild(sum);
    body(node, e);
  } else {
    node = el("div", "entry s-" + e.style + " k-" + e.kind + (e.inline ? " inline" : ""));
    node.appendChild(meta(e, !nested));
    body(node, e);
  }
  node.id = anchor(keyOf(e));
  place(node, e.lane);
  return node;
}
function groupNode(g) {
  var node = el("section", "group s-" + (g.style || "muted"));
  node.id = anchor(keyOf(g));
  var head = el("div", "ghead");
  head.appendChild(meta({id: g.id, key: g.key, type: g.type, t: g.t, lane: g.lane,
                         title: g.title || ("model request #" + g.n), detail: g.detail}, true));
  node.appendChild(head);
  var inner = el("div", "gbody");
  g.items.forEach(function (e) { inner.appendChild(entryNode(e, true)); });
  node.appendChild(inner);
  if (g.end) { var end = el("span"); end.id = anchor(g.end); head.appendChild(end); }
  place(node, g.lane);
  return node;
}
function rowNode(row) { return row.group && !filtering ? groupNode(row) : entryNode(row, false); }

function updateCount() {
  countEl.textContent = (filtering ? view.length.toLocaleString() + " matching · " : "") +
    "showing " + rendered.toLocaleString() + " of " + view.length.toLocaleString() +
    (filtering ? " entries" : " rows") + " · " + DATA.events.toLocaleString() + " events";
}
function renderMore(upTo) {
  var stop = Math.min(view.length, Math.max(rendered + CHUNK, upTo === undefined ? 0 : upTo + 1));
  if (stop <= rendered) return;
  var frag = document.createDocumentFragment();
  for (; rendered < stop; rendered++) frag.appendChild(rowNode(view[rendered]));
  timeline.appendChild(frag);
  updateCount();
}
function fillViewport() {
  var guard = 0;
  while (rendered < view.length && sentinel.getBoundingClientRect().top < window.innerHeight + 600 && guard++ < 40) {
    renderMore();
  }
}
function reset() {
  timeline.textContent = "";
  rendered = 0;
  if (view.length === 0) timeline.appendChild(el("div", "empty", filtering ? "Nothing matches the filter." :
    "No events."));
  renderMore();
  fillViewport();
}

// ---- filter: over the data, never the DOM
function flatEntries() {
  if (flat) return flat;
  flat = [];
  rows.forEach(function (row) {
    if (row.group) {
      flat.push({id: row.id, key: row.key, type: row.type, kind: "model_request", lane: row.lane, t: row.t,
                 title: row.title || ("model request #" + row.n), detail: row.detail, style: row.style || "muted",
                 inline: 1, search: [row.id, row.end, row.type, "span.model_request_end", row.title, row.detail,
                 row.model].join("\n").toLowerCase()});
      row.items.forEach(function (e) { flat.push(e); });
    } else {
      flat.push(row);
    }
  });
  return flat;
}
function haystack(e) {
  if (e.search === undefined) {
    var parts = [e.id, e.key, e.type, e.kind, e.title, e.detail, e.text, e.code, e.tool, laneOf(e.lane).label];
    if (e.res) parts.push(e.res.id, e.res.title, e.res.code, "agent.tool_result");
    if (e.conf) parts.push(e.conf.id, e.conf.title);
    e.search = parts.filter(function (p) { return p; }).join("\n").toLowerCase();
  }
  return e.search;
}
function applyFilter() {
  var q = filterBox.value.trim().toLowerCase();
  filtering = q.length > 0;
  view = filtering ? flatEntries().filter(function (e) { return haystack(e).indexOf(q) >= 0; }) : rows;
  reset();
}
var timer = null;
filterBox.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(applyFilter, 120); });

// ---- lanes
var lanesNav = document.getElementById("lanes");
var laneStyle = el("style");
document.head.appendChild(laneStyle);
var hiddenLanes = new Set();
function laneRules() {
  var rules = [];
  hiddenLanes.forEach(function (n) { rules.push("#timeline .lane-" + n + " { display: none; }"); });
  laneStyle.textContent = rules.join("\n");
}
lanes.forEach(function (l, n) {
  var chip = el("button", "lanechip");
  chip.type = "button";
  chip.style.setProperty("--c", l.colour);
  chip.appendChild(el("span", "", (l.primary ? "★ " : "") + l.label));
  chip.appendChild(el("small", "", [l.model, l.status, (l.events || 0).toLocaleString() + " events"]
    .filter(function (x) { return x; }).join(" · ")));
  chip.title = (l.id || "session") + " — click to hide or show this thread";
  chip.dataset.thread = l.id || "";
  chip.addEventListener("click", function () {
    if (hiddenLanes.has(n)) hiddenLanes.delete(n); else hiddenLanes.add(n);
    chip.classList.toggle("off", hiddenLanes.has(n));
    laneRules();
    fillViewport();
  });
  lanesNav.appendChild(chip);
});
timeline.style.setProperty("--lanes", String(Math.max(1, lanes.length)));
function setLayout(columns) {
  timeline.classList.toggle("columns", columns);
  layoutBtn.textContent = "Lanes: " + (columns ? "columns" : "stacked");
}
layoutBtn.addEventListener("click", function () { setLayout(!timeline.classList.contains("columns")); });
setLayout(lanes.length > 1 && lanes.length <= 4);
expandBtn.addEventListener("click", function () {
  expandAll = !expandAll;
  expandBtn.textContent = expandAll ? "Collapse tools" : "Expand tools";
  timeline.querySelectorAll("details.tool").forEach(function (d) { d.open = expandAll; });
});

// ---- lazy rendering and anchors
if ("IntersectionObserver" in window) {
  new IntersectionObserver(function (seen) {
    if (seen.some(function (s) { return s.isIntersecting; })) { renderMore(); fillViewport(); }
  }, {rootMargin: "800px 0px"}).observe(sentinel);
} else {
  window.addEventListener("scroll", fillViewport, {passive: true});
}
function goTo() {
  var hash = decodeURIComponent(location.hash.slice(1));
  if (hash.indexOf("ev-") !== 0) return;
  var id = hash.slice(3);
  if (!where.has(id)) return;
  if (filtering) { filterBox.value = ""; filtering = false; view = rows; reset(); }
  renderMore(where.get(id));
  var target = document.getElementById(anchor(id));
  if (!target) return;
  for (var p = target; p; p = p.parentElement) { if (p.tagName === "DETAILS") p.open = true; }
  target.scrollIntoView({block: "center"});
  target.classList.remove("flash");
  void target.offsetWidth;
  target.classList.add("flash");
}
window.addEventListener("hashchange", goTo);
reset();
goTo();
document.body.dataset.ready = "1";
})();
"""
