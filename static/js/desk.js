// The agent desk: screen pops over the live connection, the wrap-up form, the status
// control, sound and notification on ringing, keyboard shortcuts, click-to-dial (the dial
// box) and the transfer of an answered call to another queue.
//
// Everything the caller or the PBX sends is put on the page with textContent, never as
// HTML. Configuration and translated texts come from <script id="desk-config"
// type="application/json"> (the CSP allows no inline script).
(function () {
  "use strict";

  var configEl = document.getElementById("desk-config");
  var stack = document.querySelector("[data-pops]");
  if (!configEl || !stack) { return; }
  var cfg = JSON.parse(configEl.textContent);
  var T = cfg.strings;
  var emptyNote = document.querySelector("[data-pops-empty]");
  var countEl = document.querySelector("[data-pops-count]");
  var announcer = document.querySelector("[data-pops-announce]");
  var KNOWN_TIERS = { vip: 1, major: 1, ordinary: 1, small: 1 };
  var WARRANTY_TONES = { in_warranty: "ok", expiring: "warn", expired: "danger", none: "muted" };
  var STATES = {
    "call.ringing": { state: "ringing", icon: "☎", label: T.ringing },
    "call.answered": { state: "answered", icon: "✆", label: T.answered },
    "call.ended": { state: "ended", icon: "✎", label: T.ended }
  };

  var dispositionLabels = {};
  cfg.dispositions.forEach(function (pair) { dispositionLabels[pair[0]] = pair[1]; });
  var cards = {};       // call_id -> card
  var lastSeq = 0;      // the highest seq applied (from the snapshot, then from events)
  var counter = 0;      // for unique element ids
  var live = null;

  // --- small helpers -------------------------------------------------------------------

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function icon(text) {
    var span = el("span", "pop__icon", text);
    span.setAttribute("aria-hidden", "true");
    return span;
  }

  function fmt(template, values) {
    return String(template).replace(/\{(\w+)\}/g, function (match, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : match;
    });
  }

  function isObject(value) { return value !== null && typeof value === "object"; }

  function list(value) { return Array.isArray(value) ? value.filter(isObject) : []; }

  // A link target from the server must be a path on this site.
  function sitePath(url) {
    return typeof url === "string" && /^\/(?![\/\\])/.test(url) ? url : null;
  }

  function customerHref(customer) {
    var path = sitePath(customer.url);
    if (path) { return path; }
    var id = parseInt(customer.id, 10);
    return isFinite(id) ? cfg.customerUrl + id : null;
  }

  function createHref(caller) {
    if (!cfg.createUrl) { return null; }
    var number = caller.number || caller.e164 || "";
    return cfg.createUrl + (number ? "?q=" + encodeURIComponent(number) : "");
  }

  function duration(seconds) {
    var total = Math.max(0, Math.round(Number(seconds) || 0));
    var minutes = Math.floor(total / 60);
    var rest = total % 60;
    return minutes + ":" + (rest < 10 ? "0" : "") + rest;
  }

  function when(value) {
    if (value === null || value === undefined || value === "") { return ""; }
    var date = new Date(typeof value === "number" ? value * 1000 : value);
    if (isNaN(date.getTime())) { return String(value); }
    try {
      return date.toLocaleString(cfg.locale, { timeZone: cfg.timezone, year: "numeric",
        month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
    } catch (e) {
      return date.toLocaleString();
    }
  }

  function newTabLink(href, text, className) {
    var link = el("a", className, text);
    link.href = href;
    link.target = "_blank";
    link.rel = "noopener";
    link.appendChild(el("span", "visually-hidden", " (" + T.newTab + ")"));
    return link;
  }

  function fact(dl, label, value, attr) {
    var row = el("div");
    row.appendChild(el("dt", null, label));
    var dd = el("dd", null, value);
    if (attr) { dd.setAttribute(attr, ""); }
    row.appendChild(dd);
    dl.appendChild(row);
    return dd;
  }

  function announce(text) {
    if (announcer) { announcer.textContent = text; }
  }

  // --- the pop -----------------------------------------------------------------------

  function displayName(data) {
    var caller = isObject(data.caller) ? data.caller : {};
    var customer = isObject(data.customer) ? data.customer : null;
    if (customer && customer.name) { return String(customer.name); }
    return caller.name ? String(caller.name) : T.unknownCaller;
  }

  function section(title, items, emptyText, render) {
    var box = el("section", "pop__section");
    box.appendChild(el("h4", "pop__section-title", title));
    if (!items.length) {
      box.appendChild(el("p", "muted pop__none", emptyText));
      return box;
    }
    var ul = el("ul", "pop__list");
    items.forEach(function (item) {
      var li = el("li", "pop__item");
      render(li, item);
      ul.appendChild(li);
    });
    box.appendChild(ul);
    return box;
  }

  function buildSummary(card) {
    var data = card.data;
    var caller = isObject(data.caller) ? data.caller : {};
    var customer = isObject(data.customer) ? data.customer : null;
    var box = el("div", "pop__summary");

    var head = el("div", "pop__head");
    var state = STATES[card.event] || STATES["call.ringing"];
    var stateBadge = el("span", "badge pop__state pop__state--" + state.state);
    stateBadge.appendChild(icon(state.icon));
    stateBadge.appendChild(document.createTextNode(" " + state.label));
    if (card.event === "call.ended" && data.reason === "transferred") {
      stateBadge.appendChild(document.createTextNode(" · " + T.transferred));
    }
    head.appendChild(stateBadge);
    if (customer && customer.tier) {
      var tier = KNOWN_TIERS[customer.tier] ? customer.tier : "ordinary";
      var tierBadge = el("span", "badge badge--tier badge--tier-" + tier);
      if (tier === "vip") { tierBadge.appendChild(icon("★")); }
      tierBadge.appendChild(document.createTextNode((T.tiers[customer.tier] || customer.tier)));
      head.appendChild(tierBadge);
    }
    box.appendChild(head);

    var title = el("h3", "pop__name customer-name", displayName(data));
    title.id = card.titleId;
    box.appendChild(title);

    var facts = el("dl", "facts pop__facts");
    var dialled = caller.number ? String(caller.number) : T.noNumber;
    fact(facts, T.number, dialled, "data-pop-number");
    if (caller.e164 && caller.e164 !== caller.number) {
      fact(facts, T.normalised, caller.e164, "data-pop-e164");
    }
    if (customer && caller.name && caller.name !== customer.name) {
      fact(facts, T.callerIdName, caller.name);
    }
    if (data.queue) { fact(facts, T.queue, data.queue); }
    if (data.wait_s !== null && data.wait_s !== undefined) {
      card.waitEl = fact(facts, T.waited, duration(data.wait_s), "data-pop-wait");
    } else {
      card.waitEl = null;
    }
    if (card.event === "call.ended" && data.talk_s !== null && data.talk_s !== undefined) {
      fact(facts, T.talked, duration(data.talk_s));
    }
    box.appendChild(facts);

    var actions = el("div", "actions pop__actions");
    if (customer) {
      var href = customerHref(customer);
      if (href) {
        var open = newTabLink(href, T.open360, "btn btn--primary");
        open.setAttribute("data-pop-open", "");
        actions.appendChild(open);
      }
    } else {
      box.appendChild(el("p", "pop__unknown", T.unknownHint));
      var create = createHref(caller);
      if (create) {
        var add = newTabLink(create, T.createCustomer, "btn btn--primary");
        add.setAttribute("data-pop-open", "");
        actions.appendChild(add);
      }
    }
    box.appendChild(actions);
    if (card.event === "call.answered") {
      var transfer = buildTransfer(card);
      if (transfer) { box.appendChild(transfer); }
    }

    if (customer) {
      var details = el("div", "pop__details");
      details.appendChild(section(T.openTickets, list(customer.open_tickets), T.noOpenTickets,
        function (li, ticket) {
          var text = [ticket.number || (ticket.id !== undefined ? "#" + ticket.id : ""),
            ticket.title || ticket.subject || ""].filter(Boolean).join(" ");
          var href = sitePath(ticket.url);
          li.appendChild(href ? newTabLink(href, text || "?") : el("span", null, text || "?"));
          if (ticket.status) { li.appendChild(el("span", "badge badge--muted", ticket.status)); }
        }));
      details.appendChild(section(T.products, list(customer.products), T.noProducts,
        function (li, product) {
          li.appendChild(el("span", "strong", product.model || "?"));
          if (product.serial_number) {
            var serial = el("span", "muted", " " + T.serial + " ");
            serial.appendChild(el("code", null, product.serial_number));
            li.appendChild(serial);
          }
          var stateName = WARRANTY_TONES[product.warranty_state] ? product.warranty_state : "none";
          var badge = el("span", "badge badge--" + WARRANTY_TONES[stateName],
            T.warranty[stateName]);
          li.appendChild(document.createTextNode(" "));
          li.appendChild(badge);
          if (product.warranty_end && stateName !== "none") {
            li.appendChild(el("span", "muted",
              " " + fmt(T.warrantyUntil, { date: product.warranty_end })));
          }
        }));
      details.appendChild(section(T.contacts, list(customer.contacts).slice(0, 3), "—",
        function (li, contact) {
          li.appendChild(el("span", "strong", contact.name || "?"));
          if (contact.position) { li.appendChild(el("span", "muted", " " + contact.position)); }
          var phone = list(contact.phones)[0];
          if (phone) { li.appendChild(el("span", "nowrap", " " + (phone.display || phone.number || ""))); }
        }));
      details.appendChild(section(T.lastContacts, list(customer.last_calls).slice(0, 5),
        T.noLastContacts, function (li, call) {
          li.appendChild(el("span", "muted nowrap",
            when(call.started_at || call.at || call.date) + " "));
          var text = [call.queue, T.outcomes[call.outcome] || call.outcome,
            dispositionLabels[call.disposition] || call.disposition, call.agent_name || call.agent]
            .filter(function (v) { return typeof v === "string" && v; }).join(" · ");
          li.appendChild(el("span", null, text));
          if (call.notes) { li.appendChild(el("span", "pop__note prewrap", " " + call.notes)); }
        }));
      box.appendChild(details);
    }
    return box;
  }

  // --- transfer (an answered call, to another queue: POST /desk/transfer) -----------------

  function postJson(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json",
        "X-CSRFToken": cfg.csrfToken },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (reply) {
        if (response.ok && reply && reply.ok) { return reply; }
        throw new Error(reply && reply.error ? reply.error
          : response.status === 400 ? T.pageExpired : response.status + " " + response.statusText);
      });
    });
  }

  function buildTransfer(card) {
    var queues = (Array.isArray(cfg.transferQueues) ? cfg.transferQueues : [])
      .filter(function (name) { return typeof name === "string" && name !== card.data.queue; });
    if (!cfg.transferUrl || !queues.length) { return null; }
    var n = ++counter;
    var form = el("form", "pop__transfer");
    form.noValidate = true;
    form.setAttribute("data-pop-transfer", "");
    var field = el("div", "field");
    var label = el("label", "field__label", T.transferTo);
    label.htmlFor = "transfer-queue-" + n;
    var select = el("select", "field__input");
    select.id = label.htmlFor;
    select.name = "queue";
    queues.forEach(function (name) { select.appendChild(new Option(name, name)); });
    field.appendChild(label);
    field.appendChild(select);
    form.appendChild(field);
    var actions = el("div", "actions");
    var button = el("button", "btn", T.transfer);
    button.type = "submit";
    actions.appendChild(button);
    form.appendChild(actions);
    var note = el("p", "muted");
    note.setAttribute("role", "status");
    note.hidden = true;
    form.appendChild(note);
    var error = el("p", "field__error");
    error.setAttribute("role", "alert");
    error.hidden = true;
    form.appendChild(error);

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      error.hidden = true;
      button.disabled = select.disabled = true;
      button.textContent = T.transferring;
      postJson(cfg.transferUrl, { call_id: card.id, queue: select.value }).then(function () {
        // call.ended (transferred) follows from the bridge and turns this into the wrap-up
        note.textContent = T.transferAsked;
        note.hidden = false;
        announce(T.transferAsked);
      }).catch(function (err) {
        error.textContent = fmt(T.transferFailed, { error: err.message });
        error.hidden = false;
        button.disabled = select.disabled = false;
        button.textContent = T.transfer;
      });
    });
    return form;
  }

  function buildWrapup(card) {
    var n = ++counter;
    var form = el("form", "pop__wrapup");
    form.noValidate = true;
    form.appendChild(el("h4", "pop__section-title", T.wrapup));
    var dispField = el("div", "field");
    var dispLabel = el("label", "field__label", T.disposition);
    dispLabel.htmlFor = "wrapup-disp-" + n;
    var select = el("select", "field__input");
    select.id = dispLabel.htmlFor;
    select.name = "disposition";
    select.required = true;
    select.appendChild(new Option(T.chooseDisposition, ""));
    cfg.dispositions.forEach(function (pair) { select.appendChild(new Option(pair[1], pair[0])); });
    dispField.appendChild(dispLabel);
    dispField.appendChild(select);
    form.appendChild(dispField);

    var noteField = el("div", "field");
    var noteLabel = el("label", "field__label", T.note);
    noteLabel.htmlFor = "wrapup-note-" + n;
    var note = el("textarea", "field__input");
    note.id = noteLabel.htmlFor;
    note.name = "notes";
    note.rows = 3;
    note.maxLength = 4000;
    noteField.appendChild(noteLabel);
    noteField.appendChild(note);
    form.appendChild(noteField);

    var error = el("p", "field__error");
    error.setAttribute("role", "alert");
    error.hidden = true;
    form.appendChild(error);
    var actions = el("div", "actions");
    var save = el("button", "btn btn--primary", T.save);
    save.type = "submit";
    actions.appendChild(save);
    form.appendChild(actions);

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      error.hidden = true;
      if (!select.value) {
        error.textContent = T.needDisposition;
        error.hidden = false;
        select.focus();
        return;
      }
      save.disabled = true;
      save.textContent = T.saving;
      var url = cfg.wrapupUrl.replace("{call_id}", encodeURIComponent(card.id));
      fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json",
          "X-CSRFToken": cfg.csrfToken },
        body: JSON.stringify({ disposition: select.value, notes: note.value })
      }).then(function (response) {
        if (response.ok) {
          removeCard(card.id);
          announce(T.saved);
          return null;
        }
        return response.json().catch(function () { return null; }).then(function (body) {
          var message = body && isObject(body.error) ? body.error.message : body && body.error;
          throw new Error(message || (response.status + " " + response.statusText));
        });
      }).catch(function (err) {
        error.textContent = fmt(T.saveFailed, { error: err.message });
        error.hidden = false;
        save.disabled = false;
        save.textContent = T.save;
      });
    });
    return form;
  }

  function render(card) {
    var summary = buildSummary(card);
    if (card.summary) {
      card.article.replaceChild(summary, card.summary);
    } else {
      card.article.insertBefore(summary, card.article.firstChild);
    }
    card.summary = summary;
    var state = (STATES[card.event] || STATES["call.ringing"]).state;
    card.el.className = "pop pop--" + state +
      (isObject(card.data.customer) && card.data.customer.tier === "vip" ? " pop--vip" : "") +
      (isObject(card.data.customer) ? "" : " pop--unknown");
    card.el.setAttribute("data-state", state);
    if (card.event === "call.ended" && !card.form) {
      card.form = buildWrapup(card);
      card.article.appendChild(card.form);
    } else if (card.event !== "call.ended" && card.form) {
      card.article.removeChild(card.form);
      card.form = null;
    }
  }

  function upsert(event, data, order) {
    var id = String(data.call_id);
    var card = cards[id];
    var isNew = !card;
    var wasRinging = card && card.event === "call.ringing";
    if (isNew) {
      card = cards[id] = { id: id, order: order, titleId: "pop-title-" + (++counter) };
      card.el = el("li", "pop");
      card.el.setAttribute("data-call-id", id);
      card.article = el("article", "card pop__card");
      card.article.setAttribute("aria-labelledby", card.titleId);
      card.el.appendChild(card.article);
      stack.insertBefore(card.el, stack.firstChild);
    }
    card.event = event;
    card.data = data;
    card.receivedAt = Date.now();
    render(card);
    if (event === "call.ringing" && !wasRinging) { ring(card); }
    updateCount();
    return card;
  }

  function removeCard(id) {
    var card = cards[id];
    if (!card) { return; }
    if (card.el.parentNode) { card.el.parentNode.removeChild(card.el); }
    delete cards[id];
    updateCount();
  }

  function ordered() {
    return Object.keys(cards).map(function (id) { return cards[id]; })
      .sort(function (a, b) { return b.order - a.order; });
  }

  function reorder() {
    var want = ordered();
    var have = Array.prototype.slice.call(stack.children);
    var same = want.length === have.length && want.every(function (card, i) {
      return card.el === have[i];
    });
    if (!same) { want.forEach(function (card) { stack.appendChild(card.el); }); }
  }

  function updateCount() {
    var n = Object.keys(cards).length;
    if (emptyNote) { emptyNote.hidden = n > 0; }
    if (countEl) { countEl.textContent = n === 0 ? "" : n === 1 ? T.oneCall : fmt(T.callsCount, { n: n }); }
  }

  function topCard() { return ordered()[0] || null; }

  // The waited time keeps counting while a call rings.
  window.setInterval(function () {
    Object.keys(cards).forEach(function (id) {
      var card = cards[id];
      if (card.event === "call.ringing" && card.waitEl && typeof card.data.wait_s === "number") {
        card.waitEl.textContent = duration(card.data.wait_s + (Date.now() - card.receivedAt) / 1000);
      }
    });
  }, 1000);

  // --- sound and notification ---------------------------------------------------------

  function setting(name) {
    try { return window.localStorage.getItem("desk." + name) !== "off"; } catch (e) { return true; }
  }

  var audio = null;
  function unlockAudio() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) { return; }
    try {
      audio = audio || new Ctx();
      if (audio.state === "suspended") { audio.resume(); }
    } catch (e) { audio = null; }
  }

  function beep() {
    if (!setting("sound") || !audio) { return; }
    try {
      var t = audio.currentTime;
      [0, 0.25].forEach(function (offset) {
        var osc = audio.createOscillator();
        var gain = audio.createGain();
        osc.type = "sine";
        osc.frequency.value = 880;
        gain.gain.setValueAtTime(0.0001, t + offset);
        gain.gain.exponentialRampToValueAtTime(0.25, t + offset + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, t + offset + 0.18);
        osc.connect(gain);
        gain.connect(audio.destination);
        osc.start(t + offset);
        osc.stop(t + offset + 0.2);
      });
    } catch (e) { /* no sound is better than a broken desk */ }
  }

  function notify(card) {
    if (!setting("notify") || !("Notification" in window) || Notification.permission !== "granted") {
      return;
    }
    var caller = isObject(card.data.caller) ? card.data.caller : {};
    try {
      var note = new Notification(T.incomingCall, {
        body: displayName(card.data) + (caller.number ? " · " + caller.number : ""),
        tag: "call-" + card.id
      });
      note.onclick = function () { window.focus(); note.close(); };
    } catch (e) { /* some browsers allow notifications only from a service worker */ }
  }

  function ring(card) {
    beep();
    notify(card);
    announce(T.incomingCall + ": " + displayName(card.data));
  }

  function notifyHint() {
    var hint = document.querySelector("[data-notify-hint]");
    if (!hint) { return; }
    var blocked = setting("notify") && "Notification" in window && Notification.permission === "denied";
    hint.textContent = blocked ? T.notifyBlocked : "";
    hint.hidden = !blocked;
  }

  function askNotificationPermission() {
    if (setting("notify") && "Notification" in window && Notification.permission === "default") {
      try {
        var asked = Notification.requestPermission(notifyHint);
        if (asked && asked.then) { asked.then(notifyHint); }
      } catch (e) { /* old browsers */ }
    }
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-setting]"), function (box) {
    var name = box.getAttribute("data-setting");
    box.checked = setting(name);
    box.addEventListener("change", function () {
      try { window.localStorage.setItem("desk." + name, box.checked ? "on" : "off"); } catch (e) { /* private mode */ }
      if (name === "notify") { askNotificationPermission(); notifyHint(); }
      if (name === "sound" && box.checked) { unlockAudio(); beep(); }
    });
  });
  notifyHint();

  // Browsers start sound (and may ask for notifications) only after the user did something.
  function firstGesture() {
    unlockAudio();
    askNotificationPermission();
    document.removeEventListener("pointerdown", firstGesture);
    document.removeEventListener("keydown", firstGesture);
  }
  document.addEventListener("pointerdown", firstGesture);
  document.addEventListener("keydown", firstGesture);

  // --- keyboard ------------------------------------------------------------------------
  // "/" (search) is app.js's; a: open the top call's customer; w: the top wrap-up; Esc.

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var target = event.target;
    var typing = target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName);
    if (event.key === "Escape") {
      if (typing) { target.blur(); }
      return;
    }
    if (typing) { return; }
    if (event.key === "a") {
      var top = topCard();
      var link = top && top.el.querySelector("[data-pop-open]");
      if (link) {
        event.preventDefault();
        window.open(link.href, "_blank", "noopener");
      }
    } else if (event.key === "w") {
      var field = stack.querySelector(".pop__wrapup select");
      if (field) {
        event.preventDefault();
        field.focus();
      }
    }
  });

  // --- the live connection -------------------------------------------------------------

  function ack(seq) {
    if (typeof seq === "number" && live) { live.emit("call.ack", { seq: seq }); }
  }

  function onSnapshot(snapshot) {
    if (!isObject(snapshot)) { return; }
    var calls = list(snapshot.calls).slice().sort(function (a, b) { return (a.seq || 0) - (b.seq || 0); });
    var keep = {};
    calls.forEach(function (data) {
      if (data.call_id === undefined || data.call_id === null) { return; }
      var event = STATES[data.event] ? data.event : "call.ringing";
      keep[String(data.call_id)] = true;
      upsert(event, data, typeof data.seq === "number" ? data.seq : 0);
    });
    Object.keys(cards).forEach(function (id) { if (!keep[id]) { removeCard(id); } });
    reorder();
    lastSeq = typeof snapshot.seq === "number" ? snapshot.seq : 0;
    ack(lastSeq);
  }

  function onEvent(event) {
    return function (data) {
      if (!isObject(data) || data.call_id === undefined || data.call_id === null) { return; }
      var seq = typeof data.seq === "number" ? data.seq : null;
      if (seq !== null && seq <= lastSeq) { ack(seq); return; }  // already in the snapshot
      if (seq !== null && lastSeq && seq > lastSeq + 1 && live) {
        live.emit("calls.sync");  // a gap: something was lost; the snapshot repairs it
      }
      if (seq !== null) { lastSeq = seq; }
      if (event === "call.dismissed") {
        removeCard(String(data.call_id));
      } else {
        upsert(event, data, seq !== null ? seq : lastSeq);
      }
      ack(seq);
    };
  }

  var handlers = { "calls.snapshot": onSnapshot };
  ["call.ringing", "call.answered", "call.ended", "call.dismissed"].forEach(function (name) {
    handlers[name] = onEvent(name);
  });

  live = window.CallcenterLive.connect({
    indicator: document.querySelector("[data-live-indicator]"),
    banner: document.querySelector("[data-conn-banner]"),
    strings: T,
    loginUrl: "/login?next=" + encodeURIComponent(window.location.pathname),
    on: handlers
  });
  updateCount();

  // --- click-to-dial (POST /desk/dial: the agent's phone rings first) --------------------

  var dialForm = document.querySelector("[data-dial-form]");
  if (dialForm && cfg.dialUrl) {
    var dialNumber = dialForm.querySelector("[data-dial-number]");
    var dialSubmit = dialForm.querySelector("[data-dial-submit]");
    var dialStatus = dialForm.querySelector("[data-dial-status]");
    var dialError = dialForm.querySelector("[data-dial-error]");
    dialForm.addEventListener("submit", function (event) {
      event.preventDefault();
      dialError.hidden = true;
      dialStatus.textContent = T.dialing;
      dialStatus.hidden = false;
      dialSubmit.disabled = true;
      postJson(cfg.dialUrl, { number: dialNumber.value }).then(function (reply) {
        dialStatus.textContent = reply.message || T.dialing;
      }).catch(function (err) {
        dialStatus.hidden = true;
        dialError.textContent = fmt(T.dialFailed, { error: err.message });
        dialError.hidden = false;
        dialNumber.focus();
      }).then(function () {
        dialSubmit.disabled = false;
      });
    });
  }

  // --- the status control ---------------------------------------------------------------

  var statusForm = document.querySelector("[data-status-form]");
  if (statusForm) {
    var current = document.querySelector("[data-status-current]");
    var errorBox = document.querySelector("[data-status-error]");
    var busy = statusForm.querySelector("[data-status-busy]");
    var submit = statusForm.querySelector("[data-status-submit]");
    var reasonField = statusForm.querySelector(".desk-status__reason");
    var reasonSelect = statusForm.querySelector("select[name=reason]");

    var chosenStatus = function () {
      var checked = statusForm.querySelector("input[name=status]:checked");
      return checked ? checked.value : null;
    };
    var showReason = function () { reasonField.hidden = chosenStatus() !== "paused"; };
    statusForm.addEventListener("change", showReason);
    showReason();

    statusForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var status = chosenStatus();
      if (!status) { return; }
      errorBox.hidden = true;
      busy.hidden = false;
      submit.disabled = true;
      fetch(cfg.statusUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json",
          "X-CSRFToken": cfg.csrfToken },
        body: JSON.stringify({ status: status, reason: status === "paused" ? reasonSelect.value : null })
      }).then(function (response) {
        return response.json().catch(function () { return null; }).then(function (body) {
          if (response.ok && body && body.ok) {
            current.textContent = body.reason_label
              ? fmt(T.pausedBecause, { reason: body.reason_label }) : body.label;
            current.className = "badge desk-state desk-state--" + body.status;
            announce(T.statusChanged);
            return;
          }
          throw new Error(body && body.error ? body.error
            : response.status === 400 ? T.pageExpired : T.statusFailed);
        });
      }).catch(function (err) {
        errorBox.textContent = err.message || T.statusFailed;
        errorBox.hidden = false;
      }).then(function () {
        busy.hidden = true;
        submit.disabled = false;
      });
    });
  }
}());
