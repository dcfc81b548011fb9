/**
 * The /admin status page: one self-contained document (no build step, no external asset), which polls
 * /admin/api/status every two seconds and renders it with textContent only (nothing the proxy reports
 * is ever parsed as HTML). Laid out for a phone first: sections stack, wide tables scroll sideways.
 */
export const ADMIN_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>mcp-fed status</title>
<style>
  :root { color-scheme: light dark; --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --line: #8884; }
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; padding: 12px; }
  header { display: flex; flex-wrap: wrap; gap: 4px 16px; align-items: baseline; }
  h1 { font-size: 18px; margin: 0 12px 0 0; }
  h2 { font-size: 15px; margin: 20px 0 6px; }
  .meta { color: #888; }
  .scroll { overflow-x: auto; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
  td.wrap { white-space: normal; word-break: break-word; min-width: 12em; }
  .state { font-weight: 600; }
  .ready, .ok, .allow { color: var(--ok); }
  .down, .error, .closed, .deny_acl, .hook_rejected, .hook_failed, .rate_limited, .pii_blocked,
  .upstream_error, .unknown_tool, .hop_limit { color: var(--bad); }
  .connecting, .tool_error { color: var(--warn); }
  #stale { color: var(--bad); display: none; }
  input { font: inherit; padding: 4px 6px; max-width: 100%; }
  .chips span { display: inline-block; margin: 2px 8px 2px 0; }
</style>
</head>
<body>
<header>
  <h1>mcp-fed</h1>
  <span>config <code id="version">…</code></span>
  <span id="reload" class="meta"></span>
  <span id="uptime" class="meta"></span>
  <span id="stale">not updating: <span id="stale-why"></span></span>
</header>

<h2>Upstreams</h2>
<div class="scroll"><table id="upstreams">
  <thead><tr><th>name</th><th>state</th><th>era</th><th>transport</th><th>sessions</th><th>identity</th><th>calls (5 min)</th>
  <th>p50 / p99 ms</th><th>errors</th><th>reconnects</th><th>resumes</th><th>last error</th></tr></thead>
  <tbody></tbody>
</table></div>

<h2>Policy decisions</h2>
<div id="decisions" class="chips"></div>

<h2>Recent calls</h2>
<div class="scroll"><table id="calls">
  <thead><tr><th>time</th><th>caller</th><th>tool</th><th>decision</th><th>status</th><th>ms</th></tr></thead>
  <tbody></tbody>
</table></div>

<h2>Catalog <span id="collisions" class="meta"></span></h2>
<input id="filter" type="search" placeholder="filter by name or upstream" aria-label="filter the catalog">
<div class="scroll"><table id="catalog">
  <thead><tr><th>public name</th><th>kind</th><th>upstream</th><th>upstream name</th><th>shortened</th></tr></thead>
  <tbody></tbody>
</table></div>

<script>
"use strict";
const $ = (id) => document.getElementById(id);
let last;

function cell(text, cls, wrap) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "–" : String(text);
  if (cls) td.className = cls;
  if (wrap) td.classList.add("wrap");
  return td;
}

function rows(table, items, toCells) {
  const body = $(table).querySelector("tbody");
  const fresh = document.createDocumentFragment();
  for (const item of items) {
    const tr = document.createElement("tr");
    for (const td of toCells(item)) tr.appendChild(td);
    fresh.appendChild(tr);
  }
  body.replaceChildren(fresh);
}

function render(s) {
  last = s;
  $("version").textContent = s.configVersion;
  const r = s.lastReload;
  $("reload").textContent = r
    ? "last reload " + new Date(r.at).toLocaleTimeString() + (r.ok ? ": applied" : ": refused (" + (r.problems || []).map((p) => p.path).join(", ") + ")")
    : "no reload since start";
  $("uptime").textContent = "up " + s.uptimeSeconds + " s";
  rows("upstreams", s.upstreams, (u) => [
    cell(u.name), cell(u.state, "state " + u.state), cell(u.era), cell(u.transport), cell(u.sessionMode),
    cell(u.identity + (u.grants === null ? "" : " (" + u.grants + " grants)")), cell(u.calls), cell(u.p50Ms === null ? null : u.p50Ms + " / " + u.p99Ms),
    cell(Math.round(u.errorRate * 1000) / 10 + "%"), cell(u.reconnects), cell(u.resumes), cell(u.lastError, "", true),
  ]);
  const chips = document.createDocumentFragment();
  for (const [d, n] of Object.entries(s.decisions)) {
    const span = document.createElement("span");
    span.className = d;
    span.textContent = d + ": " + n;
    chips.appendChild(span);
  }
  $("decisions").replaceChildren(chips);
  rows("calls", s.calls.slice(0, 50), (c) => [
    cell(new Date(c.at).toLocaleTimeString()), cell(c.caller), cell(c.tool, "", true),
    cell(c.decision, c.decision), cell(c.status, c.status), cell(c.latencyMs),
  ]);
  renderCatalog();
  $("collisions").textContent = s.catalog.collisions.length ? s.catalog.collisions.length + " collision(s): " + s.catalog.collisions.join("; ") : "";
}

function renderCatalog() {
  if (!last) return;
  const q = $("filter").value.trim().toLowerCase();
  const entries = last.catalog.entries.filter((e) => !q || e.name.toLowerCase().includes(q) || e.upstream.toLowerCase().includes(q));
  rows("catalog", entries, (e) => [cell(e.name, "", true), cell(e.kind), cell(e.upstream), cell(e.upstreamName, "", true), cell(e.shortened ? "yes" : "")]);
}

async function refresh() {
  try {
    const res = await fetch("/admin/api/status", { credentials: "same-origin", cache: "no-store" });
    if (!res.ok) throw new Error("HTTP " + res.status);
    render(await res.json());
    $("stale").style.display = "none";
  } catch (err) {
    $("stale-why").textContent = err.message;
    $("stale").style.display = "inline";
  }
}

$("filter").addEventListener("input", renderCatalog);
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
`;
