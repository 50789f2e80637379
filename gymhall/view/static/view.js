// gymhall view: the page over /api/*. Plain DOM, no framework, no build step.
// Every text from a rollout goes in through textContent (el below), never innerHTML: rollouts are untrusted.
"use strict";

const main = document.getElementById("main");
const state = { runs: [], follow: false, versions: {}, table: { sort: "task", desc: false, failed: false, zero: false, q: "", offset: 0 } };
const PAGE = 100;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(path) {
  const answer = await fetch(path);
  const body = await answer.json();
  if (!answer.ok) throw Object.assign(new Error(body.error || answer.statusText), { status: answer.status });
  return body;
}

const fmt = (v, digits = 3) => (v === null || v === undefined ? "–" : typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(digits)) : String(v));
const fixed = (v, digits) => (v === null || v === undefined ? "–" : Number(v).toFixed(digits));
const pct = (v) => (v === null || v === undefined ? "–" : (100 * v).toFixed(1) + "%");
const seconds = (v) => (v < 1 ? (1000 * v).toFixed(1) + " ms" : v.toFixed(2) + " s");
const json = (v) => (typeof v === "string" ? v : JSON.stringify(v, null, 2));

function prettyArguments(text) {
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch (e) { return String(text); }
}

function chipClass(cell, threshold) {
  if (!cell) return "chip missing";
  if (!cell.ok) return "chip failed";
  if (cell.reward === null) return "chip";
  return "chip " + (cell.reward >= threshold ? "pass" : cell.reward === 0 ? "zero" : "part");
}

function chip(cell, href, threshold) {
  const label = !cell ? "–" : !cell.ok ? "✗ " + (cell.stage || "") : fmt(cell.reward, 2);
  const title = cell ? `rollout ${cell.rollout}` : "missing";
  return href ? el("a", { class: chipClass(cell, threshold), href, title, "data-testid": "repeat" }, label)
              : el("span", { class: chipClass(cell, threshold), title }, label);
}

// ---- navigation -------------------------------------------------------------------------------------

async function loadRuns() {
  const body = await api("/api/runs");
  state.runs = body.runs;
  state.follow = body.follow;
  const nav = document.getElementById("nav");
  nav.replaceChildren(
    ...state.runs.map((run) => el("a", { href: `#/run/${run.run}`, "data-run": run.run }, run.name)),
    state.runs.length > 1 ? el("a", { href: "#/compare/0/1", "data-testid": "nav-compare" }, "compare") : null,
  );
  document.getElementById("follow").textContent = state.follow ? "following the files" : "";
  return body;
}

function markNav(hash) {
  for (const link of document.querySelectorAll("nav a")) link.classList.toggle("active", hash.startsWith(link.getAttribute("href")));
}

async function route() {
  const hash = location.hash || "#/run/0";
  markNav(hash);
  const parts = hash.slice(2).split("/");
  try {
    if (parts[0] === "compare" && parts[3] === "pair") await showPair(+parts[1], +parts[2], parts[4], parts[5]);
    else if (parts[0] === "compare") await showCompare(+parts[1], +parts[2]);
    else if (parts[2] === "rollout") await showRollout(+parts[1], +parts[3]);
    else await showRun(+(parts[1] || 0));
  } catch (error) {
    if (error.status === 409 && error.message === "still indexing") return showIndexing();
    main.replaceChildren(el("p", { class: "error", "data-testid": "error" }, String(error.message)));
  }
}

async function showIndexing() {
  const body = await loadRuns();
  main.replaceChildren(
    el("h2", {}, "Indexing…"),
    ...body.runs.map((run) => el("p", { "data-testid": "progress" },
      `${run.name}: ${(run.bytes_read / 1e6).toFixed(0)} of ${(run.size / 1e6).toFixed(0)} MB, ${run.rollouts} rollouts` +
      (run.ready ? "" : run.bytes_read >= run.size ? " (computing the summary)" : ""))),
  );
  setTimeout(route, 300);
}

// ---- one run: summary and task table ----------------------------------------------------------------

function card(label, value, note, testid) {
  return el("div", { class: "card", "data-testid": testid }, el("div", { class: "label" }, label),
    el("div", { class: "value" }, value), note ? el("div", { class: "note" }, note) : null);
}

function histogram(title, hist) {
  const width = 260, height = 90, bins = hist.bins;
  const top = Math.max(1, ...bins.map((b) => b.count));
  const barWidth = bins.length ? width / bins.length : width;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("width", width); svg.setAttribute("height", height + 14);
  bins.forEach((bin, i) => {
    const h = Math.round((bin.count / top) * height);
    const rect = document.createElementNS(svg.namespaceURI, "rect");
    rect.setAttribute("x", i * barWidth + 1); rect.setAttribute("y", height - h);
    rect.setAttribute("width", Math.max(1, barWidth - 2)); rect.setAttribute("height", h);
    const tip = document.createElementNS(svg.namespaceURI, "title");
    tip.textContent = `${bin.label}: ${bin.count}`;
    rect.append(tip); svg.append(rect);
    if (bins.length <= 12 || i % 5 === 0) {
      const label = document.createElementNS(svg.namespaceURI, "text");
      label.setAttribute("x", i * barWidth + 2); label.setAttribute("y", height + 11);
      label.textContent = bins.length <= 12 ? `${bin.label} (${bin.count})` : bin.label;
      svg.append(label);
    }
  });
  return el("div", { class: "hist", "data-testid": "histogram" }, el("div", { class: "title" }, `${title} (${hist.count})`), svg);
}

function summaryView(s) {
  const km = s.key_metrics, counts = s.counts;
  const passKeys = Object.keys(s["pass@k"]);
  const highest = passKeys.length;
  const cards = [
    card("rollouts", counts.lines, `${counts.tasks} tasks`, "rollouts"),
    card("ok", counts.ok, null, "ok"),
    card("failed", counts.failed, pct(km.failure_rate), "failed"),
    card("mean reward", fixed(km["mean/reward"], 4), `over ${counts.ok} of ${counts.lines} rollouts (coverage ${pct(km.coverage)})`, "mean-reward"),
  ];
  if (highest) cards.push(card("pass@1", fixed(km["pass@1"], 4), null, "pass-1"));
  if (highest > 1) cards.push(card(`pass@${highest}`, fixed(km[`pass@${highest}`], 4), null, "pass-k"));
  if (s["majority@k"] && highest) cards.push(card(`majority@${highest}`, fixed(km[`majority@${highest}`], 4), `votes on ${s.answer_key}`, "majority-k"));
  const parts = [el("div", { class: "cards", "data-testid": "summary" }, cards)];
  if (s.bad_line_count) parts.push(el("p", { class: "error" }, `${s.bad_line_count} lines are not JSON objects and were skipped (lines ${s.bad_lines.join(", ")}).`));

  const side = [];
  if (s.failures.length) {
    side.push(el("h3", {}, "Failures by stage"), el("table", { "data-testid": "failures" },
      el("tr", {}, el("th", {}, "stage"), el("th", { class: "num" }, "count"), el("th", {}, "most common messages")),
      s.failures.map((f) => el("tr", {}, el("td", {}, f.stage), el("td", { class: "num" }, f.count),
        el("td", {}, f.messages.map((m) => el("div", {}, `${m.count} × ${m.message}`)))))));
  }
  if (s.timings.length) {
    side.push(el("h3", {}, "Timings"), el("table", { "data-testid": "timings" },
      el("tr", {}, el("th", {}, "stage"), el("th", { class: "num" }, "p50"), el("th", { class: "num" }, "p99"), el("th", { class: "num" }, "n")),
      s.timings.map((t) => el("tr", {}, el("td", {}, t.stage), el("td", { class: "num" }, seconds(t.p50)),
        el("td", { class: "num" }, seconds(t.p99)), el("td", { class: "num" }, t.n)))));
  }
  if (s.tokens.length) {
    side.push(el("h3", {}, "Tokens"), el("table", { "data-testid": "tokens" },
      el("tr", {}, el("th", {}, ""), el("th", { class: "num" }, "total"), el("th", { class: "num" }, "mean")),
      s.tokens.map((t) => el("tr", {}, el("td", {}, t.name), el("td", { class: "num" }, fmt(t.total, 0)), el("td", { class: "num" }, fmt(t.mean, 1))))));
  }
  const atK = el("table", { "data-testid": "at-k" }, el("tr", {}, el("th", {}, "k"), el("th", { class: "num" }, "pass@k"),
    s["majority@k"] ? el("th", { class: "num" }, "majority@k") : null, el("th", { class: "num" }, "tasks")),
    passKeys.map((key, i) => el("tr", {}, el("td", {}, i + 1), el("td", { class: "num" }, fixed(s["pass@k"][key], 4)),
      s["majority@k"] ? el("td", { class: "num" }, fixed(s["majority@k"][`majority@${i + 1}`], 4)) : null,
      el("td", { class: "num" }, s["num_tasks@k"][String(i + 1)]))));
  const hists = [histogram("reward", s.reward_histogram),
    ...Object.entries(s.component_histograms).map(([name, h]) => histogram(name, h))];
  parts.push(el("div", { class: "grid2" },
    el("div", {}, el("h3", {}, `Reward, and ${s.component_title}`), el("div", {}, hists), el("h3", {}, "pass@k"), atK),
    el("div", {}, side)));
  return parts;
}

function tableQuery(run) {
  const t = state.table;
  const params = new URLSearchParams({ run, sort: t.sort, desc: t.desc ? 1 : 0, failed: t.failed ? 1 : 0, zero: t.zero ? 1 : 0, q: t.q, offset: t.offset, limit: PAGE });
  return "/api/tasks?" + params;
}

async function renderTable(run, container, threshold) {
  const body = await api(tableQuery(run));
  const t = state.table;
  const header = (key, label, cls) => el("th", {
    class: `sortable ${cls || ""} ${t.sort === key ? "sorted" : ""}`, "data-sort": key,
    onclick: () => { t.desc = t.sort === key ? !t.desc : key !== "task"; t.sort = key; t.offset = 0; renderTable(run, container, threshold); },
  }, label + (t.sort === key ? (t.desc ? " ▼" : " ▲") : ""));
  const rows = body.rows.map((row) => el("tr", { "data-testid": "task-row", "data-task": row.task },
    el("td", {}, row.task), el("td", { class: "prompt", title: row.prompt }, row.prompt),
    el("td", {}, row.rollouts.map((cell) => chip(cell, `#/run/${run}/rollout/${cell.id}`, threshold))),
    el("td", { class: "num" }, fixed(row.mean_reward, 3)), el("td", { class: "num" }, row.failed)));
  const pager = el("div", { class: "pager" },
    el("span", { "data-testid": "table-count" }, `${body.total ? t.offset + 1 : 0}–${t.offset + body.rows.length} of ${body.total} tasks` + (body.total !== body.tasks_total ? ` (filtered from ${body.tasks_total})` : "")),
    el("button", { disabled: t.offset === 0, onclick: () => { t.offset = Math.max(0, t.offset - PAGE); renderTable(run, container, threshold); } }, "previous"),
    el("button", { disabled: t.offset + PAGE >= body.total, onclick: () => { t.offset += PAGE; renderTable(run, container, threshold); } }, "next"));
  container.replaceChildren(pager, el("table", { "data-testid": "tasks" },
    el("tr", {}, header("task", "task"), el("th", {}, "prompt"), header("repeats", "repeats"), header("reward", "mean reward", "num"), header("failed", "failed", "num")),
    rows));
}

async function showRun(run) {
  const summary = await api(`/api/summary?run=${run}`);
  state.versions[run] = summary.version;
  const t = state.table;
  const container = el("div", {});
  const threshold = summary.success_threshold;
  let timer = null;
  const controls = el("div", { class: "controls" },
    el("label", {}, el("input", { type: "checkbox", "data-testid": "filter-failed", checked: t.failed, onchange: (e) => { t.failed = e.target.checked; t.offset = 0; renderTable(run, container, threshold); } }), " failed only"),
    el("label", {}, el("input", { type: "checkbox", "data-testid": "filter-zero", checked: t.zero, onchange: (e) => { t.zero = e.target.checked; t.offset = 0; renderTable(run, container, threshold); } }), " reward 0 only"),
    el("input", { type: "search", placeholder: "search task, prompt, failure…", value: t.q, "data-testid": "search",
      oninput: (e) => { clearTimeout(timer); timer = setTimeout(() => { t.q = e.target.value; t.offset = 0; renderTable(run, container, threshold); }, 200); } }));
  main.replaceChildren(el("h2", {}, summary.path), ...summaryView(summary), el("h2", {}, "Tasks"), controls, container);
  await renderTable(run, container, threshold);
}

// ---- one trajectory ---------------------------------------------------------------------------------

function itemView(item) {
  const parts = [el("div", { class: "kind" }, item.kind === "message" ? item.role : item.kind.replace(/_/g, " "))];
  if (item.kind === "function_call") parts.push(el("pre", { "data-testid": "tool-call" }, `${item.name}(${prettyArguments(item.arguments)})`));
  else if (item.kind === "reasoning") parts.push(el("details", { open: true }, el("summary", {}, "reasoning"), el("pre", {}, item.text)));
  else if (item.text !== undefined) parts.push(el("pre", {}, item.text));
  else parts.push(el("pre", {}, json(item.raw)));
  if (item.tokens) {
    parts.push(el("details", { "data-testid": "token-ids" }, el("summary", {}, "token ids and logprobs"),
      Object.entries(item.tokens).map(([k, v]) => el("div", {}, el("b", {}, k + ": "), el("pre", {}, JSON.stringify(v))))));
  }
  return el("div", { class: `item ${item.kind} ${item.role || ""}` }, parts);
}

function stepView(step) {
  const label = step.kind === "tool" ? `tool output${step.name ? " · " + step.name : ""}` : "model turn";
  return el("div", { class: "step", "data-testid": `step-${step.kind}` }, el("div", { class: "kind" }, label), step.items.map(itemView));
}

function kvTable(object, testid) {
  return el("table", { "data-testid": testid }, Object.entries(object || {}).map(([k, v]) =>
    el("tr", {}, el("td", {}, k), el("td", {}, typeof v === "object" && v !== null ? el("pre", {}, json(v)) : fmt(v, 4)))));
}

function trajectoryParts(r) {
  const parts = [
    el("p", { "data-testid": "rollout-head" }, `task ${r.task} · rollout ${r.rollout} · line ${r.line_number} · `,
      el("span", { class: `status-${r.status}`, "data-testid": "rollout-status" }, r.status),
      r.reward !== null ? ` · reward ${fmt(r.reward, 4)}` : "", r.model ? ` · model ${r.model}` : ""),
  ];
  if (r.failure) {
    parts.push(el("div", { class: "failure", "data-testid": "failure" }, el("b", {}, `failed at ${r.failure.stage}`),
      r.failure.attempts ? ` after ${r.failure.attempts} attempt(s)` : "", el("pre", {}, r.failure.error || "")));
  }
  if (r.instructions) parts.push(el("h3", {}, "Instructions"), el("pre", {}, r.instructions));
  parts.push(el("h3", {}, "Input"), ...r.input.map(itemView));
  parts.push(el("h3", {}, `Trajectory (${r.steps.length} steps)`), ...r.steps.map(stepView));
  if (r.reward_components) parts.push(el("h3", {}, "Reward components"), kvTable(r.reward_components, "components"));
  // Without <stem>_inputs.json the row's fields cannot be told from verify's: say so rather than guess.
  const verifyTitle = r.status === "failed" ? "Row fields (no verify: the rollout failed)"
    : Object.keys(r.row).length ? "Verify" : "Verify, with the row's fields";
  parts.push(el("h3", {}, verifyTitle), kvTable(r.verify, "verify"));
  if (r.timings) parts.push(el("h3", {}, "Timings"), el("table", { "data-testid": "rollout-timings" },
    Object.entries(r.timings).map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", { class: "num" }, seconds(v))))));
  if (r.usage) parts.push(el("h3", {}, "Usage"), el("pre", {}, json(r.usage)));
  if (Object.keys(r.row).length) parts.push(el("details", {}, el("summary", {}, "dataset row fields"), kvTable(r.row, "row")));
  return parts;
}

async function showRollout(run, id) {
  const r = await api(`/api/rollout?run=${run}&id=${id}`);
  main.replaceChildren(el("p", {}, el("a", { href: `#/run/${run}` }, "← tasks")), el("div", { "data-testid": "trajectory" }, trajectoryParts(r)));
}

// ---- two runs ---------------------------------------------------------------------------------------

async function showCompare(a, b) {
  let q = "", offset = 0;
  const container = el("div", {});
  const pick = (which, value) => el("select", { "data-testid": `pick-${which}`, onchange: (e) => {
    location.hash = which === "a" ? `#/compare/${e.target.value}/${b}` : `#/compare/${a}/${e.target.value}`; } },
    state.runs.map((run) => el("option", { value: run.run, selected: run.run === value }, run.name)));
  async function render() {
    const body = await api(`/api/compare?a=${a}&b=${b}&offset=${offset}&limit=${PAGE}&q=${encodeURIComponent(q)}`);
    const c = body.counts;
    const rows = body.rows.map((row) => el("tr", { "data-testid": "compare-row", "data-task": row.task },
      el("td", {}, row.task), el("td", { class: "prompt", title: row.prompt }, row.prompt),
      el("td", { class: "num" }, fixed(row.before, 3)), el("td", { class: "num" }, fixed(row.after, 3)),
      el("td", { class: "num " + (row.delta < 0 ? "delta-neg" : row.delta > 0 ? "delta-pos" : "") }, row.delta === null ? "–" : (row.delta > 0 ? "+" : "") + fixed(row.delta, 3)),
      el("td", {}, row.pairs.map((p) => el("a", { href: `#/compare/${a}/${b}/pair/${p.before ? p.before.id : "-"}/${p.after ? p.after.id : "-"}`, "data-testid": "pair", title: `rollout ${p.rollout}` },
        chip(p.before, null, 1), "→", chip(p.after, null, 1), " ")))));
    container.replaceChildren(
      el("p", { "data-testid": "compare-counts" }, `${c.worse} tasks worse, ${c.better} better, ${c.same} the same, ${c.unpaired} in one run only`),
      el("div", { class: "pager" }, `${body.total ? offset + 1 : 0}–${offset + body.rows.length} of ${body.total}`,
        el("button", { disabled: offset === 0, onclick: () => { offset = Math.max(0, offset - PAGE); render(); } }, "previous"),
        el("button", { disabled: offset + PAGE >= body.total, onclick: () => { offset += PAGE; render(); } }, "next")),
      el("table", { "data-testid": "compare" }, el("tr", {}, el("th", {}, "task"), el("th", {}, "prompt"), el("th", { class: "num" }, "before"),
        el("th", { class: "num" }, "after"), el("th", { class: "num" }, "change"), el("th", {}, "repeats (before → after)")), rows));
  }
  let timer = null;
  main.replaceChildren(el("h2", {}, "Compare runs, per task (worse first)"),
    el("div", { class: "controls" }, "before ", pick("a", a), " after ", pick("b", b),
      el("input", { type: "search", placeholder: "search task, prompt…", "data-testid": "compare-search",
        oninput: (e) => { clearTimeout(timer); timer = setTimeout(() => { q = e.target.value; offset = 0; render(); }, 200); } })),
    container);
  await render();
}

async function showPair(a, b, idA, idB) {
  const load = (run, id) => (id === "-" ? Promise.resolve(null) : api(`/api/rollout?run=${run}&id=${id}`));
  const [left, right] = await Promise.all([load(a, idA), load(b, idB)]);
  const name = (run) => state.runs[run] ? state.runs[run].name : `run ${run}`;
  const head = (r, run) => el("div", { class: "panel" }, el("b", {}, name(run)), r ? trajectoryParts(r).slice(0, r.failure ? 2 : 1) : el("p", { class: "muted" }, "no such rollout in this run"));
  const rows = [el("div", { class: "pair-row" }, head(left, a), head(right, b))];
  const steps = Math.max(left ? left.steps.length : 0, right ? right.steps.length : 0);
  let differing = 0;
  for (let i = 0; i < steps; i++) {
    const x = left && left.steps[i], y = right && right.steps[i];
    const same = JSON.stringify(x) === JSON.stringify(y);
    if (!same) differing++;
    rows.push(el("div", { class: `pair-row ${same ? "same" : "diff"}`, "data-testid": same ? "pair-same" : "pair-diff" },
      el("div", {}, x ? stepView(x) : el("p", { class: "muted" }, "—")), el("div", {}, y ? stepView(y) : el("p", { class: "muted" }, "—"))));
  }
  rows.push(el("div", { class: "pair-row" }, el("div", {}, el("h3", {}, "Verify"), left ? kvTable(left.verify, "verify") : null),
    el("div", {}, el("h3", {}, "Verify"), right ? kvTable(right.verify, "verify") : null)));
  main.replaceChildren(el("p", {}, el("a", { href: `#/compare/${a}/${b}` }, "← compare")),
    el("p", { "data-testid": "pair-summary" }, `${differing} of ${steps} steps differ (highlighted)`),
    el("div", { "data-testid": "pair" }, rows));
}

// ---- start, and follow ------------------------------------------------------------------------------

async function poll() {
  try {
    const body = await loadRuns();
    const hash = location.hash || "#/run/0";
    const run = hash.startsWith("#/run/") && !hash.includes("/rollout/") ? +(hash.split("/")[2] || 0) : null;
    if (run !== null && body.runs[run] && state.versions[run] !== undefined && body.runs[run].version !== state.versions[run]) await route();
  } finally {
    setTimeout(poll, 2000);
  }
}

window.addEventListener("hashchange", route);
loadRuns().then(route).then(() => { if (state.follow) setTimeout(poll, 2000); });
