// halyard's status page: fetch /status.json twice a second and redraw.
// No library and no request to anything but this halyard; the charts are
// plain SVG. Text from halyard is set with textContent, never parsed as HTML.
"use strict";

const REFRESH_MS = 500;
const TIMEOUT_MS = 2500;       // a halyard that does not answer in this is unreachable
const WINDOW_S = 15 * 60;      // the charts' width: the ring halyard keeps
const SVG = "http://www.w3.org/2000/svg";
let lastGood = 0;              // Date.now() of the last answer

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function fmt(v, digits) {
  if (v === null || v === undefined) return "-";
  if (typeof v === "number") return digits === undefined ? String(v) : v.toFixed(digits);
  return String(v);
}

function duration(s) {
  s = Math.floor(s);
  const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
  return (d ? d + "d " : "") + (d || h ? h + "h " : "") + m + "m " + (s % 60) + "s";
}

function renderHalyard(data) {
  const st = data.show_status, dl = document.getElementById("halyard");
  const backends = data.show_backends.backends;
  let inUse = 0, idle = 0;
  for (const b of backends) { inUse += b.in_use; idle += b.idle; }
  const facts = [
    ["version", st.version],
    ["uptime", duration(st.uptime_s)],
    ["config_file", st.config_file],
    ["last_reload", st.last_reload === null ? "never"
      : st.last_reload + " (" + st.last_reload_result + ")"],
    ["client_sessions", st.client_sessions],
    ["pool_mode", data.pool_mode],
    ["pools in_use / idle", inUse + " / " + idle],
    ["workers", st.workers],
  ];
  if (st.zone) facts.push(["zone", st.zone]);
  const cache = data.show_cache;
  if (cache) {
    const n = cache.hits + cache.misses;
    facts.push(["cache hit rate", n ? (100 * cache.hits / n).toFixed(1) + " %" : "-"]);
    facts.push(["cache entries", cache.entries]);
  } else {
    facts.push(["cache", "off"]);
  }
  dl.replaceChildren(...facts.map(([k, v]) => {
    const d = el("div", {"data-key": k});
    d.append(el("dt", {}, k), el("dd", {}, v));
    return d;
  }));
}

function renderBackends(data) {
  const rows = data.show_backends.backends.map((b) => {
    const tr = el("tr", {"data-name": b.name, "data-state": b.state, "data-role": b.role,
      class: "role-" + b.role + (b.state === "DOWN" ? " is-down" : "")});
    const cells = [
      ["name", b.name], ["group", b.group], ["zone", b.zone || "-"], ["address", b.address],
      ["role", b.role + (b.fenced ? " (fenced)" : "")], ["state", b.state], ["why", b.why || "-"],
      ["lag_s num", fmt(b.lag_s)], ["rtt_ms num", fmt(b.rtt_ms, 2)],
      ["p50_ms num", fmt(b.p50_ms, 2)], ["p99_ms num", fmt(b.p99_ms, 2)],
      ["in_use num", b.in_use], ["idle num", b.idle], ["queries num", b.queries],
      ["errors num", b.errors],
    ];
    for (const [cls, v] of cells) {
      const td = el("td", {class: cls}, v);
      if (cls === "state") td.classList.add("state-" + b.state);
      tr.append(td);
    }
    return tr;
  });
  document.querySelector("#backends tbody").replaceChildren(...rows);
  const groups = data.show_groups.groups.map((g) => el("div", {class: "group", "data-group": g.group},
    g.group + " (" + g.cluster + "): writer " + (g.writer === null ? "none" : g.writer) +
    ", " + g.backends + " backends"));
  document.getElementById("groups").replaceChildren(...groups);
}

function renderEvents(data) {
  const events = data.show_events.events.slice(-20).reverse();
  const rows = events.map((e) => {
    const tr = el("tr", {"data-event": e.event});
    for (const [cls, v] of [["time", e.time], ["event", e.event], ["backend", e.backend || "-"],
      ["new", e.new || "-"], ["reason", e.reason || "-"], ["note", e.note || "-"]])
      tr.append(el("td", {class: cls}, v));
    return tr;
  });
  if (rows.length === 0) rows.push(el("tr", {}, "no events since halyard started"));
  document.querySelector("#events tbody").replaceChildren(...rows);
}

// One chart: series [{name, values, color}] over times `t` (Unix seconds),
// the last WINDOW_S seconds up to `end`.
function chart(id, t, series, end) {
  const fig = document.getElementById(id);
  // As wide as the figure, so that the text is drawn at its own size.
  const W = Math.max(300, Math.round(fig.clientWidth) - 16), H = 150, L = 40, B = 16, T = 6;
  let max = 0;
  for (const s of series) for (const v of s.values) if (v !== null && v > max) max = v;
  max = max > 0 ? max * 1.1 : 1;
  const x = (time) => L + (W - L) * (1 - (end - time) / WINDOW_S);
  const y = (v) => T + (H - B - T) * (1 - v / max);
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 " + W + " " + H);
  svg.setAttribute("class", "chart");
  svg.setAttribute("data-points", String(t.length));
  const line = (x1, y1, x2, y2) => {
    const l = document.createElementNS(SVG, "line");
    for (const [k, v] of Object.entries({x1, y1, x2, y2, class: "axis"})) l.setAttribute(k, v);
    svg.append(l);
  };
  const text = (tx, ty, s, anchor) => {
    const e = document.createElementNS(SVG, "text");
    e.setAttribute("x", tx); e.setAttribute("y", ty);
    if (anchor) e.setAttribute("text-anchor", anchor);
    e.textContent = s;
    svg.append(e);
  };
  line(L, T, L, H - B); line(L, H - B, W, H - B); line(L, y(max / 2), W, y(max / 2));
  text(L - 4, T + 8, max < 10 ? max.toFixed(2) : Math.round(max), "end");
  text(L - 4, y(max / 2) + 3, max < 10 ? (max / 2).toFixed(2) : Math.round(max / 2), "end");
  text(L - 4, H - B, "0", "end");
  text(L, H - 3, "-15 min"); text(W, H - 3, "now", "end");
  for (const s of series) {
    const pts = [];
    for (let i = 0; i < t.length; i++)
      if (s.values[i] !== null) pts.push(x(t[i]).toFixed(1) + "," + y(s.values[i]).toFixed(1));
    const p = document.createElementNS(SVG, "polyline");
    p.setAttribute("points", pts.join(" "));
    p.setAttribute("stroke", s.color);
    p.setAttribute("data-series", s.name);
    svg.append(p);
  }
  const legend = el("div", {class: "legend"});
  for (const s of series) {
    const last = s.values.length ? s.values[s.values.length - 1] : null;
    const span = el("span", {}, s.name + " " + fmt(last, 2));
    span.style.setProperty("--c", s.color); // CSSOM: the page's CSP allows no inline style
    legend.append(span);
  }
  const cap = fig.querySelector("figcaption");
  fig.replaceChildren(cap, svg, legend);
}

function renderCharts(data) {
  const s = data.samples, t = s.time;
  const end = t.length ? t[t.length - 1] : Date.now() / 1000;
  const css = getComputedStyle(document.documentElement);
  const c = (name) => css.getPropertyValue(name).trim();
  // Reads and writes as halyard classified them, wherever they ran;
  // "other" is neither (SET, BEGIN, COMMIT, PING, an unclassified one).
  chart("chart-statements", t, [
    {name: "read", values: s.read, color: c("--read")},
    {name: "write", values: s.write, color: c("--write")},
    {name: "cached", values: s.cached, color: c("--cached")},
    {name: "other", values: s.other, color: c("--other")},
  ], end);
  chart("chart-latency", t, [
    {name: "p50", values: s.p50_ms, color: c("--primary")},
    {name: "p99", values: s.p99_ms, color: c("--p99")},
  ], end);
  chart("chart-errors", t, [{name: "errors", values: s.errors, color: c("--down")}], end);
  chart("chart-lag", t, [{name: "lag", values: s.lag_s, color: c("--warn")}], end);
}

function setConn(ok, why) {
  const conn = document.getElementById("conn");
  conn.className = "conn " + (ok ? "live" : "unreachable");
  conn.textContent = ok ? "live" : "halyard unreachable" + (why ? ": " + why : "");
  document.body.classList.toggle("stale", !ok);
  const upd = document.getElementById("updated");
  upd.textContent = lastGood ? "last answer " + new Date(lastGood).toLocaleTimeString() : "";
}

function render(data) {
  renderHalyard(data);
  renderBackends(data);
  renderEvents(data);
  renderCharts(data);
}

async function refresh() {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
  try {
    const r = await fetch("/status.json", {cache: "no-store", signal: ctl.signal});
    if (!r.ok) throw new Error("HTTP " + r.status);
    const data = await r.json();
    lastGood = Date.now();
    render(data);
    setConn(true);
  } catch (e) {
    setConn(false, e.name === "AbortError" ? "no answer" : e.message);
  } finally {
    clearTimeout(timer);
    setTimeout(refresh, REFRESH_MS);
  }
}

// The page comes with its first data (a JSON block, never run): drawn
// before the page has loaded, then fetched again every half second.
const first = document.getElementById("status-data");
if (first) {
  try {
    render(JSON.parse(first.textContent));
  } catch (e) {
    // the fetch below draws it, or says why not
  }
}
refresh();
