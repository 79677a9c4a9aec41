// The wallboard's live state (ES module): Socket.IO pushes of one queue (`queue.update`)
// or one agent (`agent.update`) into the rooms the server put this supervisor in, and the
// whole wallboard fetched again on every (re)connect so nothing missed while away stays
// wrong. Without the Socket.IO library, or while the server refuses the socket, the
// page fetches the whole wallboard every few seconds instead.
import { setText } from "../dom.js";
import { applyAgent } from "./agents.js";
import { renderAll } from "./board.js";
import { clock } from "./format.js";
import { applyQueue } from "./queues.js";

const CONNECTION_ICONS = { live: "●", offline: "⚠", polling: "↻", connecting: "…" };

/** extra: {handlers: {event: fn}, refresh: fn} of another panel (the tickets'), which
 *  gets its events and is refreshed with the wallboard. */
export function startLive(board, extra) {
  const more = extra || { handlers: {}, refresh() {} };
  const root = board.root;
  const apiUrl = root.getAttribute("data-api");
  const socketSrc = root.getAttribute("data-socketio-src");
  const pollMs = (parseInt(root.getAttribute("data-poll-s"), 10) || 10) * 1000;
  let socket = null;
  let pollTimer = null;
  let fetching = false;

  function setConnection(state) {
    const box = root.querySelector("[data-connection]");
    box.setAttribute("data-connection", state);
    setText(box.querySelector("[data-connection-text]"), board.texts["connection." + state] || state);
    setText(box.querySelector("[data-connection-icon]"), CONNECTION_ICONS[state] || "");
  }

  function refresh() {
    more.refresh();
    if (fetching) { return; }
    fetching = true;
    const started = clock();
    fetch(apiUrl, { headers: { "Accept": "application/json" }, credentials: "same-origin",
      cache: "no-store" })
      .then((response) => {
        if (response.status === 401) {
          window.location.reload();   // the session ended: the login page, then back here
        }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then((data) => {
        renderAll(board, data, clock(), started);
        if (!socket || !socket.connected) { setConnection(socket ? "offline" : "polling"); }
      })
      .catch(() => {
        if (!socket || !socket.connected) { setConnection("offline"); }
      })
      .then(() => { fetching = false; });
  }

  function startPolling() {
    socket = null;
    setConnection("polling");
    if (!pollTimer) { pollTimer = window.setInterval(refresh, pollMs); }
    refresh();
  }

  function connect() {
    if (typeof window.io !== "function") { startPolling(); return; }
    socket = window.io({ withCredentials: true });
    socket.on("connect", () => {
      setConnection("live");
      refresh();   // what happened while (re)connecting
    });
    socket.on("disconnect", () => setConnection("offline"));
    socket.on("connect_error", () => {
      setConnection("offline");
      if (!socket.active) {
        // Refused by the server (e.g. its Redis is down): show what the API has, and
        // try the socket again later; the client only retries by itself on network errors.
        refresh();
        window.setTimeout(() => socket.connect(), pollMs);
      }
    });
    socket.on("queue.update", (q) => applyQueue(board, q, clock()));
    socket.on("agent.update", (a) => applyAgent(board, a, clock(), false));
    Object.keys(more.handlers).forEach((name) => socket.on(name, more.handlers[name]));
  }

  // The Socket.IO client (a classic script setting window.io) is loaded here, only when
  // the server offers it: without it the page polls.
  function loadSocketIo() {
    if (!socketSrc) { startPolling(); return; }
    if (typeof window.io === "function") { connect(); return; }
    const script = document.createElement("script");
    script.src = socketSrc;
    script.onload = connect;
    script.onerror = startPolling;
    document.head.appendChild(script);
  }

  // While the live state is unavailable no push will come: ask again now and then.
  window.setInterval(() => {
    if (!board.liveAvailable && socket && socket.connected) { refresh(); }
  }, pollMs);
  loadSocketIo();
  return { refresh };
}
