/* recorder ui: small helpers for every page. Recorded text only ever reaches the DOM through textContent. */
(function () {
"use strict";

function el(tag, cls, text) {
  var node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

// Filters apply as soon as they change.
document.querySelectorAll("form.filters select:not([data-local])").forEach(function (select) {
  select.addEventListener("change", function () { select.form.submit(); });
});

// "/" focuses the search box.
document.addEventListener("keydown", function (e) {
  var box = document.getElementById("q");
  if (e.key === "/" && box && document.activeElement !== box &&
      !/^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName)) {
    e.preventDefault();
    box.focus();
  }
});

var live = document.getElementById("live");
if (!live) return;

// ?event=ID: the viewer opens the event through its anchor.
var wanted = live.dataset.event;
if (wanted && !location.hash) history.replaceState(null, "", location.pathname + location.search + "#ev-" +
  encodeURIComponent(wanted));

// The thread tree: clicking a thread shows only its lane; clicking it again shows every thread.
var solo = null;
document.querySelectorAll("a.thread-link").forEach(function (link) {
  link.addEventListener("click", function (e) {
    e.preventDefault();
    var id = link.dataset.thread;
    solo = solo === id ? null : id;
    document.querySelectorAll(".lanechip").forEach(function (chip) {
      var hidden = chip.classList.contains("off");
      var show = solo === null || chip.dataset.thread === solo;
      if (hidden === show) chip.click();
    });
    document.querySelectorAll("table.tree tr[data-thread]").forEach(function (row) {
      row.classList.toggle("solo", solo !== null && row.dataset.thread === solo);
    });
    var timeline = document.getElementById("timeline");
    if (timeline) timeline.scrollIntoView({block: "start"});
  });
});

// New events while the session is being recorded: polled, appended below the transcript.
var after = Number(live.dataset.after || 0), list = document.getElementById("live-events");
var count = document.getElementById("live-count"), seen = 0, failures = 0;
var eventCount = document.getElementById("event-count");
function poll() {
  var url = "/api/sessions/" + encodeURIComponent(live.dataset.session) + "/events?after=" + after;
  fetch(url, {credentials: "same-origin", headers: {"accept": "application/json"}})
    .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
    .then(function (data) {
      failures = 0;
      if (data.events.length) {
        live.hidden = false;
        data.events.forEach(function (e) {
          var item = el("li", "live-event");
          item.id = "live-" + e.event_id;
          item.appendChild(el("time", "time", (e.processed_at || "").slice(11, 19) + " "));
          item.appendChild(el("strong", "", e.type));
          if (e.thread_id) item.appendChild(el("small", "", " " + e.thread_id));
          if (e.text) item.appendChild(el("div", "text", e.text));
          list.appendChild(item);
        });
        seen += data.events.length;
        count.textContent = "(" + seen.toLocaleString() + " since this page was loaded)";
        if (eventCount) eventCount.textContent = Number(data.total).toLocaleString();
      }
      after = data.last;
      setTimeout(poll, data.status === "running" ? 1500 : 4000);
    })
    .catch(function () { failures++; setTimeout(poll, Math.min(30000, 2000 * failures)); });
}
setTimeout(poll, 2000);
})();
