// The live matches: a table redrawn from each 'summary' event. Every name and text is set
// with textContent, never as markup, so a name carrying "<script>" shows as those letters.
"use strict";

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function seconds(value) {
  return value === null || value === undefined ? "–" : value.toFixed(1) + " s";
}

function share(value) {
  return value === null || value === undefined ? "–" : Math.round(value * 1000) / 10 + "%";
}

function latencyText(personas) {
  const parts = [];
  for (const [persona, figures] of Object.entries(personas)) {
    parts.push(persona + " " + seconds(figures.p50_s) + " / " + seconds(figures.p95_s));
  }
  return parts.length ? parts.join(" · ") : "–";
}

function draw(data) {
  const body = document.querySelector("#matches tbody");
  body.replaceChildren();
  for (const m of data.matches) {
    const row = el("tr");
    row.dataset.game = m.game_id;
    const name = el("td");
    const link = el("a", m.home + " – " + m.away);
    link.href = "/matches/" + encodeURIComponent(m.game_id);
    name.append(link, el("div", "game " + m.game_id, "hint"));
    row.append(
      name,
      el("td", m.score.home + " : " + m.score.away, "score"),
      el("td", m.ended ? "full time" : m.clock, "clock"),
      el("td", m.lines_last_minute),
      el("td", latencyText(m.personas)),
      el("td", share(m.template_share)),
      el("td", m.dead_letters),
    );
    const badge = el("td");
    if (m.stalled) badge.append(el("span", "no line for " + Math.round(m.idle_s) + " s", "badge warn"));
    row.append(badge);
    body.append(row);
  }
  document.getElementById("empty").hidden = data.matches.length > 0;
  const malformed = Object.entries(data.malformed || {});
  document.getElementById("malformed").textContent = malformed.length
    ? "Records the monitor could not read (skipped): " + malformed.map(([t, n]) => t + " " + n).join(", ")
    : "";
  const feed = document.getElementById("feed");
  feed.textContent = data.feed.connected ? "live" : "broker unreachable, retrying";
  feed.className = data.feed.connected ? "badge live" : "badge warn";
}

async function refresh() {
  const response = await fetch("/api/matches");
  if (response.ok) draw(await response.json());
}

function connect() {
  const source = new EventSource("/api/events");
  source.addEventListener("summary", (event) => draw(JSON.parse(event.data)));
  source.addEventListener("open", () => refresh());
  source.addEventListener("error", () => {
    const feed = document.getElementById("feed");
    feed.textContent = "monitor unreachable, reconnecting…";
    feed.className = "badge warn";
    // The browser retries a dropped connection by itself, but not one answered with an
    // error status (a restarted monitor that has not read this match yet): retry here.
    if (source.readyState === EventSource.CLOSED) setTimeout(connect, 2000);
  });
}

refresh();
connect();
