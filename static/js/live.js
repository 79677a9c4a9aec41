// The live connection (Socket.IO), shared by the pages that update themselves: the agent
// desk, the wallboard. Needs /vendor/socket.io.min.js loaded before it.
//
//   var live = CallcenterLive.connect({
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
(function () {
  "use strict";

  function setText(root, selector, text) {
    var el = root && root.querySelector(selector);
    if (el) { el.textContent = text; }
  }

  function connect(options) {
    var strings = options.strings || {};
    var banner = options.banner || null;
    var indicator = options.indicator || null;
    var handlers = options.on || {};
    var wasConnected = false;
    var downShown = false;
    var backTimer = null;

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
      var textEl = banner.querySelector("[data-conn-text]");
      if (textEl) {
        textEl.textContent = text;
        if (linkText && linkHref) {
          var link = document.createElement("a");
          link.href = linkHref;
          link.textContent = linkText;
          textEl.appendChild(document.createTextNode(" "));
          textEl.appendChild(link);
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
      return { emit: function () {}, socket: null };
    }

    var socket = window.io({
      transports: ["websocket", "polling"],
      reconnectionDelay: 1000,
      reconnectionDelayMax: 5000,
      timeout: 8000
    });

    socket.on("connect", function () {
      var reconnect = wasConnected || downShown;
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

    socket.on("disconnect", function (reason) {
      showIndicator("offline");
      downShown = true;
      showBanner("down", strings.connDown || "The live connection is down.");
      if (options.onDisconnect) { options.onDisconnect(reason); }
      if (reason === "io server disconnect") {
        // The server closed it on purpose (restart, logout): ask again shortly.
        window.setTimeout(function () { socket.connect(); }, 2000);
      }
    });

    socket.on("connect_error", function (error) {
      showIndicator("offline");
      downShown = true;
      var refused = error && error.message === "authentication required";
      if (refused) {
        showBanner("down", strings.connExpired || "Your session has ended.",
          strings.logIn, options.loginUrl);
        return;  // retrying will not help until the user logs in again
      }
      showBanner("down", strings.connDown || "The live connection is down.");
      if (!socket.active) {
        // Refused by the server (not a network error): Socket.IO does not retry by itself.
        window.setTimeout(function () { socket.connect(); }, 5000);
      }
    });

    Object.keys(handlers).forEach(function (name) {
      socket.on(name, handlers[name]);
    });

    return {
      socket: socket,
      emit: function (name, data) {
        if (socket.connected) { socket.emit(name, data); }
      }
    };
  }

  window.CallcenterLive = { connect: connect };
}());
