// The queues' figures (ES module): one card per queue with callers waiting, the longest
// wait, today's service level, abandoned calls, ASA and AHT, the callers waiting now,
// and the alerts (a figure past its limit). Waits tick each second from their arrival.
import { fill, fromTemplate, setText } from "../dom.js";
import { count, duration, elapsed, field, percent } from "./format.js";

function longestNow(entry) {
  const q = entry.data;
  if (q.longest_wait_s === null || q.longest_wait_s === undefined) { return null; }
  return q.waiting ? q.longest_wait_s + elapsed(entry) : q.longest_wait_s;
}

/** Above this many seconds a caller's wait is flagged: the queue's alert threshold. */
function waitLimit(q) {
  return typeof q.longest_wait_limit_s === "number" ? q.longest_wait_limit_s : q.sl_threshold_s;
}

function alertsOf(entry) {
  const q = entry.data;
  const alerts = {};
  const target = typeof q.sl_target === "number" ? q.sl_target : 0.8;
  const limit = typeof q.abandon_rate_limit === "number" ? q.abandon_rate_limit : 0.05;
  if (typeof q.service_level === "number" && q.service_level < target) {
    alerts.service_level = true;
  }
  if (typeof q.abandon_rate === "number" && q.abandon_rate > limit) {
    alerts.abandon_rate = true;
  }
  const longest = longestNow(entry);
  if (longest !== null && longest > waitLimit(q)) { alerts.longest_wait = true; }
  return alerts;
}

function showAlerts(entry) {
  const card = entry.card;
  const alerts = alertsOf(entry);
  let any = false;
  ["service_level", "abandon_rate", "longest_wait"].forEach((name) => {
    const on = Boolean(alerts[name]);
    any = any || on;
    const box = card.querySelector("[data-figure='" + name + "']");
    if (box) {
      box.classList.toggle(box.classList.contains("wb-figure") ? "wb-figure--alert"
        : "wb-stat--alert", on);
    }
    const flag = card.querySelector("[data-flag='" + name + "']");
    if (flag) { flag.hidden = !on; }
  });
  card.classList.toggle("wb-queue--alert", any);
}

function tickCallers(entry) {
  const callers = entry.data.callers || [];
  const items = entry.card.querySelector("[data-callers]").children;
  callers.forEach((caller, i) => {
    const wait = caller.wait_s === null || caller.wait_s === undefined ? null
      : caller.wait_s + elapsed(entry);
    if (items[i]) { setText(items[i].querySelector(".wb-caller__wait"), duration(wait)); }
  });
}

function showCallers(board, entry) {
  const q = entry.data;
  const list = entry.card.querySelector("[data-callers]");
  const none = entry.card.querySelector("[data-callers-none]");
  const callers = q.callers || [];
  const items = list.children;
  while (items.length > callers.length) { list.removeChild(list.lastElementChild); }
  while (items.length < callers.length) { list.appendChild(fromTemplate("wb-caller-template")); }
  callers.forEach((caller, i) => {
    // The number as every other screen shows it (the server's display form); text.
    setText(items[i].querySelector(".wb-caller__number"),
      caller.caller_display || caller.caller_number || board.texts.unknown_number || "");
  });
  tickCallers(entry);
  setText(none, q.waiting === null || q.waiting === undefined ? board.texts.no_live
    : board.texts.nobody_waiting);
  none.hidden = callers.length > 0;
}

function showQueue(board, entry) {
  const q = entry.data;
  const card = entry.card;
  const texts = board.texts;
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
  const flagTexts = {
    longest_wait: fill(texts["flag.longest_wait"], { s: waitLimit(q) }),
    service_level: fill(texts["flag.service_level"], { p: percent(q.sl_target) }),
    abandon_rate: fill(texts["flag.abandon_rate"], { p: percent(q.abandon_rate_limit) })
  };
  Object.keys(flagTexts).forEach((name) => {
    setText(card.querySelector("[data-flag='" + name + "'] [data-flag-text]"), flagTexts[name]);
  });
  showCallers(board, entry);
  showAlerts(entry);
}

/** Show one queue (from the whole wallboard or a queue.update push) as of `at`. */
export function applyQueue(board, q, at) {
  if (!q || typeof q.queue !== "string") { return; }
  if (!board.queues[q.queue]) {
    board.queues[q.queue] = { data: null, at: 0, card: fromTemplate("wb-queue-template") };
  }
  const entry = board.queues[q.queue];
  entry.data = q;
  entry.at = at;
  if (!entry.card.parentNode) {
    board.queuesBox.appendChild(entry.card);
    if (board.queueOrder.indexOf(q.queue) < 0) { board.queueOrder.push(q.queue); }
  }
  showQueue(board, entry);
  board.root.querySelector("[data-queues-none]").hidden = true;
}

/** Every second: the waits go on and an alert may start. */
export function tickQueue(entry) {
  if (!entry.data) { return; }
  setText(field(entry.card, "longest_wait_s"), duration(longestNow(entry)));
  tickCallers(entry);
  showAlerts(entry);
}

/** The queue's name as the board shows it (its display name once known). */
export function queueLabel(board, name) {
  const entry = board.queues[name];
  return entry && entry.data ? (entry.data.display_name || name) : name;
}
