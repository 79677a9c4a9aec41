// The pops (ES module): one card per call, newest first, stacked in [data-pops]. A card
// follows its call (ringing, answered, ended with the wrap-up form) and goes when the call
// is dismissed elsewhere or its wrap-up is saved. The count and the empty note follow.
// Ended calls waiting for their wrap-up fold to one line each, except the newest: a busy
// hour leaves a short list, not a wall of forms (each line opens its form again).
import { el, fill } from "../dom.js";
import { buildSummary, callState } from "./card.js";
import { duration, isObject, nextNumber } from "./format.js";
import { buildWrapup } from "./wrapup.js";

/** The pop stack of the page; onRing(card) runs when a call starts ringing. */
export function createPops(desk, stack, onRing) {
  const T = desk.T;
  const emptyNote = document.querySelector("[data-pops-empty]");
  const countEl = document.querySelector("[data-pops-count]");
  const cards = new Map();  // call_id -> card

  function render(card) {
    const summary = buildSummary(desk, card);
    if (card.summary) {
      card.article.replaceChild(summary, card.summary);
    } else {
      card.article.insertBefore(summary, card.article.firstChild);
    }
    card.summary = summary;
    const state = callState(T, card.event).state;
    card.el.className = "pop pop--" + state +
      (isObject(card.data.customer) && card.data.customer.tier === "vip" ? " pop--vip" : "") +
      (isObject(card.data.customer) ? "" : " pop--unknown");
    card.el.setAttribute("data-state", state);
    card.opener = null;   // the head was rebuilt: fold() adds the button again
    if (card.event === "call.ended" && !card.form) {
      card.form = buildWrapup(desk, card, () => remove(card.id));
      card.article.appendChild(card.form);
    } else if (card.event !== "call.ended" && card.form) {
      card.article.removeChild(card.form);
      card.form = null;
    }
  }

  /** Fold every ended card but the newest ended one (unless its agent opened it). */
  function fold() {
    let newestEnded = true;
    ordered().forEach((card) => {
      const ended = card.event === "call.ended";
      const compact = ended && !newestEnded && !card.expanded;
      if (ended) { newestEnded = false; }
      card.el.classList.toggle("pop--compact", compact);
      if (compact && !card.opener) {
        card.opener = el("button", "btn btn--small pop__open-wrapup", T.wrapupOpen || T.wrapup);
        card.opener.type = "button";
        card.opener.addEventListener("click", () => {
          card.expanded = true;
          fold();
          const field = card.el.querySelector(".pop__wrapup select");
          if (field) { field.focus(); }
        });
      }
      if (card.opener) {
        const head = card.el.querySelector(".pop__head");
        if (compact && head && card.opener.parentNode !== head) { head.appendChild(card.opener); }
        card.opener.hidden = !compact;
      }
    });
  }

  function updateCount() {
    fold();
    const n = cards.size;
    if (emptyNote) { emptyNote.hidden = n > 0; }
    if (countEl) { countEl.textContent = n === 0 ? "" : n === 1 ? T.oneCall : fill(T.callsCount, { n }); }
  }

  /** Show a call's event on its card (a new card goes on top); order: its seq. */
  function upsert(event, data, order) {
    const id = String(data.call_id);
    let card = cards.get(id);
    const wasRinging = card && card.event === "call.ringing";
    if (!card) {
      card = { id, order, titleId: "pop-title-" + nextNumber() };
      card.el = el("li", "pop");
      card.el.setAttribute("data-call-id", id);
      card.article = el("article", "card pop__card");
      card.article.setAttribute("aria-labelledby", card.titleId);
      card.el.appendChild(card.article);
      stack.insertBefore(card.el, stack.firstChild);
      cards.set(id, card);
    }
    card.event = event;
    card.data = data;
    card.receivedAt = Date.now();
    render(card);
    if (event === "call.ringing" && !wasRinging) { onRing(card); }
    updateCount();
    return card;
  }

  function remove(id) {
    const card = cards.get(id);
    if (!card) { return; }
    card.el.remove();
    cards.delete(id);
    updateCount();
  }

  function ordered() {
    return Array.from(cards.values()).sort((a, b) => b.order - a.order);
  }

  /** Put the cards in seq order (after a snapshot), moving nothing that is in place. */
  function reorder() {
    const want = ordered();
    const have = Array.from(stack.children);
    const same = want.length === have.length && want.every((card, i) => card.el === have[i]);
    if (!same) { want.forEach((card) => stack.appendChild(card.el)); }
  }

  // The waited time keeps counting while a call rings.
  window.setInterval(() => {
    cards.forEach((card) => {
      if (card.event === "call.ringing" && card.waitEl && typeof card.data.wait_s === "number") {
        card.waitEl.textContent = duration(card.data.wait_s + (Date.now() - card.receivedAt) / 1000);
      }
    });
  }, 1000);

  updateCount();
  return {
    upsert,
    remove,
    reorder,
    ids: () => Array.from(cards.keys()),
    top: () => ordered()[0] || null
  };
}
