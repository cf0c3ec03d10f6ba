// The status page: polls the public /healthz and counts the routes in /openapi.json. No token,
// no external resources; the dashboard (web/, built with Vite) replaces this page.
"use strict";

const text = (id, value) => { document.getElementById(id).textContent = value; };

function duration(seconds) {
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  return (d ? d + " d " : "") + (d || h ? h + " h " : "") + m + " min " + (s % 60) + " s";
}

async function refresh() {
  const state = document.getElementById("state");
  try {
    const res = await fetch("/healthz", { cache: "no-store" });
    const h = await res.json();
    state.textContent = h.status === "ok" ? "The server is healthy." : "The server is failing: " + (h.reason || res.status);
    state.className = "state " + (h.status === "ok" ? "ok" : "failing");
    text("h-status", h.status);
    text("h-twins", h.twins);
    text("h-uptime", duration(h.uptimeSeconds));
    const hist = h.history;
    text("h-history", hist ? hist.replayedPoints + " point(s)" + (hist.skippedRanges ? ", " + hist.skippedRanges +
      " damaged range(s) skipped (" + hist.skippedBytes + " bytes)" : "") : "-");
    const c = h.connectors || [];
    text("h-connectors", c.length ? c.map((x) => JSON.stringify(x)).join("; ") : "none");
    document.getElementById("health").hidden = false;
  } catch (e) {
    state.textContent = "The server does not answer (" + e.message + ").";
    state.className = "state failing";
  }
}

async function routes() {
  try {
    const doc = await (await fetch("/openapi.json")).json();
    let n = 0;
    for (const path of Object.values(doc.paths)) n += Object.keys(path).length;
    text("routes", n + " routes");
    text("version", doc.info && doc.info.version ? doc.info.version : "");
  } catch (e) {
    text("routes", "not readable: " + e.message);
  }
}

for (const el of document.querySelectorAll(".origin")) el.textContent = location.origin;
refresh();
routes();
setInterval(refresh, 5000);
