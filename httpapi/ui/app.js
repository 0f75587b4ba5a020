// queue-sqlite dashboard: a small single-page app over the JSON API.
// Everything that comes from the queue is inserted as text (text nodes,
// textContent), never as markup.
"use strict";

const API = "../v1/"; // relative: works when the handler is mounted under a prefix
const TOKEN_KEY = "queuesqlite.token";
const STATUSES = ["pending", "scheduled", "processing", "retrying", "completed", "failed", "cancelled", "expired"];
const REFRESH_MS = 2000;

const state = { canWrite: false, tokenRequired: false, timer: null, page: "" };

// ---- DOM helpers: text only --------------------------------------------

// el builds an element; props go to attributes (or properties for a few),
// children are nodes or strings (which become text nodes).
function el(tag, props, ...children) {
  const isSVG = ["svg", "path", "polyline", "line", "text", "g", "rect", "circle"].includes(tag);
  const e = isSVG ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "on") { for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn); }
    else if (k === "text") e.textContent = String(v);
    else if (k === "value" || k === "checked" || k === "disabled") e[k] = v;
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
  return e;
}

function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

function fmtTime(t) {
  if (!t) return "—";
  const d = new Date(t);
  return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

function fmtAge(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 1) return (seconds * 1000).toFixed(0) + " ms";
  if (seconds < 90) return seconds.toFixed(1) + " s";
  if (seconds < 5400) return (seconds / 60).toFixed(1) + " min";
  return (seconds / 3600).toFixed(1) + " h";
}

function fmtJSON(v) { return v === null || v === undefined ? "null" : JSON.stringify(v, null, 2); }

function badge(status) { return el("span", { class: "badge s-" + status, text: status }); }

function banner(msg, kind) {
  const b = document.getElementById("banner");
  b.textContent = msg;
  b.className = kind || "error";
  b.hidden = !msg;
}

// ---- API -----------------------------------------------------------------

class APIError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

async function api(method, path, body) {
  const headers = {};
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers["Authorization"] = "Bearer " + token;
  const init = { method, headers };
  if (body !== undefined) { headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
  const resp = await fetch(API + path, init);
  let data = null;
  try { data = await resp.json(); } catch (_) { /* not JSON */ }
  if (!resp.ok) {
    const e = (data && data.error) || {};
    const err = new APIError(resp.status, e.code || "http_" + resp.status, e.message || resp.statusText);
    if (resp.status === 401) showLogin(err.message);
    throw err;
  }
  return data;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? "?" + s : "";
}

// ---- access and login --------------------------------------------------

async function loadAccess() {
  const a = await api("GET", "access");
  state.canWrite = a.can_write;
  state.tokenRequired = a.token_required;
  document.getElementById("access").textContent = a.token_required ? (a.can_write ? "full access" : "read-only") : "no token configured";
  document.getElementById("logout").hidden = !a.token_required;
  document.body.classList.toggle("read-only", !a.can_write);
}

function showLogin(reason) {
  stopTimer();
  const main = clear(document.getElementById("main"));
  const input = el("input", { id: "token-input", type: "password", autocomplete: "current-password", required: true, size: 40 });
  const form = el("form", { id: "login-form", class: "card narrow", on: { submit: async (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, input.value);
    try { await loadAccess(); banner(""); route(); } catch (e) { if (e.status !== 401) banner(e.message); }
  } } },
  el("h2", { text: "Token needed" }),
  el("p", { class: "muted", text: "This queue's API needs a bearer token. It is kept in this tab only (sessionStorage)." }),
  reason ? el("p", { class: "error-text", text: reason }) : null,
  el("label", {}, "Token ", input),
  el("div", { class: "actions" }, el("button", { type: "submit", class: "primary", text: "Sign in" })));
  main.appendChild(form);
  input.focus();
}

// ---- routing -------------------------------------------------------------

const pages = {
  "overview": pageOverview,
  "destinations": pageDestinations,
  "messages": (r, main) => pageList("messages", r, main),
  "dead-letters": (r, main) => pageList("dead-letters", r, main),
  "message": pageMessage,
  "groups": pageGroups,
  "listeners": pageListeners,
  "shards": pageShards,
};

function parseHash() {
  const h = location.hash.replace(/^#\/?/, "");
  const [pathPart, qs] = h.split("?");
  const parts = pathPart.split("/");
  const name = parts[0] || "overview";
  return { name, arg: parts.slice(1).map(decodeURIComponent).join("/"), params: new URLSearchParams(qs || "") };
}

function stopTimer() { if (state.timer) { clearInterval(state.timer); state.timer = null; } }

// every refreshes a page while it is shown.
function every(fn) { stopTimer(); state.timer = setInterval(fn, REFRESH_MS); }

function route() {
  stopTimer();
  banner("");
  const r = parseHash();
  const fn = pages[r.name] || pageOverview;
  state.page = pages[r.name] ? r.name : "overview";
  for (const a of document.querySelectorAll("#nav a")) {
    const active = a.dataset.page === state.page || (state.page === "message" && a.dataset.page === "messages");
    a.classList.toggle("active", active);
  }
  const main = clear(document.getElementById("main"));
  main.dataset.page = state.page;
  fn(r, main).catch((e) => { if (e.status !== 401) banner(e.message); });
}

function section(title, ...children) {
  return el("section", { class: "card" }, el("h2", { text: title }), ...children);
}

function table(id, headers, rows, empty) {
  return el("table", { id },
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", { text: h })))),
    el("tbody", {}, rows.length ? rows : el("tr", { class: "empty" }, el("td", { colspan: headers.length, text: empty || "Nothing here." }))));
}

// ---- overview ------------------------------------------------------------

async function pageOverview(_r, main) {
  main.appendChild(el("h1", { id: "page-title", text: "Overview" }));
  const cards = el("div", { id: "status-cards", class: "cards" });
  const oldest = el("div", { id: "oldest", class: "card" });
  const charts = el("div", { class: "charts" },
    chartBox("chart-throughput", "Throughput (messages / s)"),
    chartBox("chart-latency", "Latency, sent → finished (s)"),
    chartBox("chart-backlog", "Waiting messages"));
  main.append(cards, oldest, charts);
  const refresh = async () => {
    const [st, hist] = await Promise.all([api("GET", "stats"), api("GET", "stats/history")]);
    renderCards(cards, st);
    await renderOldest(oldest, st);
    renderCharts(hist);
  };
  await refresh();
  every(() => refresh().catch((e) => banner(e.message)));
}

function renderCards(cards, st) {
  clear(cards);
  cards.appendChild(el("a", { class: "stat total", href: "#/messages" },
    el("span", { class: "num", text: st.total }), el("span", { class: "label", text: "total" })));
  for (const s of STATUSES) {
    cards.appendChild(el("a", { class: "stat s-" + s, href: "#/messages?status=" + s, "data-status": s },
      el("span", { class: "num", text: st.by_status[s] || 0 }), el("span", { class: "label", text: s })));
  }
}

async function renderOldest(box, st) {
  clear(box).appendChild(el("h2", { text: "Oldest waiting message" }));
  if (!st.oldest_pending) { box.appendChild(el("p", { class: "muted", text: "No message is waiting." })); return; }
  // The pending messages sent no later than the oldest one: that one (or a tie).
  const before = new Date(new Date(st.oldest_pending).getTime() + 1).toISOString();
  const page = await api("GET", "messages" + query({ status: "pending", created_before: before, limit: 1 }));
  const m = page.messages[0];
  box.appendChild(el("p", {},
    "Waiting for ", el("strong", { id: "oldest-age", text: fmtAge(st.oldest_pending_age_seconds) }),
    " (since " + fmtTime(st.oldest_pending) + ")",
    m ? el("span", {}, " — ", el("a", { href: "#/message/" + encodeURIComponent(m.id), class: "mono", text: m.id }), " to ", el("span", { class: "mono", text: m.destination })) : null));
}

function chartBox(id, title) {
  return el("div", { class: "card chart", id }, el("h2", { text: title }), el("div", { class: "plot" }), el("div", { class: "legend" }));
}

function renderCharts(hist) {
  const s = hist.samples || [];
  const t = s.map((x) => new Date(x.time).getTime());
  drawChart("chart-throughput", t, [
    { name: "finished/s", cls: "c1", values: s.map((x) => x.finished_per_second) },
    { name: "sent/s", cls: "c2 dash", values: s.map((x) => x.sent_per_second) }]);
  drawChart("chart-latency", t, [
    { name: "p50", cls: "c1", values: s.map((x) => x.latency_p50_seconds) },
    { name: "p95", cls: "c3", values: s.map((x) => x.latency_p95_seconds) }], fmtAge);
  drawChart("chart-backlog", t, [
    { name: "pending", cls: "c2", values: s.map((x) => x.by_status.pending + x.by_status.retrying) },
    { name: "processing", cls: "c4", values: s.map((x) => x.by_status.processing) }]);
}

// drawChart draws series (null values are gaps) against times as an SVG
// line chart with a y axis from 0 to the largest value.
function drawChart(id, times, series, fmtLast = trimNum) {
  const box = document.getElementById(id);
  if (!box) return;
  const W = 420, H = 160, L = 44, R = 8, T = 8, B = 22;
  const all = series.flatMap((x) => x.values).filter((v) => v !== null && v !== undefined);
  const ymax = niceMax(all.length ? Math.max(...all) : 0);
  const t0 = times.length ? times[0] : 0, t1 = times.length ? times[times.length - 1] : 1;
  const xs = (t) => L + (t1 > t0 ? (t - t0) / (t1 - t0) : 1) * (W - L - R);
  const ys = (v) => T + (1 - v / ymax) * (H - T - B);
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, class: "svgchart", role: "img", "aria-label": box.querySelector("h2").textContent });
  for (let i = 0; i <= 4; i++) {
    const v = ymax * i / 4, y = ys(v);
    svg.appendChild(el("line", { x1: L, x2: W - R, y1: y, y2: y, class: "grid" }));
    svg.appendChild(el("text", { x: L - 4, y: y + 4, class: "axis", "text-anchor": "end" }, trimNum(v)));
  }
  if (times.length) {
    const span = (t1 - t0) / 1000;
    svg.appendChild(el("text", { x: L, y: H - 6, class: "axis" }, span > 0 ? "−" + fmtAge(span) : "now"));
    svg.appendChild(el("text", { x: W - R, y: H - 6, class: "axis", "text-anchor": "end" }, "now"));
  }
  for (const s of series) {
    let d = "", run = [];
    const flush = () => { // a lone point gets a dot: a path of one point draws nothing
      if (run.length === 1) svg.appendChild(el("circle", { cx: run[0][0], cy: run[0][1], r: 2.5, class: "dot " + s.cls }));
      run = [];
    };
    s.values.forEach((v, i) => {
      if (v === null || v === undefined) { flush(); return; }
      const x = xs(times[i]).toFixed(1), y = ys(v).toFixed(1);
      d += (run.length ? "L" : "M") + x + " " + y;
      run.push([x, y]);
    });
    flush();
    if (d) svg.appendChild(el("path", { d, class: "line " + s.cls }));
  }
  if (!times.length) svg.appendChild(el("text", { x: W / 2, y: H / 2, class: "axis", "text-anchor": "middle" }, "collecting samples…"));
  clear(box.querySelector(".plot")).appendChild(svg);
  const legend = clear(box.querySelector(".legend"));
  for (const s of series) {
    const last = [...s.values].reverse().find((v) => v !== null && v !== undefined);
    legend.appendChild(el("span", { class: "key " + s.cls }, el("i"), s.name + ": " + (last === undefined ? "—" : fmtLast(last))));
  }
}

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function trimNum(v) { return Math.abs(v) >= 100 ? v.toFixed(0) : String(Number(v.toPrecision(3))); }

// ---- destinations --------------------------------------------------------

async function pageDestinations(_r, main) {
  main.appendChild(el("h1", { id: "page-title", text: "Destinations" }));
  main.appendChild(el("p", { class: "muted", text: "A destination is the name of the handler that runs its messages. Every destination that has messages, or is paused, is listed. A pause holds back new claims in every process; messages already running finish." }));
  const holder = el("div", { class: "card" });
  const queues = el("div", { id: "worker-queues" });
  main.append(holder);
  const refresh = async () => {
    const [st, ps] = await Promise.all([api("GET", "stats"), api("GET", "pauses")]);
    const paused = pausedSet(ps.pauses);
    const names = [...new Set([...Object.keys(st.by_destination), ...ps.pauses.filter((x) => x.kind === "destination").map((x) => x.name)])].sort();
    const rows = names.map((d) => {
      const c = st.by_destination[d] || {};
      const total = Object.values(c).reduce((a, b) => a + b, 0);
      const since = paused.get("destination:" + d);
      return el("tr", { "data-destination": d, "data-paused": since ? "true" : "false" },
        el("td", {}, el("a", { class: "mono", href: "#/messages?destination=" + encodeURIComponent(d), text: d })),
        el("td", {}, since ? el("span", { class: "badge paused", title: "since " + fmtTime(since), text: "paused" }) : el("span", { class: "muted", text: "running" })),
        el("td", { class: "num", text: total }),
        STATUSES.map((s) => el("td", { class: "num" + (c[s] ? "" : " zero") }, c[s] ? el("a", { href: "#/messages?" + new URLSearchParams({ destination: d, status: s }), text: c[s] }) : "0")),
        el("td", { class: "write-only" }, pauseButton("destinations", d, !!since, refresh)));
    });
    clear(holder).appendChild(table("dest-table", ["destination", "state", "total", ...STATUSES, ""], rows, "No messages yet."));
    renderWorkerQueues(queues, ps.pauses, refresh);
  };
  main.appendChild(workerQueuesSection(queues, refresh));
  await refresh();
  every(() => refresh().catch((e) => banner(e.message)));
}

// pausedSet maps "kind:name" to the time it was paused.
function pausedSet(pauses) { return new Map(pauses.map((x) => [x.kind + ":" + x.name, x.since])); }

// pauseButton pauses or resumes a destination or worker queue (kind is
// the API's path segment: "destinations" or "queues").
function pauseButton(kind, name, paused, refresh) {
  const action = paused ? "resume" : "pause";
  return el("button", { class: "small " + action, "data-name": name, on: { click: async () => {
    try { await api("POST", kind + "/" + encodeURIComponent(name) + "/" + action); banner(`${action}d ${name}`, "ok"); }
    catch (e) { banner(e.message); }
    await refresh();
  } } }, paused ? "Resume" : "Pause");
}

// workerQueuesSection lists the paused worker queues (in its table
// holder, filled by renderWorkerQueues) with a form to pause one by name.
// A worker queue is a set of handlers a worker process groups
// (HandlerOpts.Queue); this server runs none, so it knows a queue by its
// pause only.
function workerQueuesSection(tableBox, refresh) {
  const input = el("input", { id: "queue-name", placeholder: "worker queue name", required: true });
  const form = el("form", { id: "queue-pause-form", class: "row write-only", on: { submit: async (ev) => {
    ev.preventDefault();
    try { await api("POST", "queues/" + encodeURIComponent(input.value) + "/pause"); banner("paused worker queue " + input.value, "ok"); input.value = ""; }
    catch (e) { banner(e.message); }
    await refresh();
  } } }, el("label", {}, "Pause a worker queue ", input), el("button", { type: "submit", id: "queue-pause", class: "primary", text: "Pause" }));
  return section("Worker queues",
    el("p", { class: "muted small", text: "Worker processes assign handlers to named queues; pausing a queue holds back every destination of it, in every process." }),
    tableBox, form);
}

function renderWorkerQueues(box, pauses, refresh) {
  const qs = pauses.filter((x) => x.kind === "queue");
  clear(box).appendChild(table("queues-table", ["worker queue", "paused since", ""], qs.map((x) => el("tr", { "data-queue": x.name },
    el("td", { class: "mono", text: x.name }), el("td", { text: fmtTime(x.since) }),
    el("td", { class: "write-only" }, pauseButton("queues", x.name, true, refresh)))), "No worker queue is paused."));
}

// ---- message lists (messages, dead letters) ------------------------------

async function pageList(kind, r, main) {
  const dead = kind === "dead-letters";
  const p = r.params;
  main.appendChild(el("h1", { id: "page-title", text: dead ? "Dead letters" : "Messages" }));
  if (dead) main.appendChild(el("p", { class: "muted", text: "Messages that failed for good (every attempt used). Retry puts them back in the queue." }));
  if (!dead && state.canWrite) main.appendChild(sendForm());
  main.appendChild(filterForm(kind, p));
  const bar = el("div", { id: "bulk-bar", class: "bulk write-only" });
  const holder = el("div", { class: "card" });
  const pager = el("div", { class: "pager" });
  main.append(bar, holder, pager);
  const selected = new Set();
  const cursors = [""];
  let index = 0;
  const filters = {};
  for (const k of ["status", "destination", "tag", "created_from", "created_before", "limit"]) if (p.get(k)) filters[k] = p.get(k);
  if (dead) delete filters.status;
  const load = async () => {
    const page = await api("GET", kind + query({ ...filters, cursor: cursors[index] }));
    renderRows(holder, page.messages, selected, () => renderBulk(bar, selected, load));
    if (!bar.dataset.confirming) renderBulk(bar, selected, load);
    cursors.length = index + 1;
    if (page.next_cursor) cursors.push(page.next_cursor);
    clear(pager).append(
      el("button", { id: "page-prev", disabled: index === 0, on: { click: () => { index--; load().catch((e) => banner(e.message)); } } }, "← Previous"),
      el("span", { class: "muted", text: "page " + (index + 1) }),
      el("button", { id: "page-next", disabled: !page.next_cursor, on: { click: () => { index++; load().catch((e) => banner(e.message)); } } }, "Next →"));
  };
  state.reload = load;
  await load();
  every(() => load().catch((e) => banner(e.message)));
}

function filterForm(kind, p) {
  const dead = kind === "dead-letters";
  const status = el("select", { name: "status", id: "f-status" }, el("option", { value: "", text: "any status" }),
    STATUSES.map((s) => el("option", { value: s, text: s })));
  status.value = p.get("status") || "";
  const field = (name, label, ph) => el("label", {}, label + " ", el("input", { name, id: "f-" + name, value: p.get(name) || "", placeholder: ph || "" }));
  const limit = el("select", { name: "limit", id: "f-limit" }, ["10", "25", "50", "100", "250", "1000"].map((n) => el("option", { value: n, text: n + " / page" })));
  limit.value = p.get("limit") || "50";
  const form = el("form", { id: "filter-form", class: "card filters", on: { submit: (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) q.set(k, v);
    location.hash = "#/" + kind + (q.toString() ? "?" + q : "");
  } } },
  dead ? null : el("label", {}, "Status ", status),
  field("destination", "Destination"), field("tag", "Tag"),
  field("created_from", "Sent from", "2026-01-02T15:04:05Z"), field("created_before", "Sent before", "RFC 3339"),
  el("label", {}, limit),
  el("button", { type: "submit", class: "primary", text: "Filter" }),
  el("a", { href: "#/" + kind, class: "button", text: "Clear" }));
  return form;
}

function renderRows(holder, messages, selected, onSelect) {
  const ids = new Set(messages.map((m) => m.id));
  for (const id of [...selected]) if (!ids.has(id)) selected.delete(id);
  const all = el("input", { type: "checkbox", id: "select-all", class: "write-only", title: "select all on this page",
    checked: messages.length > 0 && messages.every((m) => selected.has(m.id)),
    on: { change: (ev) => { for (const m of messages) ev.target.checked ? selected.add(m.id) : selected.delete(m.id); renderRows(holder, messages, selected, onSelect); onSelect(); } } });
  const rows = messages.map((m) => el("tr", { "data-id": m.id, "data-status": m.status },
    el("td", { class: "write-only" }, el("input", { type: "checkbox", class: "select", checked: selected.has(m.id),
      on: { change: (ev) => { ev.target.checked ? selected.add(m.id) : selected.delete(m.id); onSelect(); } } })),
    el("td", {}, el("a", { class: "mono id", href: "#/message/" + encodeURIComponent(m.id), text: m.id })),
    el("td", { class: "mono", text: m.destination }),
    el("td", {}, badge(m.status)),
    el("td", { class: "num", text: m.attempt + "/" + m.max_attempts }),
    el("td", { text: fmtTime(m.created_at) }),
    el("td", { class: "err", title: m.last_error || "", text: m.last_error ? truncate(m.last_error, 80) : "" }),
    el("td", { class: "write-only row-actions" }, rowActions(m))));
  const head = el("tr", {}, el("th", { class: "write-only" }, all), ["id", "destination", "status", "attempt", "sent", "last error"].map((h) => el("th", { text: h })), el("th", { class: "write-only" }));
  clear(holder).appendChild(el("table", { id: "msg-table" }, el("thead", {}, head),
    el("tbody", {}, rows.length ? rows : el("tr", { class: "empty" }, el("td", { colspan: 8, text: "No messages match." })))));
}

function truncate(s, n) { return s.length > n ? s.slice(0, n - 1) + "…" : s; }

function retryable(m) { return ["failed", "cancelled", "expired"].includes(m.status); }
function cancellable(m) { return ["pending", "scheduled", "retrying"].includes(m.status); }

function deletable(m) { return m.status !== "processing"; }

function rowActions(m) {
  return [
    retryable(m) ? el("button", { class: "small retry", on: { click: () => act("retry", [m.id]) } }, "Retry") : null,
    cancellable(m) ? el("button", { class: "small cancel", on: { click: () => act("cancel", [m.id]) } }, "Cancel") : null,
    deletable(m) ? el("button", { class: "small delete", on: { click: () => act("delete", [m.id]) } }, "Delete") : null,
  ];
}

// act runs retry, cancel or delete on each id, then reloads the page.
async function act(action, ids) {
  if (action === "delete") return deleteIDs(ids);
  const errors = [];
  for (const id of ids) {
    try { await api("POST", "messages/" + encodeURIComponent(id) + "/" + action); }
    catch (e) { errors.push(id + ": " + e.message); }
  }
  const done = ids.length - errors.length;
  banner(errors.length ? `${action}: ${done} done, ${errors.length} refused — ${errors.slice(0, 3).join("; ")}` : `${action}: ${done} message(s) done`, errors.length ? "error" : "ok");
  if (state.reload) await state.reload();
}

// deleteIDs deletes a selection in one request; running messages are
// kept and reported.
async function deleteIDs(ids) {
  try {
    const r = await api("POST", "messages/delete", { ids });
    const left = [...r.processing.map((id) => id + ": processing"), ...r.not_found.map((id) => id + ": not found")];
    banner(left.length ? `delete: ${r.deleted.length} deleted, ${left.length} refused — ${left.slice(0, 3).join("; ")}` : `delete: ${r.deleted.length} message(s) deleted`, left.length ? "error" : "ok");
  } catch (e) { banner(e.message); }
  if (state.reload) await state.reload();
}

function renderBulk(bar, selected, reload) {
  delete bar.dataset.confirming;
  clear(bar);
  if (!selected.size) { bar.appendChild(el("span", { class: "muted", text: "Select messages to retry, cancel or delete them together." })); return; }
  const ids = () => [...selected];
  const confirmThen = (action) => {
    bar.dataset.confirming = action;
    clear(bar).append(el("span", { text: `${action} ${selected.size} message(s)?` }),
      el("button", { id: "bulk-confirm", class: "primary", on: { click: async () => { const list = ids(); selected.clear(); renderBulk(bar, selected, reload); await act(action, list); } } }, "Yes, " + action),
      el("button", { on: { click: () => renderBulk(bar, selected, reload) } }, "No"));
  };
  bar.append(el("span", { text: selected.size + " selected " }),
    el("button", { id: "bulk-retry", on: { click: () => confirmThen("retry") } }, "Retry selected"),
    el("button", { id: "bulk-cancel", on: { click: () => confirmThen("cancel") } }, "Cancel selected"),
    el("button", { id: "bulk-delete", on: { click: () => confirmThen("delete") } }, "Delete selected"),
    el("button", { class: "link", on: { click: () => { selected.clear(); reload(); } } }, "Clear selection"));
}

function sendForm() {
  const f = (name, label, attrs) => el("label", {}, label + " ", el("input", { name, id: "s-" + name, ...attrs }));
  const content = el("textarea", { name: "content", id: "s-content", rows: 3, cols: 40, text: "{}" });
  const priority = el("select", { name: "priority", id: "s-priority" }, ["low", "normal", "high", "urgent"].map((p) => el("option", { value: p, text: p })));
  priority.value = "normal";
  const out = el("span", { id: "send-result", class: "muted" });
  const form = el("form", { id: "send-form", class: "card send write-only", on: { submit: async (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    let body;
    try { body = { destination: data.get("destination"), content: JSON.parse(data.get("content")), priority: data.get("priority") }; }
    catch (_) { out.textContent = "content must be valid JSON"; out.className = "error-text"; return; }
    if (data.get("id")) body.id = data.get("id");
    if (data.get("delay")) body.delay_seconds = Number(data.get("delay"));
    if (data.get("max_attempts")) body.max_attempts = Number(data.get("max_attempts"));
    const tags = String(data.get("tags") || "").split(",").map((t) => t.trim()).filter(Boolean);
    if (tags.length) body.tags = tags;
    try {
      const r = await api("POST", "messages", body);
      clear(out).append("sent ", el("a", { href: "#/message/" + encodeURIComponent(r.id), class: "mono", id: "sent-id", text: r.id }));
      out.className = "ok-text";
      if (state.reload) await state.reload();
    } catch (e) { out.textContent = e.message; out.className = "error-text"; }
  } } },
  el("h2", { text: "Send a message" }),
  el("div", { class: "row" }, f("destination", "Destination", { required: true, placeholder: "handler name" }), f("id", "Id", { placeholder: "optional" }),
    el("label", {}, "Priority ", priority)),
  el("div", { class: "row" }, el("label", { class: "grow" }, "Content (JSON) ", content)),
  el("div", { class: "row" }, f("delay", "Delay (s)", { type: "number", min: 0, step: "any" }), f("max_attempts", "Max attempts", { type: "number", min: 0 }),
    f("tags", "Tags", { placeholder: "comma,separated" }),
    el("button", { type: "submit", id: "send-submit", class: "primary", text: "Send" }), out));
  return form;
}

// ---- message detail ------------------------------------------------------

async function pageMessage(r, main) {
  const id = r.arg;
  main.appendChild(el("h1", { id: "page-title" }, "Message ", el("span", { class: "mono", text: id })));
  const holder = el("div", { id: "message-detail" });
  main.appendChild(holder);
  const load = async () => {
    let m;
    try { m = await api("GET", "messages/" + encodeURIComponent(id)); }
    catch (e) { if (e.status === 404) { clear(holder).appendChild(el("p", { class: "card", text: "No message with this id." })); stopTimer(); return; } throw e; }
    renderMessage(holder, m);
    if (["completed", "failed", "cancelled", "expired"].includes(m.status)) stopTimer();
  };
  state.reload = load;
  await load();
  if (!state.timer) every(() => load().catch((e) => banner(e.message)));
}

function renderMessage(holder, m) {
  const kv = (k, v) => el("tr", {}, el("th", { text: k }), el("td", {}, v));
  const mono = (v) => el("span", { class: "mono", text: v === null || v === undefined ? "—" : v });
  clear(holder).append(
    el("div", { class: "card actions write-only" }, badge(m.status), " ", rowActions(m)),
    el("div", { class: "grid2" },
      section("Fields", el("table", { class: "kv" }, el("tbody", {},
        kv("status", badge(m.status)), kv("destination", mono(m.destination)), kv("type", mono(m.type)),
        kv("source", mono(m.source || "—")), kv("priority", m.priority), kv("shard", String(m.shard)),
        kv("shard key", mono(m.shard_key)),
        kv("attempt", m.attempt + " of " + m.max_attempts + (m.retry_count ? ` (${m.retry_count} retried)` : "")),
        kv("tags", m.tags.length ? m.tags.map((t) => el("span", { class: "tag", text: t })) : "—"),
        kv("lease holder", mono(m.lease_owner)), kv("lease expires", fmtTime(m.lease_expires_at))))),
      section("Times", el("table", { class: "kv" }, el("tbody", {},
        kv("sent", fmtTime(m.created_at)), kv("runs at", fmtTime(m.run_at)), kv("updated", fmtTime(m.updated_at)),
        kv("finished", fmtTime(m.finished_at)), kv("expires", fmtTime(m.expire_at)),
        kv("sent → finished", m.finished_at ? fmtAge((new Date(m.finished_at) - new Date(m.created_at)) / 1000) : "—"))))),
    section("Error", m.last_error ? el("pre", { id: "m-error", class: "err", text: m.last_error }) : el("p", { class: "muted", text: "No error." })),
    section("Attempts", table("attempts-table", ["attempt", "ended", "error"], (m.errors || []).map((e) => el("tr", { "data-attempt": e.attempt },
      el("td", { class: "num", text: e.attempt }), el("td", { text: fmtTime(e.at) }), el("td", {}, el("pre", { class: "err", text: e.error })))),
      "No attempt has failed."), el("p", { class: "muted small", text: "Every failed attempt's error, oldest first (the newest 20 are kept)." })),
    section("Content", el("pre", { id: "m-content", text: fmtJSON(m.content) })),
    section("Result", el("pre", { id: "m-result", text: fmtJSON(m.result) })),
    section("Metadata", el("pre", { id: "m-metadata", text: fmtJSON(m.metadata) })));
}

// ---- groups --------------------------------------------------------------

// groupMembersShown bounds the members the groups page reads one by one.
const groupMembersShown = 100;

async function pageGroups(r, main) {
  main.appendChild(el("h1", { id: "page-title", text: "Groups" }));
  const input = el("input", { id: "group-id", placeholder: "group id", value: r.arg || "", required: true, size: 40 });
  main.appendChild(el("form", { id: "group-form", class: "card filters", on: { submit: (ev) => {
    ev.preventDefault();
    location.hash = "#/groups/" + encodeURIComponent(input.value);
  } } }, el("p", { class: "muted", text: "A group is a batch sent with SendGroup (POST /v1/groups); its result counts its members per status." }),
  el("label", {}, "Group ", input), el("button", { type: "submit", id: "group-show", class: "primary", text: "Show" })));
  if (!r.arg) return;
  const holder = el("div", { id: "group-detail" });
  main.appendChild(holder);
  const load = async () => {
    let g;
    try { g = await api("GET", "groups/" + encodeURIComponent(r.arg)); }
    catch (e) { if (e.status === 404) { clear(holder).appendChild(el("p", { class: "card", id: "group-missing", text: "No group with this id." })); stopTimer(); return; } throw e; }
    const members = await Promise.all(g.message_ids.slice(0, groupMembersShown).map((id) =>
      api("GET", "messages/" + encodeURIComponent(id)).catch((e) => ({ id, status: e.status === 404 ? "missing" : "unknown", destination: "" }))));
    const counts = Object.entries(g.counts).filter(([, n]) => n > 0).map(([s, n]) => el("span", { class: "group-count", "data-status": s }, badge(s), " " + n + " "));
    clear(holder).append(
      section("Result", el("p", { id: "group-state", "data-finished": String(g.finished) },
        g.finished ? "Finished " + fmtTime(g.finished_at) : "Running", " — ", g.message_ids.length + " member(s), sent " + fmtTime(g.created_at)),
        el("p", { id: "group-counts" }, counts, g.missing ? el("span", { class: "muted", text: g.missing + " no longer stored" }) : null)),
      section("Members", table("group-members", ["id", "destination", "status", "attempt", "last error"], members.map((m) => el("tr", { "data-id": m.id, "data-status": m.status },
        el("td", {}, el("a", { class: "mono id", href: "#/message/" + encodeURIComponent(m.id), text: m.id })),
        el("td", { class: "mono", text: m.destination }), el("td", {}, badge(m.status)),
        el("td", { class: "num", text: m.attempt === undefined ? "—" : m.attempt + "/" + m.max_attempts }),
        el("td", { class: "err", text: m.last_error ? truncate(m.last_error, 80) : "" }))), "No members."),
        g.message_ids.length > groupMembersShown ? el("p", { class: "muted small", text: `the first ${groupMembersShown} of ${g.message_ids.length} are shown` }) : null));
    if (g.finished) stopTimer();
  };
  await load();
  if (!state.timer) every(() => load().catch((e) => banner(e.message)));
}

// ---- listeners -----------------------------------------------------------

async function pageListeners(_r, main) {
  main.appendChild(el("h1", { id: "page-title", text: "Listeners" }));
  const groups = el("div", {}), entries = el("div", {}), changes = el("div", {});
  main.append(section("Listener groups", groups), section("Keys and values", entries), section("Recent changes", changes));
  const value = (v) => v ? el("span", { class: "mono value", title: v.kind, text: typeof v.value === "string" ? v.value : JSON.stringify(v.value) }) : el("span", { class: "muted", text: "—" });
  const refresh = async () => {
    const [g, d] = await Promise.all([api("GET", "listen-groups"), api("GET", "listen-data")]);
    const after = Math.max(0, g.last_seq - 50);
    const c = await api("GET", "listen-changes" + query({ after, limit: 50 }));
    clear(groups).appendChild(table("groups-table", ["group", "cursor", "lag", "lease holder", "lease until", "failures"],
      g.groups.map((x) => el("tr", {}, el("td", { class: "mono", text: x.name }), el("td", { class: "num", text: x.cursor }),
        el("td", { class: "num" + (x.lag ? " warn" : ""), text: x.lag }), el("td", { class: "mono", text: x.lease_owner || "—" }),
        el("td", { text: fmtTime(x.lease_until) }), el("td", { class: "num", text: x.failures }))), "No listener group has run yet."));
    groups.appendChild(el("p", { class: "muted small", text: `change log holds seq ${g.first_seq} to ${g.last_seq}` }));
    clear(entries).appendChild(table("entries-table", ["key", "kind", "value", "version", "updated"],
      d.entries.map((e) => el("tr", {}, el("td", { class: "mono", text: e.key }), el("td", { text: e.kind }),
        el("td", {}, value(e)), el("td", { class: "num", text: e.version }), el("td", { text: fmtTime(e.updated_at) }))), "No listen data."));
    clear(changes).appendChild(table("changes-table", ["seq", "time", "key", "old", "new"],
      c.changes.slice().reverse().map((x) => el("tr", {}, el("td", { class: "num", text: x.seq }), el("td", { text: fmtTime(x.time) }),
        el("td", { class: "mono", text: x.key }), el("td", {}, value(x.old)), el("td", {}, value(x.new)))), "No changes."));
  };
  await refresh();
  every(() => refresh().catch((e) => banner(e.message)));
}

// ---- shards --------------------------------------------------------------

async function pageShards(_r, main) {
  main.appendChild(el("h1", { id: "page-title", text: "Shards" }));
  const holder = el("div", { class: "card" });
  main.appendChild(holder);
  const refresh = async () => {
    const s = await api("GET", "shards");
    clear(holder).append(el("p", { class: "muted", text: s.count + " shard(s)" }),
      table("shards-table", ["shard", "total", ...STATUSES, "oldest waiting"], s.shards.map((x) => el("tr", {},
        el("td", { class: "num", text: x.shard }), el("td", { class: "num", text: x.total }),
        STATUSES.map((st) => el("td", { class: "num" + (x.by_status[st] ? "" : " zero"), text: x.by_status[st] || 0 })),
        el("td", { text: x.oldest_pending ? fmtAge(x.oldest_pending_age_seconds) : "—" })))));
  };
  await refresh();
  every(() => refresh().catch((e) => banner(e.message)));
}

// ---- start ---------------------------------------------------------------

document.getElementById("logout").addEventListener("click", () => { sessionStorage.removeItem(TOKEN_KEY); showLogin(""); });
window.addEventListener("hashchange", route);
loadAccess().then(route, (e) => { if (e.status !== 401) banner(e.message); });
