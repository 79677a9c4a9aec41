// The wrap-up form (ES module): an ended call's pop asks for the disposition and a note,
// and goes once they are saved (POST to the call's wrap-up URL).
import { el, fill } from "../dom.js";
import { isObject, nextNumber } from "./format.js";
import { sendJson } from "./http.js";
import { openNewTicket } from "./tickets.js";

/** The form for an ended call's pop; onSaved() runs once the server took it. */
export function buildWrapup(desk, card, onSaved) {
  const { cfg, T } = desk;
  const n = nextNumber();
  const form = el("form", "pop__wrapup");
  form.noValidate = true;
  form.appendChild(el("h4", "pop__section-title", T.wrapup));
  const dispField = el("div", "field");
  const dispLabel = el("label", "field__label", T.disposition);
  dispLabel.htmlFor = "wrapup-disp-" + n;
  const select = el("select", "field__input");
  select.id = dispLabel.htmlFor;
  select.name = "disposition";
  select.required = true;
  select.appendChild(new Option(T.chooseDisposition, ""));
  cfg.dispositions.forEach((pair) => select.appendChild(new Option(pair[1], pair[0])));
  dispField.append(dispLabel, select);
  form.appendChild(dispField);

  const noteField = el("div", "field");
  const noteLabel = el("label", "field__label", T.note);
  noteLabel.htmlFor = "wrapup-note-" + n;
  const note = el("textarea", "field__input");
  note.id = noteLabel.htmlFor;
  note.name = "notes";
  note.rows = 3;
  note.maxLength = 4000;
  noteField.append(noteLabel, note);
  form.appendChild(noteField);

  const error = el("p", "field__error");
  error.setAttribute("role", "alert");
  error.hidden = true;
  form.appendChild(error);
  const actions = el("div", "actions");
  const save = el("button", "btn btn--primary", T.save);
  save.type = "submit";
  actions.appendChild(save);
  form.appendChild(actions);

  // "Ticket needed": saving also opens the prefilled new-ticket form (in the click, so
  // the browser lets the tab open).
  const ticketHint = el("p", "field__hint", T.ticketNeededHint);
  ticketHint.hidden = true;
  dispField.appendChild(ticketHint);
  select.addEventListener("change", () => {
    const needed = select.value === "ticket_needed" && Boolean(cfg.ticketNewUrl);
    ticketHint.hidden = !needed;
    save.textContent = needed ? T.saveAndTicket : T.save;
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    error.hidden = true;
    if (!select.value) {
      error.textContent = T.needDisposition;
      error.hidden = false;
      select.focus();
      return;
    }
    const label = save.textContent;
    if (select.value === "ticket_needed") { openNewTicket(cfg, card); }
    save.disabled = true;
    save.textContent = T.saving;
    const url = cfg.wrapupUrl.replace("{call_id}", encodeURIComponent(card.id));
    sendJson(url, { disposition: select.value, notes: note.value }, cfg.csrfToken)
      .then((response) => {
        if (response.ok) {
          onSaved();
          desk.confirm(T.saved);
          return null;
        }
        return response.json().catch(() => null).then((body) => {
          const message = body && isObject(body.error) ? body.error.message : body && body.error;
          throw new Error(message || (response.status + " " + response.statusText));
        });
      }).catch((err) => {
        error.textContent = fill(T.saveFailed, { error: err.message });
        error.hidden = false;
        save.disabled = false;
        save.textContent = label;
      });
  });
  return form;
}
