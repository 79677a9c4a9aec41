// The whole wallboard (ES module): its state (queues and agents by name, as shown), the
// server-rendered page adopted at start, a whole-wallboard answer applied without
// undoing a push that came while it was on its way, and the clocks ticking each second.
import { setText } from "../dom.js";
import { applyAgent, removeAgent, showAgentsNone, sortAgents, tickAgent } from "./agents.js";
import { readMonitor } from "./monitor.js";
import { applyQueue, tickQueue } from "./queues.js";

/** The board of the page under root, with the server-rendered cards and rows adopted. */
export function createBoard(root, texts) {
  const board = {
    root,
    texts,
    lang: root.getAttribute("data-lang") || undefined,
    queuesBox: root.querySelector("[data-queues]"),
    agentsBody: root.querySelector("[data-agents]"),
    queues: {},        // queue name -> {data, at, card}
    queueOrder: [],    // names, as the server orders them
    agents: {},        // interface -> {data, at, row}
    agentDay: {},      // interface -> today's figures (GET /api/v1/wallboard/today)
    agentDayAt: 0,     // when they arrived (clock())
    liveAvailable: true,
    monitor: readMonitor()   // null: this user may monitor nobody (monitor.js)
  };
  board.queuesBox.querySelectorAll("[data-queue]").forEach((card) => {
    board.queues[card.getAttribute("data-queue")] = { data: null, at: 0, card };
  });
  board.agentsBody.querySelectorAll("[data-interface]").forEach((row) => {
    const iface = row.getAttribute("data-interface");
    board.agents[iface] = { data: { interface: iface }, at: -1, row };
  });
  return board;
}

/** A whole-wallboard answer (GET /api/v1/wallboard) that arrived at `at`, asked at `since`. */
export function renderAll(board, data, at, since) {
  const root = board.root;
  board.liveAvailable = Boolean(data.live && data.live.available);
  root.querySelector("[data-live-unavailable]").hidden = board.liveAvailable;
  const skipped = data.live ? data.live.skipped || 0 : 0;
  setText(root.querySelector("[data-live-skipped] [data-field='skipped']"), String(skipped));
  root.querySelector("[data-live-skipped]").hidden = !skipped;

  const names = (data.queues || []).map((q) => q.queue);
  Object.keys(board.queues).forEach((name) => {
    if (names.indexOf(name) < 0) {
      board.queues[name].card.remove();
      delete board.queues[name];
    }
  });
  (data.queues || []).forEach((q) => {
    const entry = board.queues[q.queue];
    // A push that arrived while this answer was on its way is newer: keep it.
    if (entry && entry.data && entry.at > since) { return; }
    applyQueue(board, q, at);
  });
  board.queueOrder = names;
  names.forEach((name) => board.queuesBox.appendChild(board.queues[name].card));
  root.querySelector("[data-queues-none]").hidden = names.length > 0;

  const ifaces = (data.agents || []).map((a) => a.interface);
  Object.keys(board.agents).forEach((iface) => {
    if (ifaces.indexOf(iface) < 0 && !(board.agents[iface].at > since)) { removeAgent(board, iface); }
  });
  (data.agents || []).forEach((a) => {
    const entry = board.agents[a.interface];
    if (entry && entry.at > since) { return; }
    applyAgent(board, a, at, true);
  });
  sortAgents(board);
  showAgentsNone(board);
}

/** Every second: the waits and the times in state on the board. */
export function tick(board) {
  Object.values(board.queues).forEach(tickQueue);
  Object.values(board.agents).forEach((entry) => tickAgent(board, entry));
}
