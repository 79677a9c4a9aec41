// What a pop shows (ES module): the call's state, who calls (the customer, or an
// unknown number with "create customer"), the facts of the call, and the customer's
// open tickets, products, contacts and last contacts. Built with textContent only.
import { el, fill } from "../dom.js";
import { buildTransfer } from "./dial.js";
import { day, duration, isObject, list, sitePath, when } from "./format.js";
import { newTicketHref, renderOpenTicket } from "./tickets.js";

const KNOWN_TIERS = { vip: 1, major: 1, ordinary: 1, small: 1 };
const WARRANTY_TONES = { in_warranty: "ok", expiring: "warn", expired: "danger", none: "muted" };

/** The pop states by event name; an unknown event shows as ringing. */
export function callState(T, event) {
  const states = {
    "call.ringing": { state: "ringing", icon: "☎", label: T.ringing },
    "call.answered": { state: "answered", icon: "✆", label: T.answered },
    "call.ended": { state: "ended", icon: "✎", label: T.ended }
  };
  return states[event] || states["call.ringing"];
}

export const CALL_EVENTS = ["call.ringing", "call.answered", "call.ended"];

export function displayName(T, data) {
  const caller = isObject(data.caller) ? data.caller : {};
  const customer = isObject(data.customer) ? data.customer : null;
  if (customer && customer.name) { return String(customer.name); }
  return caller.name ? String(caller.name) : T.unknownCaller;
}

function icon(text) {
  const span = el("span", "pop__icon", text);
  span.setAttribute("aria-hidden", "true");
  return span;
}

function newTabLink(T, href, text, className) {
  const link = el("a", className, text);
  link.href = href;
  link.target = "_blank";
  link.rel = "noopener";
  link.appendChild(el("span", "visually-hidden", " (" + T.newTab + ")"));
  return link;
}

function fact(dl, label, value, attr) {
  const row = el("div");
  row.appendChild(el("dt", null, label));
  const dd = el("dd", null, value);
  if (attr) { dd.setAttribute(attr, ""); }
  row.appendChild(dd);
  dl.appendChild(row);
  return dd;
}

function section(title, items, emptyText, render) {
  const box = el("section", "pop__section");
  box.appendChild(el("h4", "pop__section-title", title));
  if (!items.length) {
    box.appendChild(el("p", "muted pop__none", emptyText));
    return box;
  }
  const ul = el("ul", "pop__list");
  items.forEach((item) => {
    const li = el("li", "pop__item");
    render(li, item);
    ul.appendChild(li);
  });
  box.appendChild(ul);
  return box;
}

function customerHref(cfg, customer) {
  const path = sitePath(customer.url);
  if (path) { return path; }
  const id = parseInt(customer.id, 10);
  return isFinite(id) ? cfg.customerUrl + id : null;
}

function createHref(cfg, caller) {
  if (!cfg.createUrl) { return null; }
  const number = caller.number || caller.e164 || "";
  return cfg.createUrl + (number ? "?q=" + encodeURIComponent(number) : "");
}

function buildHead(T, card, customer) {
  const head = el("div", "pop__head");
  const state = callState(T, card.event);
  const stateBadge = el("span", "badge pop__state pop__state--" + state.state);
  stateBadge.append(icon(state.icon), " " + state.label);
  if (card.event === "call.ended" && card.data.reason === "transferred") {
    stateBadge.append(" · " + T.transferred);
  }
  head.appendChild(stateBadge);
  if (card.data.direction === "outbound") {
    // the agent dialled this one (click-to-dial): the number is whom they called
    const out = el("span", "badge pop__direction", T.outbound);
    out.setAttribute("data-pop-outbound", "");
    head.appendChild(out);
  }
  if (customer && customer.tier) {
    const tier = KNOWN_TIERS[customer.tier] ? customer.tier : "ordinary";
    const tierBadge = el("span", "badge badge--tier badge--tier-" + tier);
    if (tier === "vip") { tierBadge.appendChild(icon("★")); }
    tierBadge.append(T.tiers[customer.tier] || customer.tier);
    head.appendChild(tierBadge);
  }
  return head;
}

function buildFacts(cfg, T, card, caller, customer) {
  const data = card.data;
  const facts = el("dl", "facts pop__facts");
  // The number as every page shows it (national at home); what the PBX sent, when it
  // reads otherwise (a trunk prefix, +86...), is on hover: one format on the screen.
  const shown = caller.display || caller.e164 || caller.number;
  const number = fact(facts, T.number, shown ? String(shown) : T.noNumber, "data-pop-number");
  if (caller.number && String(caller.number) !== String(shown)) {
    number.title = T.asSent.replace("{number}", String(caller.number));
    number.setAttribute("data-pop-as-sent", String(caller.number));
  }
  if (customer && caller.name && caller.name !== customer.name) {
    fact(facts, T.callerIdName, caller.name);
  }
  if (data.queue) {
    fact(facts, T.queue, (cfg.queueLabels || {})[data.queue] || data.queue, "data-pop-queue");
  }
  card.waitEl = data.wait_s !== null && data.wait_s !== undefined
    ? fact(facts, T.waited, duration(data.wait_s), "data-pop-wait") : null;
  if (card.event === "call.ended" && data.talk_s !== null && data.talk_s !== undefined) {
    fact(facts, T.talked, duration(data.talk_s));
  }
  return facts;
}

function buildDetails(desk, customer) {
  const { cfg, T } = desk;
  const dispositionLabels = Object.fromEntries(cfg.dispositions);
  const details = el("div", "pop__details");
  details.appendChild(section(T.openTickets, list(customer.open_tickets), T.noOpenTickets,
    (li, ticket) => renderOpenTicket(desk, li, ticket)));
  details.appendChild(section(T.products, list(customer.products), T.noProducts,
    (li, product) => {
      li.appendChild(el("span", "strong", product.model || "?"));
      if (product.serial_number) {
        const serial = el("span", "muted", " " + T.serial + " ");
        serial.appendChild(el("code", null, product.serial_number));
        li.appendChild(serial);
      }
      const stateName = WARRANTY_TONES[product.warranty_state] ? product.warranty_state : "none";
      li.append(" ", el("span", "badge badge--" + WARRANTY_TONES[stateName], T.warranty[stateName]));
      if (product.warranty_end && stateName !== "none") {
        li.append(" ", el("span", "muted nowrap", fill(T.warrantyUntil, { date: day(product.warranty_end) })));
      }
    }));
  details.appendChild(section(T.contacts, list(customer.contacts).slice(0, 3), "—",
    (li, contact) => {
      li.appendChild(el("span", "strong", contact.name || "?"));
      if (contact.position) { li.appendChild(el("span", "muted", " " + contact.position)); }
      const phone = list(contact.phones)[0];
      if (phone && (phone.display || phone.number)) {
        li.appendChild(el("span", "nowrap", " " + String(phone.display || phone.number)));
      }
    }));
  details.appendChild(section(T.lastContacts, list(customer.last_calls).slice(0, 5),
    T.noLastContacts, (li, call) => {
      li.appendChild(el("span", "muted nowrap", when(call.started_at || call.at || call.date) + " "));
      const queue = call.queue ? (cfg.queueLabels || {})[call.queue] || call.queue : "";
      const text = [queue, T.outcomes[call.outcome] || call.outcome,
        dispositionLabels[call.disposition] || call.disposition, call.agent_name || call.agent]
        .filter((v) => typeof v === "string" && v).join(" · ");
      li.appendChild(el("span", null, text));
      if (call.notes) { li.appendChild(el("span", "pop__note prewrap", " " + call.notes)); }
    }));
  return details;
}

/** The knowledge base's entries for the caller's open tickets and products, fetched
 *  after the pop is on screen (the pop itself never waits for them). */
function suggestAnswers(desk, customer, details) {
  const { cfg, T } = desk;
  if (!cfg.kbSuggestUrl) { return; }
  const params = new URLSearchParams();
  const subjects = list(customer.open_tickets).map((t) => t.subject).filter(Boolean);
  if (subjects.length) { params.set("q", subjects.join(" ").slice(0, 500)); }
  list(customer.products).slice(0, 5).forEach((p) => { if (p.model) { params.append("model", p.model); } });
  if (!params.toString()) { return; }
  params.set("limit", "5");
  fetch(cfg.kbSuggestUrl + "?" + params, { credentials: "same-origin",
    headers: { "Accept": "application/json" } })
    .then((r) => (r.ok ? r.json() : null))
    .then((answer) => {
      if (!answer) { return; }
      const box = section(T.suggested, list(answer.items), T.noSuggestions, (li, item) => {
        const a = el("a", "strong", item.title);
        a.href = cfg.kbEntryUrl.replace("{id}", String(item.id));
        a.target = "_blank";
        a.rel = "noopener";
        li.appendChild(a);
      });
      box.setAttribute("data-pop-suggestions", "");
      details.insertBefore(box, details.children[1] || null);
    })
    .catch(() => {});  // suggestions are a help, never in the way of the pop
}

/** The pop's summary (everything but the wrap-up form), for card.event and card.data. */
export function buildSummary(desk, card) {
  const { cfg, T } = desk;
  const data = card.data;
  const caller = isObject(data.caller) ? data.caller : {};
  const customer = isObject(data.customer) ? data.customer : null;
  const box = el("div", "pop__summary");
  box.appendChild(buildHead(T, card, customer));
  const title = el("h3", "pop__name customer-name", displayName(T, data));
  title.id = card.titleId;
  box.appendChild(title);
  box.appendChild(buildFacts(cfg, T, card, caller, customer));

  const actions = el("div", "actions pop__actions");
  if (customer) {
    const href = customerHref(cfg, customer);
    if (href) {
      const open = newTabLink(T, href, T.open360, "btn btn--primary");
      open.setAttribute("data-pop-open", "");
      actions.appendChild(open);
    }
  } else {
    box.appendChild(el("p", "pop__unknown", T.unknownHint));
    const create = createHref(cfg, caller);
    if (create) {
      const add = newTabLink(T, create, T.createCustomer, "btn btn--primary");
      add.setAttribute("data-pop-open", "");
      actions.appendChild(add);
    }
  }
  // A ticket from this call: the caller, customer, contact, product and call go along.
  const ticketHref = customer ? newTicketHref(cfg, card) : null;
  if (ticketHref) {
    const newTicket = newTabLink(T, ticketHref, T.newTicket, "btn");
    newTicket.setAttribute("data-pop-ticket", "");
    actions.appendChild(newTicket);
  }
  box.appendChild(actions);
  // a call the agent dialled is in no queue: there is no queue to hand it over to
  if (card.event === "call.answered" && data.direction !== "outbound") {
    const transfer = buildTransfer(desk, card);
    if (transfer) { box.appendChild(transfer); }
  }
  if (customer) {
    const details = buildDetails(desk, customer);
    box.appendChild(details);
    suggestAnswers(desk, customer, details);
  }
  return box;
}
