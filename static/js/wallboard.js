// The supervisor's wallboard, kept live without a refresh button (ES module, the page's
// entry). The page arrives rendered by the server, with the same data as JSON
// (#wb-initial); wallboard/board.js adopts it, wallboard/queues.js and agents.js keep the
// figures, wallboard/live.js the pushes (or polling). Waits and times in state tick each
// second here, counted from when each figure arrived (so the browser's clock need not
// agree with the server's).
//
// All text comes from the page (translated there); data goes in with textContent only.
import { readTexts } from "./dom.js";
import { createBoard, renderAll, tick } from "./wallboard/board.js";
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
  const live = startLive(board, createTicketPanel() || undefined);
  if (initialFailed) { live.refresh(); }
}
