// The review page (after dom.js: $, el, getJson, say). Corpus text (instructions, keys,
// errors, reasons) is only ever written with textContent or as attribute values.
"use strict";

const state = { items: [], total: 0, current: 0, undo: [], detail: false, busy: false };
const form = $("filters");

// -- filters, from the URL's query so that a reload shows the same view -------------------

function fillSelect(select, values, anyLabel = "any") {
  select.replaceChildren(el("option", { value: "", text: anyLabel }));
  for (const [value, count] of values) {
    select.append(el("option", { value, text: `${value} (${count})` }));
  }
}

function readFilters() {
  const params = new URLSearchParams();
  for (const field of form.elements) if (field.name && field.value) params.set(field.name, field.value);
  return params;
}

function restoreFilters() {
  const params = new URLSearchParams(location.search);
  for (const field of form.elements) if (field.name && params.has(field.name)) field.value = params.get(field.name);
  if (params.has("i")) state.current = Number(params.get("i")) || 0;
  state.detail = params.get("view") === "sample";
}

function rememberView() {
  const params = readFilters();
  params.set("i", state.current);
  if (state.detail) params.set("view", "sample");
  history.replaceState(null, "", `?${params}`);
}

async function setUp() {
  const info = await getJson("/api/facets");
  $("name").textContent = info.name;
  document.title = `Review: ${info.name}`;
  $("reviewer").value = localStorage.getItem("reviewer") || info.reviewer;
  for (const [facet, values] of Object.entries(info.facets)) fillSelect(form.elements[facet], values);
  const scoreSelect = form.elements.score, sortSelect = form.elements.sort;
  for (const [score, [low, high]] of Object.entries(info.scores)) {
    scoreSelect.append(el("option", { value: score, text: `${score} (${low.toPrecision(3)}..${high.toPrecision(3)})` }));
    sortSelect.append(el("option", { value: score, text: `${score} ↑` }));
    sortSelect.append(el("option", { value: `-${score}`, text: `${score} ↓` }));
  }
  restoreFilters();
  form.addEventListener("change", (event) => {
    if (event.target.tagName === "SELECT") event.target.blur();  // the keys work at once
    state.current = 0;
    load();
  });
  $("reviewer").addEventListener("change", () => localStorage.setItem("reviewer", $("reviewer").value));
  await load();
}

// -- the grid -------------------------------------------------------------------------------

async function load(append = false) {
  const params = readFilters();
  params.set("offset", append ? state.items.length : 0);
  params.set("limit", 60);
  const page = await getJson(`/api/items?${params}`);
  state.items = append ? state.items.concat(page.items) : page.items;
  state.total = page.total;
  state.current = Math.min(state.current, Math.max(0, state.items.length - 1));
  if (!append && state.current >= state.items.length && state.items.length < state.total) return load(true);
  render();
}

function badge(decision) {
  if (!decision) return el("span", { cls: "badge", text: "undecided" });
  return el("span", { cls: `badge ${decision.decision}`, text: decision.decision,
    title: `${decision.by} at ${decision.decided_at}${decision.reason ? ": " + decision.reason : ""}` });
}

function card(item, i) {
  const node = el("div", { cls: i === state.current ? "card current" : "card", "data-key": item.key,
    "data-decision": item.decision ? item.decision.decision : "undecided" });
  if (item.status === "ok") node.append(el("img", { src: `/api/strip/${item.key}.jpg`, alt: `frames and target of ${item.key}`, loading: "lazy" }));
  node.append(
    el("div", { cls: "instruction", text: item.instruction || "(no instruction)" }),
    el("div", {}, badge(item.decision), " ", el("span", { cls: "meta", text: `${item.task} · ${item.split} · ${item.status}` })),
  );
  if (item.error) node.append(el("div", { cls: "meta error", text: item.error }));
  node.addEventListener("click", () => { state.current = i; render(); });
  return node;
}

function render() {
  $("count").textContent = `${state.total} samples match; ${state.items.length} shown`;
  $("grid").replaceChildren(...state.items.map(card));
  $("grid").hidden = state.detail;
  $("more").textContent = state.items.length < state.total ? "moving past the last card loads more" : "";
  $("detail").hidden = !state.detail;
  if (state.detail) showDetail(); else scrollToCurrent();
  rememberView();
}

function scrollToCurrent() {
  const node = $("grid").children[state.current];
  if (node) node.scrollIntoView({ block: "nearest" });
}

// -- one sample -----------------------------------------------------------------------------

async function showDetail() {
  const item = state.items[state.current];
  if (!item) { $("detail").replaceChildren(el("p", { text: "No sample." })); return; }
  const sample = await getJson(`/api/sample/${item.key}`);
  if (state.items[state.current] !== item) return;  // moved on while it loaded
  const member = (name, label) => el("figure", {},
    el("img", { src: `/api/member/${sample.key}/${name}`, alt: label }), el("figcaption", { cls: "meta", text: label }));
  const frames = el("div", { cls: "frames" });
  sample.frames.forEach((frame, i) => {
    frames.append(member(frame.image, `frame ${i} (${frame.role})${frame.instruction ? ": " + frame.instruction : ""}`));
    if (frame.mask) frames.append(member(frame.mask, `mask ${i} (${frame.mask_role})`));
  });
  if (sample.target) frames.append(member(sample.target, "target"));
  const table = (rows, head) => el("table", {}, el("tr", {}, ...head.map((h) => el("th", { text: h }))),
    ...rows.map((cells) => el("tr", {}, ...cells.map((c) => el("td", { text: String(c ?? "") })))));
  const scores = Object.entries(sample.scores).map(([n, v]) => [n, v.toPrecision(4)]);
  const provenance = Object.entries(sample.provenance).map(([n, v]) => [n, typeof v === "string" ? v : JSON.stringify(v)]);
  const history = sample.history.map((r) => [r.decided_at, r.by, r.decision, r.reason]);
  $("detail").replaceChildren(el("div", {},
    el("h2", {}, el("code", { text: sample.key }), " ", badge(sample.decision)),
    el("p", { cls: "instruction", text: sample.instruction || "(no instruction)" }),
    el("p", { cls: "meta", text: `${sample.task} (${sample.category}) · ${sample.split} · ${sample.status} · instruction from ${sample.instruction_source} · ${sample.shard}` }),
    sample.caption ? el("p", { cls: "meta", text: `caption: ${sample.caption}` }) : null,
    frames,
    table(scores, ["score", "value"]),
    table(provenance, ["provenance", "value"]),
    table(history, ["decided at", "by", "decision", "reason"]),
  ));
}

// -- decisions ------------------------------------------------------------------------------

async function decide(decision, { key, reason, isUndo = false } = {}) {
  const item = key ? state.items.find((it) => it.key === key) : state.items[state.current];
  if (!item || state.busy) return;
  if (item.status !== "ok") { say(`${item.key} is not in the shards (status ${item.status}); nothing to decide`, true); return; }
  const by = $("reviewer").value.trim();
  if (!by) { say("type your name in the reviewer field first", true); $("reviewer").focus(); return; }
  reason = reason ?? $("reason").value.trim();
  state.busy = true;
  try {
    const reply = await getJson("/api/decide", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ keys: [item.key], decision, reason, by }) });
    if (!isUndo) state.undo.push({ key: item.key, previous: item.decision, index: state.current });
    item.decision = decision === "clear" ? null : reply.rows[0];
    $("reason").value = "";
    say(`${isUndo ? "undone: " : ""}${item.key.slice(0, 8)} ${decision} by ${by}`);
    if (!isUndo) await move(1); else render();
  } catch (error) {
    say(error.message, true);
  } finally {
    state.busy = false;
  }
}

async function undo() {
  const last = state.undo.pop();
  if (!last) { say("nothing to undo"); return; }
  state.current = Math.max(0, state.items.findIndex((it) => it.key === last.key));
  const previous = last.previous;
  const reason = previous ? `undo: back to ${previous.by}'s ${previous.decision}` : "undo";
  await decide(previous ? previous.decision : "clear", { key: last.key, reason, isUndo: true });
}

async function move(step) {
  const next = state.current + step;
  if (next >= state.items.length && state.items.length < state.total) await load(true);
  state.current = Math.max(0, Math.min(next, state.items.length - 1));
  render();
}

const KEYS = {
  j: () => move(1), ArrowRight: () => move(1), k: () => move(-1), ArrowLeft: () => move(-1),
  a: () => decide("accept"), r: () => decide("reject"), x: () => decide("reject"),
  v: () => decide("verify"), u: () => undo(),
  Enter: () => { state.detail = !state.detail; render(); },
  Escape: () => { state.detail = false; render(); },
  "/": () => $("reason").focus(),
};

document.addEventListener("keydown", (event) => {
  const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement.tagName);
  if (typing) {
    if (event.key === "Enter" || event.key === "Escape") { document.activeElement.blur(); event.preventDefault(); }
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey) {
    if (event.key === "z") { event.preventDefault(); undo(); }
    return;
  }
  const action = KEYS[event.key];
  if (action) { event.preventDefault(); action(); }
});

setUp().catch((error) => say(error.message, true));
