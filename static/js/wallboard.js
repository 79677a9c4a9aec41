// The supervisor's wallboard, kept live without a refresh button.
//
// The page arrives rendered by the server, with the same data as JSON (#wb-initial).
// Then: Socket.IO events `queue.update` (one queue, as in GET /api/v1/wallboard
// queues[]) and `agent.update` (one agent, as in agents[]) arrive in the rooms the
// server put this supervisor in; every (re)connect re-fetches the whole wallboard so
// nothing missed while away stays wrong. Without the Socket.IO library, or when the
// server refuses the socket, the page re-fetches every few seconds instead. Waits and
// times in state tick each second here, counted from when each figure arrived (so the
// browser's clock need not agree with the server's).
//
// All text comes from the page (translated there); data goes in with textContent only.
(function () {
  "use strict";

  var root = document.querySelector("[data-wallboard]");
  if (!root) { return; }

  var apiUrl = root.getAttribute("data-api");
  var socketSrc = root.getAttribute("data-socketio-src");
  var pollMs = (parseInt(root.getAttribute("data-poll-s"), 10) || 10) * 1000;
  var lang = root.getAttribute("data-lang") || undefined;
  var queuesBox = root.querySelector("[data-queues]");
  var agentsBody = root.querySelector("[data-agents]");
  var texts = {};
  var textTemplate = document.getElementById("wb-texts");
  if (textTemplate) {
    textTemplate.content.querySelectorAll("[data-key]").forEach(function (el) {
      texts[el.getAttribute("data-key")] = el.textContent.trim();
    });
  }

  var queues = {};        // queue name -> {data, at, card}
  var queueOrder = [];    // names, as the server orders them
  var agents = {};        // interface -> {data, at, row}
  var liveAvailable = true;
  var pollTimer = null;
  var fetching = false;

  function clock() { return window.performance ? window.performance.now() : Date.now(); }

  // --- formatting (the same as callcenter/wallboard/views.py) ---------------------------
  function duration(seconds) {
    if (seconds === null || seconds === undefined || isNaN(seconds)) { return "–"; }
    var total = Math.max(0, Math.floor(seconds));
    var h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    var ss = (s < 10 ? "0" : "") + s;
    if (h) { return h + ":" + (m < 10 ? "0" : "") + m + ":" + ss; }
    return m + ":" + ss;
  }

  function percent(ratio) {
    if (ratio === null || ratio === undefined || isNaN(ratio)) { return "–"; }
    return Math.floor(ratio * 100 + 0.5) + "%";
  }

  function count(n) {
    return n === null || n === undefined ? "–" : String(n);
  }

  function fill(template, values) {
    return (template || "").replace(/\{(\w+)\}/g, function (match, key) {
      return key in values ? String(values[key]) : match;
    });
  }

  function setText(el, text) {
    if (el && el.textContent !== text) { el.textContent = text; }
  }

  function field(scope, name) {
    return scope.querySelector("[data-field='" + name + "']");
  }

  function elapsed(entry) {
    return (clock() - entry.at) / 1000;
  }

  /** Epoch seconds from a live-state time: a number, or ISO 8601 text. */
  function epoch(value) {
    if (typeof value === "number") { return value; }
    if (typeof value === "string" && value) {
      var ms = Date.parse(value);
      return isNaN(ms) ? null : ms / 1000;
    }
    return null;
  }

  function fromTemplate(id) {
    var template = document.getElementById(id);
    return template.content.firstElementChild.cloneNode(true);
  }

  // --- queues -------------------------------------------------------------------------
  function longestNow(entry) {
    var q = entry.data;
    if (q.longest_wait_s === null || q.longest_wait_s === undefined) { return null; }
    return q.waiting ? q.longest_wait_s + elapsed(entry) : q.longest_wait_s;
  }

  function alertsOf(entry) {
    var q = entry.data, alerts = {};
    var target = typeof q.sl_target === "number" ? q.sl_target : 0.8;
    var limit = typeof q.abandon_rate_limit === "number" ? q.abandon_rate_limit : 0.05;
    if (typeof q.service_level === "number" && q.service_level < target) {
      alerts.service_level = true;
    }
    if (typeof q.abandon_rate === "number" && q.abandon_rate > limit) {
      alerts.abandon_rate = true;
    }
    var longest = longestNow(entry);
    if (longest !== null && longest > q.sl_threshold_s) { alerts.longest_wait = true; }
    return alerts;
  }

  function showAlerts(entry) {
    var card = entry.card, alerts = alertsOf(entry), any = false;
    ["service_level", "abandon_rate", "longest_wait"].forEach(function (name) {
      var on = Boolean(alerts[name]);
      any = any || on;
      var box = card.querySelector("[data-figure='" + name + "']");
      if (box) {
        box.classList.toggle(box.classList.contains("wb-figure") ? "wb-figure--alert"
                                                                 : "wb-stat--alert", on);
      }
      var flag = card.querySelector("[data-flag='" + name + "']");
      if (flag) { flag.hidden = !on; }
    });
    card.classList.toggle("wb-queue--alert", any);
  }

  function showCallers(entry) {
    var q = entry.data, list = entry.card.querySelector("[data-callers]");
    var none = entry.card.querySelector("[data-callers-none]");
    var callers = q.callers || [];
    var items = list.children;
    while (items.length > callers.length) { list.removeChild(list.lastElementChild); }
    while (items.length < callers.length) { list.appendChild(fromTemplate("wb-caller-template")); }
    callers.forEach(function (caller, i) {
      setText(items[i].querySelector(".wb-caller__number"),
              caller.caller_number || texts.unknown_number || "");
    });
    tickCallers(entry);
    setText(none, q.waiting === null || q.waiting === undefined ? texts.no_live
                                                                 : texts.nobody_waiting);
    none.hidden = callers.length > 0;
  }

  function tickCallers(entry) {
    var callers = entry.data.callers || [], items = entry.card.querySelector("[data-callers]").children;
    callers.forEach(function (caller, i) {
      var wait = caller.wait_s === null || caller.wait_s === undefined ? null
        : caller.wait_s + elapsed(entry);
      if (items[i]) { setText(items[i].querySelector(".wb-caller__wait"), duration(wait)); }
    });
  }

  function showQueue(entry) {
    var q = entry.data, card = entry.card;
    card.setAttribute("data-queue", q.queue);
    setText(field(card, "display_name"), q.display_name || q.queue);
    setText(field(card, "queue"), q.queue);
    setText(field(card, "waiting"), count(q.waiting));
    setText(field(card, "longest_wait_s"), duration(longestNow(entry)));
    setText(field(card, "sl_threshold_s"), String(q.sl_threshold_s));
    setText(field(card, "service_level"), percent(q.service_level));
    setText(field(card, "abandon_rate"), percent(q.abandon_rate));
    setText(field(card, "abandoned"), count(q.abandoned));
    setText(field(card, "answered"), count(q.answered));
    setText(field(card, "offered"), count(q.offered));
    setText(field(card, "asa_s"), duration(q.asa_s));
    setText(field(card, "aht_s"), duration(q.aht_s));
    var flagTexts = {
      longest_wait: fill(texts["flag.longest_wait"], {s: q.sl_threshold_s}),
      service_level: fill(texts["flag.service_level"], {p: percent(q.sl_target)}),
      abandon_rate: fill(texts["flag.abandon_rate"], {p: percent(q.abandon_rate_limit)})
    };
    Object.keys(flagTexts).forEach(function (name) {
      var flag = card.querySelector("[data-flag='" + name + "'] [data-flag-text]");
      setText(flag, flagTexts[name]);
    });
    showCallers(entry);
    showAlerts(entry);
  }

  function queueEntry(name) {
    if (!queues[name]) {
      var card = fromTemplate("wb-queue-template");
      queues[name] = {data: null, at: 0, card: card};
    }
    return queues[name];
  }

  function applyQueue(q, at) {
    if (!q || typeof q.queue !== "string") { return; }
    var entry = queueEntry(q.queue);
    entry.data = q;
    entry.at = at;
    if (!entry.card.parentNode) {
      queuesBox.appendChild(entry.card);
      if (queueOrder.indexOf(q.queue) < 0) { queueOrder.push(q.queue); }
    }
    showQueue(entry);
    root.querySelector("[data-queues-none]").hidden = true;
  }

  // --- agents -------------------------------------------------------------------------
  function queueLabel(name) {
    var entry = queues[name];
    return entry && entry.data ? (entry.data.display_name || name) : name;
  }

  function agentSeconds(entry) {
    var a = entry.data;
    if (typeof a.seconds_in_state === "number") { return a.seconds_in_state + elapsed(entry); }
    return null;
  }

  function showAgent(entry) {
    var a = entry.data, row = entry.row;
    var state = texts["state." + a.state] ? a.state : "logged_out";
    row.setAttribute("data-interface", a.interface);
    row.setAttribute("data-state", state);
    setText(field(row, "name"), a.name || a.interface);
    setText(field(row, "state"), texts["state." + state] || state);
    setText(field(row, "state_icon"), texts["icon." + state] || "");
    var badge = row.querySelector(".wb-state");
    badge.className = "badge wb-state wb-state--" + state;
    setText(field(row, "reason"), a.reason || "");
    setText(field(row, "seconds_in_state"), duration(agentSeconds(entry)));
    setText(field(row, "queues"), (a.queues || []).map(queueLabel).join(", "));
  }

  function sortAgents() {
    var rows = Object.keys(agents).map(function (k) { return agents[k]; });
    rows.sort(function (x, y) {
      return String(x.data.name || x.data.interface).localeCompare(
        String(y.data.name || y.data.interface), lang) ||
        (x.data.interface < y.data.interface ? -1 : 1);
    });
    rows.forEach(function (entry) { agentsBody.appendChild(entry.row); });
  }

  function showAgentsNone() {
    var none = root.querySelector("[data-agents-none]");
    setText(none, liveAvailable ? texts.no_agents : texts.no_agents_live);
    none.hidden = Object.keys(agents).length > 0;
  }

  function removeAgent(iface) {
    var entry = agents[iface];
    if (entry) {
      if (entry.row.parentNode) { entry.row.parentNode.removeChild(entry.row); }
      delete agents[iface];
    }
  }

  /** One agent from the server or the bridge; ``full``: from a whole-wallboard answer. */
  function applyAgent(a, at, full) {
    if (!a || typeof a.interface !== "string") { return; }
    var mine = (a.queues || []).filter(function (q) { return queues[q]; });
    if (!full && !mine.length) {
      removeAgent(a.interface);   // left every queue on this page
      showAgentsNone();
      return;
    }
    var old = agents[a.interface];
    var data = {};
    Object.keys(a).forEach(function (k) { data[k] = a[k]; });
    data.queues = full ? (a.queues || []) : mine;
    if (typeof data.seconds_in_state !== "number") {
      // The bridge's own snapshot: time in state from `since` and this browser's clock.
      var since = epoch(data.since);
      data.seconds_in_state = since === null ? null : Math.max(0, Date.now() / 1000 - since);
    }
    if (old && old.data.user_id && !data.user_id) {
      data.user_id = old.data.user_id;   // the PBX's member name is no better than ours
      data.name = old.data.name;
    }
    var entry = old || {row: fromTemplate("wb-agent-template")};
    entry.data = data;
    entry.at = at;
    agents[a.interface] = entry;
    showAgent(entry);
    if (!old) { agentsBody.appendChild(entry.row); }
    if (!full) { sortAgents(); }
    showAgentsNone();
  }

  // --- the whole wallboard --------------------------------------------------------------
  function renderAll(board, at, since) {
    liveAvailable = Boolean(board.live && board.live.available);
    root.querySelector("[data-live-unavailable]").hidden = liveAvailable;
    var skipped = board.live ? board.live.skipped || 0 : 0;
    setText(root.querySelector("[data-live-skipped] [data-field='skipped']"), String(skipped));
    root.querySelector("[data-live-skipped]").hidden = !skipped;

    var names = (board.queues || []).map(function (q) { return q.queue; });
    Object.keys(queues).forEach(function (name) {
      if (names.indexOf(name) < 0) {
        var card = queues[name].card;
        if (card.parentNode) { card.parentNode.removeChild(card); }
        delete queues[name];
      }
    });
    (board.queues || []).forEach(function (q) {
      var entry = queues[q.queue];
      // A push that arrived while this answer was on its way is newer: keep it.
      if (entry && entry.data && entry.at > since) { return; }
      applyQueue(q, at);
    });
    queueOrder = names;
    names.forEach(function (name) { queuesBox.appendChild(queues[name].card); });
    root.querySelector("[data-queues-none]").hidden = names.length > 0;

    var ifaces = (board.agents || []).map(function (a) { return a.interface; });
    Object.keys(agents).forEach(function (iface) {
      if (ifaces.indexOf(iface) < 0 && !(agents[iface].at > since)) { removeAgent(iface); }
    });
    (board.agents || []).forEach(function (a) {
      var entry = agents[a.interface];
      if (entry && entry.at > since) { return; }
      applyAgent(a, at, true);
    });
    sortAgents();
    showAgentsNone();
  }

  function refresh() {
    if (fetching) { return; }
    fetching = true;
    var started = clock();
    fetch(apiUrl, {headers: {"Accept": "application/json"}, credentials: "same-origin",
                   cache: "no-store"})
      .then(function (response) {
        if (response.status === 401) {
          window.location.reload();   // the session ended: the login page, then back here
        }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (board) {
        renderAll(board, clock(), started);
        if (!socket || !socket.connected) { setConnection(socket ? "offline" : "polling"); }
      })
      .catch(function () {
        if (!socket || !socket.connected) { setConnection("offline"); }
      })
      .then(function () { fetching = false; });
  }

  // --- connection ---------------------------------------------------------------------
  var socket = null;

  function setConnection(state) {
    var box = root.querySelector("[data-connection]");
    box.setAttribute("data-connection", state);
    setText(box.querySelector("[data-connection-text]"), texts["connection." + state] || state);
    setText(box.querySelector("[data-connection-icon]"),
            {live: "●", offline: "⚠", polling: "↻", connecting: "…"}[state] || "");
  }

  function startPolling() {
    socket = null;
    setConnection("polling");
    if (!pollTimer) { pollTimer = window.setInterval(refresh, pollMs); }
    refresh();
  }

  function connect() {
    if (typeof window.io !== "function") { startPolling(); return; }
    socket = window.io({withCredentials: true});
    socket.on("connect", function () {
      setConnection("live");
      refresh();   // what happened while (re)connecting
    });
    socket.on("disconnect", function () { setConnection("offline"); });
    socket.on("connect_error", function () {
      setConnection("offline");
      if (!socket.active) {
        // Refused by the server (e.g. its Redis is down): show what the API has, and
        // try the socket again later; the client only retries by itself on network errors.
        refresh();
        window.setTimeout(function () { socket.connect(); }, pollMs);
      }
    });
    socket.on("queue.update", function (q) { applyQueue(q, clock()); });
    socket.on("agent.update", function (a) { applyAgent(a, clock(), false); });
  }

  function loadSocketIo() {
    if (!socketSrc) { startPolling(); return; }
    if (typeof window.io === "function") { connect(); return; }
    var script = document.createElement("script");
    script.src = socketSrc;
    script.onload = connect;
    script.onerror = startPolling;
    document.head.appendChild(script);
  }

  // --- every second: the clocks on the board ------------------------------------------
  function tick() {
    Object.keys(queues).forEach(function (name) {
      var entry = queues[name];
      if (!entry.data) { return; }
      setText(field(entry.card, "longest_wait_s"), duration(longestNow(entry)));
      tickCallers(entry);
      showAlerts(entry);
    });
    Object.keys(agents).forEach(function (iface) {
      var entry = agents[iface];
      setText(field(entry.row, "seconds_in_state"), duration(agentSeconds(entry)));
    });
  }

  // --- start --------------------------------------------------------------------------
  // Adopt the server-rendered cards and rows, then fill them from the same data.
  Array.prototype.forEach.call(queuesBox.querySelectorAll("[data-queue]"), function (card) {
    queues[card.getAttribute("data-queue")] = {data: null, at: 0, card: card};
  });
  Array.prototype.forEach.call(agentsBody.querySelectorAll("[data-interface]"), function (row) {
    agents[row.getAttribute("data-interface")] = {data: {interface: row.getAttribute(
      "data-interface")}, at: -1, row: row};
  });
  var initial = document.getElementById("wb-initial");
  if (initial) {
    try {
      renderAll(JSON.parse(initial.textContent), clock(), -1);
    } catch (err) {
      refresh();
    }
  }
  window.setInterval(tick, 1000);
  // While the live state is unavailable no push will come: ask again now and then.
  window.setInterval(function () {
    if (!liveAvailable && socket && socket.connected) { refresh(); }
  }, pollMs);
  loadSocketIo();
}());
