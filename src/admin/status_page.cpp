#include "admin/status_page.hpp"

#ifdef BACKSTOP_CHART_JS
// Chart.js as bytes of the binary: the page works on a host without the package.
__asm__(".section .rodata\n"
        ".global backstop_chart_js_begin\n"
        "backstop_chart_js_begin:\n"
        ".incbin \"" BACKSTOP_CHART_JS "\"\n"
        ".global backstop_chart_js_end\n"
        "backstop_chart_js_end:\n"
        ".previous\n");
extern "C" const char backstop_chart_js_begin[];
extern "C" const char backstop_chart_js_end[];
#endif

namespace backstop::admin {

namespace {

constexpr std::string_view page = R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>backstop status</title>
<style>
body { font-family: sans-serif; margin: 1.5em; color: #222; background: #fafafa; }
h1 { font-size: 1.4em; margin: 0 0 .2em 0; }
h2 { font-size: 1.1em; margin: 1.2em 0 .4em 0; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 1.2em; }
.card { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .8em; }
.card canvas { width: 100%; height: 260px; }
table { border-collapse: collapse; width: 100%; font-size: .9em; }
td, th { text-align: left; padding: .2em .5em; border-bottom: 1px solid #eee; }
#summary span { margin-right: 1.5em; }
.down { color: #b00020; font-weight: bold; } .up { color: #1b7f3b; font-weight: bold; }
</style>
</head>
<body>
<h1>backstop</h1>
<div id="summary">loading&hellip;</div>
<div class="grid">
  <div class="card"><h2>Primary MX, per domain</h2><canvas id="primary"></canvas>
    <div id="primary-now"></div></div>
  <div class="card"><h2>Queue depth</h2><canvas id="queue"></canvas></div>
  <div class="card"><h2>Accepted and refused, by reason</h2><canvas id="traffic"></canvas></div>
  <div class="card"><h2>Top offenders</h2><canvas id="offenders"></canvas>
    <table id="offender-table"><tr><th>address</th><th>offenses</th><th>listed</th></tr></table></div>
</div>
<script src="/assets/chart.js"></script>
<script>
"use strict";
const token = new URLSearchParams(location.search).get("token");
const palette = ["#1f77b4", "#d62728", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                 "#bcbd22", "#17becf", "#2ca02c"];
const time = (at) => new Date(at * 1000).toISOString().substring(11, 19);
function mark(id, points) { document.getElementById(id).dataset.points = points; }
function chart(id, config) {
  config.options = Object.assign({animation: false, responsive: false}, config.options || {});
  new Chart(document.getElementById(id), config);
}
function drawQueue(samples) {
  chart("queue", {type: "line", data: {labels: samples.map(s => time(s.at)),
    datasets: [{label: "messages queued", data: samples.map(s => s.queued),
                borderColor: palette[0], fill: false, stepped: true}]}});
  mark("queue", samples.length);
}
function drawTraffic(samples) {
  const checks = [...new Set(samples.flatMap(s => Object.keys(s.refused)))].sort();
  const datasets = [{label: "accepted", data: samples.map(s => s.accepted),
                     backgroundColor: "#2ca02c"}].concat(checks.map((c, i) => ({
    label: "refused: " + c, data: samples.map(s => s.refused[c] || 0),
    backgroundColor: palette[(i + 1) % palette.length]})));
  chart("traffic", {type: "bar", data: {labels: samples.map(s => time(s.at)), datasets},
    options: {scales: {x: {stacked: true}, y: {stacked: true}}}});
  mark("traffic", samples.length * datasets.length);
}
function drawPrimary(primary, now) {
  const domains = Object.keys(primary).sort();
  const datasets = domains.map((d, i) => ({label: d, stepped: true, fill: false,
    borderColor: palette[i % palette.length],
    data: primary[d].map(e => ({x: e.at, y: e.up ? 1 : 0})).concat(
      primary[d].length ? [{x: now, y: primary[d][primary[d].length - 1].up ? 1 : 0}] : [])}));
  chart("primary", {type: "line", data: {datasets}, options: {parsing: true, scales: {
    x: {type: "linear", ticks: {callback: (v) => time(v)}},
    y: {min: -0.1, max: 1.1, ticks: {stepSize: 1, callback: (v) => v === 1 ? "up" : v === 0 ? "down" : ""}}}}});
  document.getElementById("primary-now").innerHTML = domains.map(d => {
    const last = primary[d][primary[d].length - 1];
    return d + ": <span class='" + (last && last.up ? "up'>up" : "down'>down") + "</span>";
  }).join(" &middot; ");
  mark("primary", datasets.reduce((n, d) => n + d.data.length, 0));
}
function drawOffenders(offenders) {
  const top = offenders.slice(0, 10);
  chart("offenders", {type: "bar", data: {labels: top.map(o => o.address), datasets: [{
    label: "offenses", data: top.map(o => o.offenses), backgroundColor: palette[1]}]},
    options: {indexAxis: "y"}});
  const table = document.getElementById("offender-table");
  for (const o of top) {
    const row = table.insertRow();
    row.insertCell().textContent = o.address;
    row.insertCell().textContent = o.offenses;
    row.insertCell().textContent = o.listed ? "yes" : "no";
  }
  mark("offenders", top.length);
}
async function load() {
  const headers = token ? {Authorization: "Bearer " + token} : {};
  const status = await (await fetch("/api/status", {headers})).json();
  const last = status.samples[status.samples.length - 1] || {queued: 0};
  document.getElementById("summary").innerHTML =
    "<span>queued: <b>" + last.queued + "</b></span><span>uptime: <b>" + status.uptime_seconds +
    " s</b></span><span>samples: " + status.samples.length + "</span>";
  if (typeof Chart === "undefined") {
    document.getElementById("summary").innerHTML += " (charts need Chart.js in the build)";
    return;
  }
  drawQueue(status.samples);
  drawTraffic(status.samples);
  drawPrimary(status.primary || {}, status.now);
  drawOffenders(status.offenders || []);
  document.body.dataset.rendered = "yes";
}
load().catch(e => { document.body.dataset.error = String(e); });
</script>
</body>
</html>
)html";

} // namespace

std::string_view status_page_html() { return page; }

std::string_view chart_js() {
#ifdef BACKSTOP_CHART_JS
  return {backstop_chart_js_begin,
          static_cast<std::size_t>(backstop_chart_js_end - backstop_chart_js_begin)};
#else
  return {};
#endif
}

} // namespace backstop::admin
