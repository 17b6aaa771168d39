/* recorder ui: the usage chart, drawn as SVG from the page's data; the metric switches without a reload. */
(function () {
"use strict";
var data = JSON.parse(document.getElementById("usage-data").textContent);
var chart = document.getElementById("chart"), metric = document.getElementById("metric");
var title = document.getElementById("chart-title"), note = document.getElementById("chart-note");
var NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs, text) {
  var node = document.createElementNS(NS, tag);
  Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
  if (text !== undefined) node.textContent = text;
  return node;
}
function label(row) {
  var by = data.by;
  if (by === "agent") return row.agent_name || "(no agent)";
  if (by === "thread") return (row.thread_id || "session") + (row.agent_name ? " · " + row.agent_name : "");
  if (by === "session") return row.title || row.session_id;
  var v = row[by];
  return v === null || v === undefined ? "(none)" : String(v);
}
function value(row, m) {
  if (m === "tokens") {
    return (row.input_tokens || 0) + (row.output_tokens || 0) + (row.cache_read_input_tokens || 0) +
      (row.cache_creation_input_tokens || 0);
  }
  return Number(row[m] || 0);
}
function compact(v) {
  if (v >= 1e9) return (v / 1e9).toFixed(1) + "G";
  if (v >= 1e6) return (v / 1e6).toFixed(1) + "M";
  if (v >= 1e3) return (v / 1e3).toFixed(1) + "k";
  return String(Math.round(v * 100) / 100);
}
function draw() {
  var m = metric.value, rows = data.rows.slice(0, 60);
  title.textContent = metric.options[metric.selectedIndex].text.replace(/^./, function (c) { return c.toUpperCase(); }) +
    " by " + data.by;
  chart.textContent = "";
  if (!rows.length) { note.textContent = "Nothing in this window."; return; }
  var values = rows.map(function (r) { return value(r, m); });
  var top = Math.max.apply(null, values.concat([1]));
  var W = 900, H = 300, left = 60, bottom = 70, top0 = 14;
  var plotW = W - left - 10, plotH = H - bottom - top0, step = plotW / rows.length, bw = Math.max(2, step * 0.7);
  var root = svg("svg", {viewBox: "0 0 " + W + " " + H, "aria-label": title.textContent});
  for (var i = 0; i <= 4; i++) {
    var y = top0 + plotH - plotH * i / 4;
    root.appendChild(svg("line", {x1: left, x2: W - 10, y1: y, y2: y}));
    root.appendChild(svg("text", {x: left - 6, y: y + 4, "text-anchor": "end"}, compact(top * i / 4)));
  }
  rows.forEach(function (row, n) {
    var h = plotH * values[n] / top, x = left + n * step + (step - bw) / 2;
    var bar = svg("rect", {"class": "bar", x: x, y: top0 + plotH - h, width: bw, height: Math.max(h, 0.5),
                           "data-label": label(row), "data-value": values[n]});
    bar.appendChild(svg("title", {}, label(row) + ": " + values[n].toLocaleString()));
    root.appendChild(bar);
    if (rows.length <= 31) {
      var tx = x + bw / 2, ty = top0 + plotH + 12;
      root.appendChild(svg("text", {x: tx, y: ty, "text-anchor": "end",
                                    transform: "rotate(-35 " + tx + " " + ty + ")"}, label(row).slice(0, 22)));
    }
  });
  chart.appendChild(root);
  var total = values.reduce(function (a, b) { return a + b; }, 0);
  note.textContent = rows.length + " bars · total " + total.toLocaleString() +
    (data.rows.length > rows.length ? " (first " + rows.length + " of " + data.rows.length + " groups shown)" : "");
}
metric.addEventListener("change", function () {
  var url = new URL(location.href);
  url.searchParams.set("metric", metric.value);
  history.replaceState(null, "", url.pathname + url.search);
  draw();
});
draw();
document.body.dataset.chart = "1";
})();
