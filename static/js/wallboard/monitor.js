// Live monitoring from the wallboard (ES module). For each agent on a call whom this
// supervisor may monitor, three buttons: listen (hear both), whisper (talk to the agent
// only), barge in (talk to both). The page says who may be monitored and how to ask
// (#wb-monitor: url, CSRF token, phones, texts); the server checks it all again. The
// supervisor's own phone rings; the answer shows in the board's status line.
import { el, readJson, setText } from "../dom.js";

const MODES = ["listen", "whisper", "barge"];

/** The page's monitoring settings, or null when this user may monitor nobody. */
export function readMonitor() {
  let cfg = null;
  try { cfg = readJson("wb-monitor"); } catch (err) { return null; }
  if (!cfg || !Array.isArray(cfg.phones) || !cfg.phones.length) { return null; }
  cfg.phones = new Set(cfg.phones);
  return cfg;
}

function say(board, text, failed) {
  const line = board.root.querySelector("[data-monitor-status]");
  if (!line) { return; }
  line.hidden = false;
  line.classList.toggle("wb-monitor-status--error", Boolean(failed));
  setText(line, text);
}

function ask(board, entry, mode, buttons) {
  const cfg = board.monitor;
  buttons.forEach((b) => { b.disabled = true; });
  say(board, cfg.texts.asking, false);
  fetch(cfg.url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "Accept": "application/json",
      "X-CSRFToken": cfg.csrfToken },
    body: JSON.stringify({ interface: entry.data.interface, mode: mode })
  }).then((response) => response.json().catch(() => null).then((reply) => {
    if (response.ok && reply && reply.ok) { return reply.message; }
    throw new Error(reply && reply.error ? reply.error
      : response.status === 400 ? cfg.texts.pageExpired
        : response.status + " " + response.statusText);
  })).then((message) => say(board, message, false),
    (err) => say(board, err.message, true))
    .finally(() => buttons.forEach((b) => { b.disabled = false; }));
}

/** Fill or empty the agent row's monitoring cell for the agent's current state. */
export function showMonitor(board, entry) {
  const cell = entry.row.querySelector("[data-monitor]");
  const cfg = board.monitor;
  if (!cell || !cfg) { return; }
  const offered = entry.data.state === "on_call" && cfg.phones.has(entry.data.interface);
  if (!offered) {
    if (cell.childElementCount) { cell.replaceChildren(); }
    return;
  }
  if (cell.childElementCount) { return; }
  const name = entry.data.name || entry.data.interface;
  const buttons = MODES.map((mode) => {
    const button = el("button", "btn btn--small wb-monitor__" + mode, cfg.texts[mode]);
    button.type = "button";
    button.setAttribute("data-monitor-mode", mode);
    button.setAttribute("aria-label", cfg.texts[mode] + " · " + name);
    button.title = cfg.texts[mode + "Hint"];
    return button;
  });
  buttons.forEach((button) => {
    button.addEventListener("click", () =>
      ask(board, entry, button.getAttribute("data-monitor-mode"), buttons));
    cell.appendChild(button);
  });
}
