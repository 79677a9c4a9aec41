// The wallboard's ticket panel (ES module): open, at-risk and breached tickets per team
// and the oldest breach. The page arrives with it rendered; a `ticket.changed` or
// `ticket.escalated` event in one of the supervisor's department rooms makes it fetch
// the panel again (GET data-api), once per burst (debounced), and an escalation also
// shows a banner. The oldest breach's age ticks each second from when it arrived.
import { fill, fromTemplate, readTexts, setText } from "../dom.js";
import { clock, duration, elapsed, field } from "./format.js";

const DEBOUNCE_MS = 800;

export function createTicketPanel() {
  const root = document.querySelector("[data-ticket-panel]");
  if (!root) { return null; }
  const texts = readTexts("wb-ticket-texts");
  const apiUrl = root.getAttribute("data-api");
  const hrefBase = root.getAttribute("data-ticket-href") || "";
  const state = { data: null, at: clock() };
  let timer = null;
  let fetching = false;
  let again = false;

  function ticketHref(id) { return hrefBase ? hrefBase + encodeURIComponent(id) : "#"; }

  function renderTeam(row, team, at) {
    row.setAttribute("data-team", team.department_id === null ? "" : String(team.department_id));
    row.classList.toggle("wb-tteam--alert", team.breached > 0);
    setText(field(row, "name"), team.name || texts.no_team);
    ["open", "at_risk", "breached"].forEach((key) => setText(field(row, key), String(team[key])));
    row.querySelector("[data-flag='breached']").hidden = !(team.breached > 0);
    const oldest = field(row, "oldest");
    oldest.textContent = "";
    const b = team.oldest_breach;
    if (b) {
      const link = document.createElement("a");
      link.href = ticketHref(b.ticket_id);
      link.textContent = "#" + b.ticket_id;
      const since = document.createElement("span");
      since.className = "wb-tbreach__for";
      since.setAttribute("data-for", String(b.breached_for_s));
      since.textContent = duration(b.breached_for_s + (clock() - at) / 1000);
      oldest.append(link, " ", since);
    } else {
      oldest.textContent = "–";
    }
  }

  function render(data, at) {
    state.data = data;
    state.at = at;
    const totals = data.totals || {};
    ["open", "at_risk", "breached"].forEach((key) => {
      setText(root.querySelector("[data-total='" + key + "']"), String(totals[key] || 0));
    });
    root.querySelector("[data-figure='at_risk']").classList.toggle("wb-stat--warn", totals.at_risk > 0);
    const breachedBox = root.querySelector("[data-figure='breached']");
    breachedBox.classList.toggle("wb-stat--alert", totals.breached > 0);
    breachedBox.querySelector("[data-flag='breached']").hidden = !(totals.breached > 0);

    const oldestBox = root.querySelector("[data-oldest]");
    const b = data.oldest_breach;
    oldestBox.hidden = !b;
    if (b) {
      field(oldestBox, "oldest-link").href = ticketHref(b.ticket_id);
      setText(field(oldestBox, "oldest-id"), String(b.ticket_id));
      setText(field(oldestBox, "oldest-subject"), b.subject || "");
    }
    const body = root.querySelector("[data-teams]");
    const teams = Array.isArray(data.teams) ? data.teams : [];
    while (body.children.length > teams.length) { body.lastElementChild.remove(); }
    teams.forEach((team, i) => {
      const row = body.children[i] || body.appendChild(fromTemplate("wb-team-template"));
      renderTeam(row, team, at);
    });
    root.querySelector("[data-teams-table]").hidden = teams.length === 0;
    root.querySelector("[data-teams-none]").hidden = teams.length > 0;
    tick();
  }

  /** Every second: the breaches' ages. */
  function tick() {
    const b = state.data && state.data.oldest_breach;
    const age = elapsed(state);
    if (b && typeof b.breached_for_s === "number") {
      setText(field(root, "oldest-for"), duration(b.breached_for_s + age));
    }
    root.querySelectorAll("[data-for]").forEach((node) => {
      const base = parseFloat(node.getAttribute("data-for"));
      if (!isNaN(base)) { setText(node, duration(base + age)); }
    });
  }

  function refresh() {
    if (fetching) { again = true; return; }
    fetching = true;
    fetch(apiUrl, { headers: { "Accept": "application/json" }, credentials: "same-origin",
      cache: "no-store" })
      .then((response) => {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then((data) => render(data, clock()))
      .catch(() => { /* the next event or reconnect asks again */ })
      .then(() => {
        fetching = false;
        if (again) { again = false; refresh(); }
      });
  }

  /** Many events in a burst (a sweep escalating 50 tickets) make one request. */
  function soon() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, DEBOUNCE_MS);
  }

  function banner(event) {
    const box = root.querySelector("[data-ticket-banner]");
    const level = Number(event.escalation_level) || 0;
    const template = level > 0 ? texts.escalated
      : event.sla_state === "breached" ? texts.breached : texts.escalated_warn;
    setText(field(box, "banner-text"), fill(template, { id: event.ticket_id, level }));
    const link = field(box, "banner-link");
    link.href = ticketHref(event.ticket_id);
    setText(link, fill(texts.open_ticket, { id: event.ticket_id }));
    box.hidden = false;
  }

  // The first render adopts the page's own figures (ticking from now).
  state.at = clock();
  state.data = { oldest_breach: null };
  root.querySelectorAll(".wb-tbreach__for").forEach((node) => {
    const secs = parseDuration(node.textContent);
    if (secs !== null) { node.setAttribute("data-for", String(secs)); }
  });
  const oldestFor = field(root, "oldest-for");
  const firstAge = oldestFor ? parseDuration(oldestFor.textContent) : null;
  if (firstAge !== null) { state.data.oldest_breach = { breached_for_s: firstAge }; }
  window.setInterval(tick, 1000);

  return {
    refresh,
    handlers: {
      "ticket.changed": () => soon(),
      "ticket.escalated": (event) => {
        if (event && event.ticket_id !== undefined) { banner(event); }
        soon();
      }
    }
  };
}

/** "1:02:03" or "2:03" back to seconds (the server's rendering of a duration). */
function parseDuration(text) {
  const parts = String(text || "").trim().split(":").map((p) => parseInt(p, 10));
  if (parts.length < 2 || parts.some(isNaN)) { return null; }
  return parts.reduce((total, p) => total * 60 + p, 0);
}
