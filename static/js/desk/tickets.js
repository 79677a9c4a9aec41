// Tickets on the desk (ES module): the pop's open tickets (from the caller card), its
// "new ticket" button, the new-ticket form opened when a wrap-up says a ticket is needed,
// and the banner for `ticket.notice` events (a ticket of mine at risk, breached,
// escalated to me). The new-ticket form opens in a new tab so the desk stays connected,
// prefilled with the call, the customer, the calling contact and the product: nothing
// is typed twice.
import { el, fill } from "../dom.js";
import { isObject, list, sitePath, when } from "./format.js";
import { sendJson } from "./http.js";

const SLA_TONES = { on_track: "ok", at_risk: "warn", breached: "danger", paused: "muted",
  met: "ok" };
const SLA_ICONS = { on_track: "✓", at_risk: "⚠", breached: "✖", paused: "‖", met: "✓" };

/** The prefilled new-ticket URL for a pop's call (null when tickets are not offered). */
export function newTicketHref(cfg, card) {
  if (!cfg.ticketNewUrl) { return null; }
  const data = card.data || {};
  const caller = isObject(data.caller) ? data.caller : {};
  const customer = isObject(data.customer) ? data.customer : null;
  const params = new URLSearchParams();
  if (card.id) { params.set("call_id", card.id); }
  if (customer && customer.id !== undefined) { params.set("customer_id", String(customer.id)); }
  if (customer) {
    const calling = list(customer.contacts).find((c) => c.calling);
    if (calling && calling.id !== undefined) { params.set("contact_id", String(calling.id)); }
    const products = list(customer.products);
    if (products.length === 1 && products[0].id !== undefined) {
      params.set("installed_product_id", String(products[0].id));
    }
  }
  const phone = caller.e164 || caller.number;
  if (phone) { params.set("phone", String(phone)); }
  if (caller.name && !customer) { params.set("name", String(caller.name)); }
  return cfg.ticketNewUrl + "?" + params.toString();
}

/** Open the prefilled form in a new tab; call it from a click or key press (popups). */
export function openNewTicket(cfg, card) {
  const href = newTicketHref(cfg, card);
  if (href) { window.open(href, "_blank", "noopener"); }
  return href;
}

/** The pop's "open tickets" list items: number, subject, status, SLA state in words. */
export function renderOpenTicket(desk, li, ticket) {
  const { cfg, T } = desk;
  const id = ticket.id !== undefined && ticket.id !== null ? String(ticket.id) : "";
  const text = [id ? "#" + id : "", ticket.subject || ticket.title || ""].filter(Boolean).join(" ");
  const href = sitePath(ticket.url) || (id && cfg.ticketUrl ? cfg.ticketUrl + encodeURIComponent(id) : null);
  if (href) {
    const link = el("a", "pop__ticket", text || "?");
    link.href = href;
    link.target = "_blank";
    link.rel = "noopener";
    link.appendChild(el("span", "visually-hidden", " (" + T.newTab + ")"));
    li.appendChild(link);
  } else {
    li.appendChild(el("span", null, text || "?"));
  }
  const labels = T.ticketStatus || {};
  if (ticket.status) {
    li.append(" ", el("span", "badge badge--muted", labels[ticket.status] || ticket.status));
  }
  const sla = ticket.sla_state || (isObject(ticket.sla) ? ticket.sla.state : null);
  if (sla && SLA_TONES[sla]) {
    const badge = el("span", "badge badge--" + SLA_TONES[sla]);
    const icon = el("span", null, SLA_ICONS[sla]);
    icon.setAttribute("aria-hidden", "true");
    badge.append(icon, " " + ((T.slaStates || {})[sla] || sla));
    li.append(" ", badge);
  }
}

/** The banner of ticket notices, newest on top; each can be dismissed. */
export function startTicketNotices(desk) {
  const { cfg, T } = desk;
  const box = document.querySelector("[data-ticket-notices]");
  const listEl = box && box.querySelector("[data-ticket-notices-list]");
  if (!box || !listEl) { return {}; }

  function text(notice) {
    const kinds = T.noticeKinds || {};
    const template = kinds[notice.kind] || T.noticeOther;
    return fill(template, { id: notice.ticket_id, subject: notice.subject || "",
      level: notice.level || 0 });
  }

  // A ticket shows once, with its latest notice; dismissing it reads all of that ticket's.
  const idsByTicket = new Map();

  function show(notice) {
    if (!isObject(notice) || notice.ticket_id === undefined || notice.ticket_id === null) { return; }
    const id = String(notice.ticket_id);
    const ids = idsByTicket.get(id) || new Set();
    if (notice.id !== undefined && notice.id !== null) { ids.add(String(notice.id)); }
    idsByTicket.set(id, ids);
    const old = listEl.querySelector("[data-notice-ticket='" + CSS.escape(id) + "']");
    if (old) { old.remove(); }
    const li = el("li", "ticket-notice ticket-notice--" +
      (notice.sla_state === "breached" || notice.level > 0 ? "danger" : "warn"));
    li.setAttribute("data-notice-ticket", id);
    const icon = el("span", "ticket-notice__icon", notice.level > 0 ? "▲" : "⚠");
    icon.setAttribute("aria-hidden", "true");
    const message = el("span", "ticket-notice__text", text(notice));
    li.append(icon, message);
    if (notice.due_at) {
      li.appendChild(el("span", "ticket-notice__due", fill(T.noticeDue, { when: when(notice.due_at) })));
    }
    const actions = el("span", "ticket-notice__actions");
    if (cfg.ticketUrl) {
      const link = el("a", "btn btn--small", fill(T.openTicketN, { id }));
      link.href = cfg.ticketUrl + encodeURIComponent(id);
      link.target = "_blank";
      link.rel = "noopener";
      actions.appendChild(link);
    }
    const dismiss = el("button", "btn btn--small btn--quiet", T.dismiss);
    dismiss.type = "button";
    dismiss.setAttribute("aria-label", T.dismiss + ": " + message.textContent);
    dismiss.addEventListener("click", () => {
      li.remove();
      box.hidden = listEl.children.length === 0;
      // Read: they are not shown again when the desk opens next time.
      const read = idsByTicket.get(id) || new Set();
      idsByTicket.delete(id);
      if (cfg.noticeReadUrl) {
        read.forEach((noticeId) => {
          sendJson(cfg.noticeReadUrl.replace("{id}", encodeURIComponent(noticeId)), {},
            cfg.csrfToken).catch(() => {});
        });
      }
    });
    actions.appendChild(dismiss);
    li.appendChild(actions);
    listEl.insertBefore(li, listEl.firstChild);
    box.hidden = false;
    desk.announce(message.textContent);
  }

  // Those that came while the desk was closed, oldest first so the newest ends on top.
  (Array.isArray(cfg.unreadNotices) ? cfg.unreadNotices : []).slice().reverse().forEach(show);
  return { "ticket.notice": show };
}
