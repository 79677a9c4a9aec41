// The supervisor's wallboard, kept live without a refresh button (ES module, the page's
// entry). The page arrives rendered by the server, with the same data as JSON
// (#wb-initial); wallboard/board.js adopts it, wallboard/queues.js and agents.js keep the
// figures, wallboard/live.js the pushes (or polling), wallboard/charts.js the day per 15
// minutes and per agent, wallboard/tickets.js the tickets. Waits and times in state tick
// each second here, counted from when each figure arrived (so the browser's clock need
// not agree with the server's).
//
// All text comes from the page (translated there); data goes in with textContent only.
import { readTexts } from "./dom.js";
import { createBoard, renderAll, tick } from "./wallboard/board.js";
import { createChartPanel } from "./wallboard/charts.js";
import { clock } from "./wallboard/format.js";
import { startLive } from "./wallboard/live.js";
import { createTicketPanel } from "./wallboard/tickets.js";

const root = document.querySelector("[data-wallboard]");
if (root) {
  const board = createBoard(root, readTexts("wb-texts"));
  let initialFailed = false;
  const initial = document.getElementById("wb-initial");
  if (initial) {
    try {
      renderAll(board, JSON.parse(initial.textContent), clock(), -1);
    } catch (err) {
      initialFailed = true;
    }
  }
  window.setInterval(() => tick(board), 1000);
  const live = startLive(board, combine([createTicketPanel(), createChartPanel(board)]));
  if (initialFailed) { live.refresh(); }
}

/** The panels beside the board as one: each gets its events and is refreshed with it. */
function combine(panels) {
  const present = panels.filter(Boolean);
  const handlers = {};
  present.forEach((panel) => {
    Object.keys(panel.handlers).forEach((name) => {
      const before = handlers[name];
      const mine = panel.handlers[name];
      handlers[name] = before ? (event) => { before(event); mine(event); } : mine;
    });
  });
  return { handlers, refresh() { present.forEach((panel) => panel.refresh()); } };
}
