// The agents' figures (ES module): one row per agent of the board's queues, with the
// state, the time in it (ticking each second), the pause reason, today's calls, average
// handling time and pause time (from GET /api/v1/wallboard/today, charts.js), and the
// queues; sorted by name in the page's language. showAgent renders a whole row.
import { fromTemplate, setText } from "../dom.js";
import { clock, duration, elapsed, epoch, field } from "./format.js";
import { showMonitor } from "./monitor.js";
import { queueLabel } from "./queues.js";

function agentSeconds(entry) {
  const a = entry.data;
  return typeof a.seconds_in_state === "number" ? a.seconds_in_state + elapsed(entry) : null;
}

/** Today's pause time as of now: the figure fetched, plus the time since while the
 *  agent is still in the pause that was open then. */
function pauseSeconds(board, entry) {
  const day = board.agentDay[entry.data.interface];
  if (!day || typeof day.pause_s !== "number") { return null; }
  const open = day.paused_since && entry.data.state === "paused";
  return day.pause_s + (open ? (clock() - board.agentDayAt) / 1000 : 0);
}

/** One agent's whole row (every cell), from the live state and today's figures. */
function showAgent(board, entry) {
  const a = entry.data;
  const row = entry.row;
  const texts = board.texts;
  const state = texts["state." + a.state] ? a.state : "logged_out";
  row.setAttribute("data-interface", a.interface);
  row.setAttribute("data-state", state);
  setText(field(row, "name"), a.name || a.interface);
  setText(field(row, "state"), texts["state." + state] || state);
  setText(field(row, "state_icon"), texts["icon." + state] || "");
  row.querySelector(".wb-state").className = "badge wb-state wb-state--" + state;
  setText(field(row, "reason"), a.reason ? (texts["reason." + a.reason] || a.reason) : "");
  setText(field(row, "seconds_in_state"), duration(agentSeconds(entry)));
  setText(field(row, "queues"), (a.queues || []).map((name) => queueLabel(board, name))
    .join(board.root.getAttribute("data-list-separator") || ", "));
  const day = board.agentDay[a.interface];
  setText(field(row, "handled"), day ? String(day.handled) : "0");
  setText(field(row, "aht_s"), duration(day ? day.aht_s : null));
  setText(field(row, "pause_s"), duration(pauseSeconds(board, entry)));
  showMonitor(board, entry);
}

/** Today's figures per agent (GET /api/v1/wallboard/today's `agents`) that arrived at `at`. */
export function applyAgentDay(board, agents, at) {
  board.agentDay = {};
  (agents || []).forEach((a) => {
    if (a && typeof a.interface === "string") { board.agentDay[a.interface] = a; }
  });
  board.agentDayAt = at;
  Object.values(board.agents).forEach((entry) => {
    if (entry.data && entry.data.state) { showAgent(board, entry); }
  });
}

export function sortAgents(board) {
  const rows = Object.values(board.agents);
  rows.sort((x, y) =>
    String(x.data.name || x.data.interface).localeCompare(
      String(y.data.name || y.data.interface), board.lang) ||
    (x.data.interface < y.data.interface ? -1 : 1));
  rows.forEach((entry) => board.agentsBody.appendChild(entry.row));
}

export function showAgentsNone(board) {
  const none = board.root.querySelector("[data-agents-none]");
  setText(none, board.liveAvailable ? board.texts.no_agents : board.texts.no_agents_live);
  none.hidden = Object.keys(board.agents).length > 0;
}

export function removeAgent(board, iface) {
  const entry = board.agents[iface];
  if (entry) {
    entry.row.remove();
    delete board.agents[iface];
  }
}

/** One agent from the server or the bridge; `full`: from a whole-wallboard answer. */
export function applyAgent(board, a, at, full) {
  if (!a || typeof a.interface !== "string") { return; }
  const mine = (a.queues || []).filter((q) => board.queues[q]);
  if (!full && !mine.length) {
    removeAgent(board, a.interface);   // left every queue on this page
    showAgentsNone(board);
    return;
  }
  const old = board.agents[a.interface];
  const data = Object.assign({}, a);
  data.queues = full ? (a.queues || []) : mine;
  if (typeof data.seconds_in_state !== "number") {
    // The bridge's own snapshot: time in state from `since` and this browser's clock.
    const since = epoch(data.since);
    data.seconds_in_state = since === null ? null : Math.max(0, Date.now() / 1000 - since);
  }
  if (old && old.data.user_id && !data.user_id) {
    data.user_id = old.data.user_id;   // the PBX's member name is no better than ours
    data.name = old.data.name;
  }
  const entry = old || { row: fromTemplate("wb-agent-template") };
  entry.data = data;
  entry.at = at;
  board.agents[a.interface] = entry;
  showAgent(board, entry);
  if (!old) { board.agentsBody.appendChild(entry.row); }
  if (!full) { sortAgents(board); }
  showAgentsNone(board);
}

/** Every second: the time in state goes on, and a pause's time today with it. */
export function tickAgent(board, entry) {
  setText(field(entry.row, "seconds_in_state"), duration(agentSeconds(entry)));
  if (entry.data && entry.data.state === "paused") {
    setText(field(entry.row, "pause_s"), duration(pauseSeconds(board, entry)));
  }
}
