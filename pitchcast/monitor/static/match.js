// One live match: the pitch (SVG, the feed's 105 x 68 m coordinates), one column of lines
// per persona, batch boundaries, the story so far. Every name and text is set with
// textContent or as an SVG attribute value, never parsed as markup.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const gameId = decodeURIComponent(location.pathname.split("/").pop());
const actions = new Map();   // action_id -> action, every one this page has seen
const lineIds = new Set();
const batchIds = new Set();
let recent = [];             // action ids drawn on the pitch, oldest first
let selectedAction = null;
const RECENT = 12;

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  return node;
}

// The feed's y = 0 is the right flank of a team attacking towards x = 105: draw it at the
// bottom, so the picture is the pitch seen from the main stand.
function px(x) { return x; }
function py(y) { return 68 - y; }

function drawPitch() {
  const pitch = document.getElementById("pitch");
  pitch.replaceChildren();
  const lines = svg("g", { class: "line" });
  lines.append(
    svg("rect", { x: 0, y: 0, width: 105, height: 68 }),
    svg("line", { x1: 52.5, y1: 0, x2: 52.5, y2: 68 }),
    svg("circle", { cx: 52.5, cy: 34, r: 9.15 }),
    svg("rect", { x: 0, y: 13.84, width: 16.5, height: 40.32 }),
    svg("rect", { x: 88.5, y: 13.84, width: 16.5, height: 40.32 }),
    svg("rect", { x: 0, y: 24.84, width: 5.5, height: 18.32 }),
    svg("rect", { x: 99.5, y: 24.84, width: 5.5, height: 18.32 }),
  );
  // Arrowheads for the moves, one per colour (a marker draws in its own colour).
  const defs = svg("defs");
  for (const kind of ["home", "away", "other", "selected"]) {
    const marker = svg("marker", {
      id: "arrow-" + kind, class: "arrow " + kind, viewBox: "0 0 10 10", refX: 8, refY: 5,
      markerWidth: 5, markerHeight: 5, orient: "auto", markerUnits: "strokeWidth",
    });
    marker.append(svg("path", { d: "M 0 0 L 10 5 L 0 10 z" }));
    defs.append(marker);
  }
  pitch.append(defs, lines, svg("g", { id: "moves" }));
}

function actionNode(a, selected) {
  const side = a.side === "home" || a.side === "away" ? a.side : "other";
  const group = svg("g", { id: "a-" + a.action_id, class: "action " + side });
  const title = svg("title");
  title.textContent = a.clock + " " + a.player + " · " + a.type + (a.result ? " · " + a.result : "");
  const [sx, sy] = a.start;
  const [ex, ey] = a.end;
  if (Math.hypot(ex - sx, ey - sy) > 0.5) {
    const arrow = "url(#arrow-" + (selected ? "selected" : side) + ")";
    group.append(svg("line", {
      class: "move", x1: px(sx), y1: py(sy), x2: px(ex), y2: py(ey), "marker-end": arrow,
    }));
  }
  group.append(svg("circle", { class: "dot", cx: px(sx), cy: py(sy), r: 0.9 }), title);
  return group;
}

function redrawMoves() {
  const moves = document.getElementById("moves");
  moves.replaceChildren();
  const shown = recent.slice(-RECENT);
  if (selectedAction !== null && !shown.includes(selectedAction) && actions.has(selectedAction)) {
    shown.push(selectedAction);
  }
  shown.forEach((id, i) => {
    const node = actionNode(actions.get(id), id === selectedAction);
    if (i === shown.length - 1 && id !== selectedAction) node.classList.add("newest");
    if (id === selectedAction) node.classList.add("selected");
    moves.append(node);
  });
}

function addAction(a) {
  actions.set(a.action_id, a);
  if (!recent.includes(a.action_id)) recent.push(a.action_id);
  if (recent.length > 200) recent = recent.slice(-RECENT);
}

function column(persona) {
  let col = document.querySelector('.column[data-persona="' + CSS.escape(persona) + '"]');
  if (!col) {
    col = el("section", null, "column");
    col.dataset.persona = persona;
    col.append(el("h2", persona), el("ol"));
    const columns = document.getElementById("columns");
    const after = [...columns.children].find((c) => c.dataset.persona > persona);
    columns.insertBefore(col, after || null);
  }
  return col.querySelector("ol");
}

async function select(line, node) {
  document.querySelectorAll("li.line.selected").forEach((n) => n.classList.remove("selected"));
  node.classList.add("selected");
  selectedAction = line.action_id;
  if (!actions.has(line.action_id)) {
    const response = await fetch("/api/matches/" + encodeURIComponent(gameId) + "/actions/" + line.action_id);
    if (response.ok) actions.set(line.action_id, await response.json());
  }
  const a = actions.get(line.action_id);
  document.getElementById("selected").textContent = a
    ? a.clock + " · " + a.player + " · " + a.type + (a.result ? " (" + a.result + ")" : "")
    : "action " + line.action_id + " is no longer held by the monitor";
  redrawMoves();
}

function addLine(line) {
  if (lineIds.has(line.id)) return;
  lineIds.add(line.id);
  // A line of the match's flow (kick-off, half-time, full time): source "control".
  const node = el("li", null, line.source === "control" ? "line moment" : "line");
  node.dataset.action = line.action_id;
  node.dataset.line = line.id;
  node.dataset.batch = line.batch_index;
  const meta = el("div", null, "meta");
  meta.append(el("span", line.clock, "clock"), el("span", line.tone, "tone-" + line.tone));
  const source = line.source || "?";
  const chip = el("span", source + (line.fallback_reason ? ": " + line.fallback_reason : ""), "chip " + source);
  meta.append(chip);
  meta.append(el("span", line.latency_ms === null ? "–" : (line.latency_ms / 1000).toFixed(2) + " s", "latency"));
  node.append(meta, el("div", line.text, "text"));
  node.addEventListener("mouseenter", () => select(line, node));
  node.addEventListener("click", () => select(line, node));
  column(line.persona).prepend(node);
}

function addBatch(batch) {
  if (batchIds.has(batch.id)) return;
  batchIds.add(batch.id);
  const text = "batch " + batch.batch_index + " · " + batch.close_reason + " · " + batch.source +
    (batch.fallback_reason ? " (" + batch.fallback_reason + ")" : "") + " · " + batch.items + " actions" +
    // At story and key density some actions are told with another's line, or not at all.
    (batch.shown !== undefined && batch.shown !== batch.items ? ", " + batch.shown + " with a line" : "");
  const node = el("li", text, "batch");
  node.dataset.batch = batch.batch_index;
  const list = column(batch.persona);
  // A line does not carry why the template wrote it; its batch's record does.
  if (batch.fallback_reason) {
    for (const chip of list.querySelectorAll('li.line[data-batch="' + batch.batch_index + '"] .chip.template')) {
      if (!chip.textContent.includes(":")) chip.textContent = "template: " + batch.fallback_reason;
    }
  }
  list.prepend(node);
}

function drawSummary(s) {
  document.title = "pitchcast: " + s.home + " – " + s.away;
  document.getElementById("title").textContent = s.home + " – " + s.away;
  document.getElementById("score").textContent = s.score.home + " : " + s.score.away;
  document.getElementById("clock").textContent = s.ended ? "full time" : s.clock;
  document.getElementById("stalled").hidden = !s.stalled;
  const figures = document.getElementById("figures");
  figures.replaceChildren(el("span", "persona"), el("span", "p50 / p95 (5 min)"), el("span", "template"));
  for (const [persona, f] of Object.entries(s.personas)) {
    const sec = (v) => (v === null ? "–" : v.toFixed(2) + " s");
    figures.append(
      el("span", persona),
      el("span", sec(f.p50_s) + " / " + sec(f.p95_s)),
      el("span", f.template_share === null ? "–" : Math.round(f.template_share * 1000) / 10 + "%"),
    );
  }
  figures.append(el("span", "dead letters"), el("span", s.dead_letters), el("span", ""));
  if (s.feed) {
    const feed = document.getElementById("feed");
    feed.textContent = s.feed.connected ? "live" : "broker unreachable, retrying";
    feed.className = s.feed.connected ? "badge live" : "badge warn";
  }
}

function drawStory(goals, cards) {
  const story = document.getElementById("story");
  story.replaceChildren();
  for (const g of goals) {
    story.append(el("li", g.clock + " goal " + (g.side === "home" ? "(home) " : "(away) ") + g.player + (g.own_goal ? " (own goal)" : "")));
  }
  for (const c of cards) {
    story.append(el("li", c.clock + " " + c.card.replaceAll("_", " ").toLowerCase() + ": " + c.player));
  }
  if (!goals.length && !cards.length) story.append(el("li", "no goal, no card yet", "hint"));
}

let goals = [];
let cards = [];
// Updates that arrive while a snapshot is being fetched wait for it, then apply on top
// (each is keyed, so one the snapshot already holds is not drawn twice).
let loading = false;
let pending = [];

function apply(kind, data) {
  if (loading) { pending.push([kind, data]); return; }
  if (kind === "action") {
    const a = data.action;
    addAction(a);
    if (a.type === "Goal" || a.type === "Own Goal" || /Card/.test(a.result)) load();
    else redrawMoves();
  } else if (kind === "line") addLine(data.line);
  else if (kind === "batch") addBatch(data.batch);
}

async function load() {
  if (loading) return;
  loading = true;
  let snap = null;
  try {
    const response = await fetch("/api/matches/" + encodeURIComponent(gameId));
    if (response.ok) snap = await response.json();
  } catch (error) {
    snap = null;
  }
  const queued = pending;
  pending = [];
  loading = false;
  if (snap === null) { queued.forEach(([k, d]) => apply(k, d)); return; }
  actions.clear(); lineIds.clear(); batchIds.clear(); recent = [];
  document.getElementById("columns").replaceChildren();
  drawPitch();
  snap.actions.forEach(addAction);
  // Oldest first, so that prepending leaves the newest on top.
  const entries = [];
  for (const lines of Object.values(snap.lines)) lines.forEach((l) => entries.push(["line", l]));
  for (const batches of Object.values(snap.batches)) batches.forEach((b) => entries.push(["batch", b]));
  entries.sort((x, y) => x[1].ts_ms - y[1].ts_ms);
  for (const [kind, value] of entries) (kind === "line" ? addLine : addBatch)(value);
  goals = snap.goals; cards = snap.cards;
  drawStory(goals, cards);
  drawSummary(snap.summary);
  redrawMoves();
  queued.forEach(([k, d]) => apply(k, d));
}

function connect() {
  const source = new EventSource("/api/matches/" + encodeURIComponent(gameId) + "/events");
  source.addEventListener("open", () => load());
  source.addEventListener("summary", (e) => drawSummary(JSON.parse(e.data)));
  for (const kind of ["action", "line", "batch"]) {
    source.addEventListener(kind, (e) => apply(kind, JSON.parse(e.data)));
  }
  source.addEventListener("reset", () => load());
  source.addEventListener("reload", () => load());
  source.addEventListener("error", () => {
    const feed = document.getElementById("feed");
    feed.textContent = "monitor unreachable, reconnecting…";
    feed.className = "badge warn";
    // The browser retries a dropped connection by itself, but not one answered with an
    // error status (a restarted monitor that has not read this match yet): retry here.
    if (source.readyState === EventSource.CLOSED) setTimeout(connect, 2000);
  });
}

drawPitch();
connect();
