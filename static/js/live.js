// The live link (Socket.IO) of the agent desk, with its indicator and its "live link
// down" banner (ES module). Needs /vendor/socket.io.min.js, a classic script loaded
// before the modules, which sets window.io.
//
//   const live = connect({
//     indicator: element with [data-live-text] inside (optional),
//     banner: element with [data-conn-text] (and [data-conn-icon]) inside (optional),
//     strings: {live, offline, connecting, connDown, connBack, connExpired, connMissing, logIn},
//     loginUrl: "/login?next=...",
//     on: {"calls.snapshot": fn, "call.ringing": fn, ...},
//     onConnect: fn(isReconnect), onDisconnect: fn()
//   });
//   live.emit(name, data)   // only call.ack and calls.sync mean anything to the server
//
// The session cookie authenticates (same origin). The server refuses anyone else and
// offers no way to join rooms: what arrives is what the user may see.
import { el } from "./dom.js";

function setText(root, selector, text) {
  const node = root && root.querySelector(selector);
  if (node) { node.textContent = text; }
}

export function connect(options) {
  const strings = options.strings || {};
  const banner = options.banner || null;
  const indicator = options.indicator || null;
  const handlers = options.on || {};
  let wasConnected = false;
  let downShown = false;
  let backTimer = null;

  function showIndicator(state) {
    if (!indicator) { return; }
    indicator.setAttribute("data-state", state);
    setText(indicator, "[data-live-text]",
      state === "live" ? strings.live : state === "offline" ? strings.offline : strings.connecting);
  }

  function showBanner(kind, text, linkText, linkHref) {
    if (!banner) { return; }
    window.clearTimeout(backTimer);
    banner.className = banner.className.replace(/\bdesk-banner--\w+/g, "").trim() +
      " desk-banner--" + kind;
    setText(banner, "[data-conn-icon]", kind === "ok" ? "✔" : "⚠");
    const textEl = banner.querySelector("[data-conn-text]");
    if (textEl) {
      textEl.textContent = text;
      if (linkText && linkHref) {
        const link = el("a", null, linkText);
        link.href = linkHref;
        textEl.append(" ", link);
      }
    }
    banner.hidden = false;
  }

  function hideBanner() {
    if (banner) { banner.hidden = true; }
  }

  if (typeof window.io !== "function") {
    showIndicator("offline");
    showBanner("down", strings.connMissing || "Live updates are not available.");
    return { emit() {}, socket: null };
  }

  const socket = window.io({
    transports: ["websocket", "polling"],
    reconnectionDelay: 1000,
    reconnectionDelayMax: 5000,
    timeout: 8000
  });

  socket.on("connect", () => {
    const reconnect = wasConnected || downShown;
    wasConnected = true;
    showIndicator("live");
    if (downShown) {
      downShown = false;
      showBanner("ok", strings.connBack || "Connected again.");
      backTimer = window.setTimeout(hideBanner, 8000);
    } else {
      hideBanner();
    }
    if (options.onConnect) { options.onConnect(reconnect); }
  });

  socket.on("disconnect", (reason) => {
    showIndicator("offline");
    downShown = true;
    showBanner("down", strings.connDown || "The live connection is down.");
    if (options.onDisconnect) { options.onDisconnect(reason); }
    if (reason === "io server disconnect") {
      // The server closed it on purpose (restart, logout): ask again shortly.
      window.setTimeout(() => socket.connect(), 2000);
    }
  });

  socket.on("connect_error", (error) => {
    showIndicator("offline");
    downShown = true;
    const refused = error && error.message === "authentication required";
    if (refused) {
      showBanner("down", strings.connExpired || "Your session has ended.",
        strings.logIn, options.loginUrl);
      return;  // retrying will not help until the user logs in again
    }
    showBanner("down", strings.connDown || "The live connection is down.");
    if (!socket.active) {
      // Refused by the server (not a network error): Socket.IO does not retry by itself.
      window.setTimeout(() => socket.connect(), 5000);
    }
  });

  Object.keys(handlers).forEach((name) => socket.on(name, handlers[name]));

  return {
    socket,
    emit(name, data) {
      if (socket.connected) { socket.emit(name, data); }
    }
  };
}
