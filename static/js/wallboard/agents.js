// The agents' figures (ES module): one row per agent of the board's queues, with the
// state, the time in it (ticking each second), the pause reason and the queues; sorted
// by name in the page's language.
import { fromTemplate, setText } from "../dom.js";
import { duration, elapsed, epoch, field } from "./format.js";
import { queueLabel } from "./queues.js";

function agentSeconds(entry) {
  const a = entry.data;
  return typeof a.seconds_in_state === "number" ? a.seconds_in_state + elapsed(entry) : null;
}

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
  setText(field(row, "reason"), a.reason || "");
  setText(field(row, "seconds_in_state"), duration(agentSeconds(entry)));
  setText(field(row, "queues"), (a.queues || []).map((name) => queueLabel(board, name)).join(", "));
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

/** Every second: the time in state goes on. */
export function tickAgent(entry) {
  setText(field(entry.row, "seconds_in_state"), duration(agentSeconds(entry)));
}
