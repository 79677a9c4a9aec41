// Dial and transfer (ES module): the dial box (POST /desk/dial: the agent's phone rings
// first, then the PBX calls the number) and the transfer of an answered call to another
// queue (POST /desk/transfer), shown on its pop.
import { el, fill } from "../dom.js";
import { nextNumber } from "./format.js";
import { postJson } from "./http.js";

/** The transfer form for an answered call's pop, or null when there is nowhere to go. */
export function buildTransfer(desk, card) {
  const { cfg, T } = desk;
  const queues = (Array.isArray(cfg.transferQueues) ? cfg.transferQueues : [])
    .filter((name) => typeof name === "string" && name !== card.data.queue);
  if (!cfg.transferUrl || !queues.length) { return null; }
  const n = nextNumber();
  const form = el("form", "pop__transfer");
  form.noValidate = true;
  form.setAttribute("data-pop-transfer", "");
  const field = el("div", "field");
  const label = el("label", "field__label", T.transferTo);
  label.htmlFor = "transfer-queue-" + n;
  const select = el("select", "field__input");
  select.id = label.htmlFor;
  select.name = "queue";
  queues.forEach((name) => select.appendChild(new Option(name, name)));
  field.append(label, select);
  form.appendChild(field);
  const actions = el("div", "actions");
  const button = el("button", "btn", T.transfer);
  button.type = "submit";
  actions.appendChild(button);
  form.appendChild(actions);
  const note = el("p", "muted");
  note.setAttribute("role", "status");
  note.hidden = true;
  form.appendChild(note);
  const error = el("p", "field__error");
  error.setAttribute("role", "alert");
  error.hidden = true;
  form.appendChild(error);

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    error.hidden = true;
    button.disabled = select.disabled = true;
    button.textContent = T.transferring;
    postJson(cfg.transferUrl, { call_id: card.id, queue: select.value }, desk).then(() => {
      // call.ended (transferred) follows from the bridge and turns this into the wrap-up
      note.textContent = T.transferAsked;
      note.hidden = false;
      desk.announce(T.transferAsked);
    }).catch((err) => {
      error.textContent = fill(T.transferFailed, { error: err.message });
      error.hidden = false;
      button.disabled = select.disabled = false;
      button.textContent = T.transfer;
    });
  });
  return form;
}

/** The dial box beside the pops (absent for a user without a phone). */
export function startDial(desk) {
  const { cfg, T } = desk;
  const form = document.querySelector("[data-dial-form]");
  if (!form || !cfg.dialUrl) { return; }
  const number = form.querySelector("[data-dial-number]");
  const submit = form.querySelector("[data-dial-submit]");
  const status = form.querySelector("[data-dial-status]");
  const error = form.querySelector("[data-dial-error]");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    error.hidden = true;
    status.textContent = T.dialing;
    status.hidden = false;
    submit.disabled = true;
    postJson(cfg.dialUrl, { number: number.value }, desk).then((reply) => {
      status.textContent = reply.message || T.dialing;
    }).catch((err) => {
      status.hidden = true;
      error.textContent = fill(T.dialFailed, { error: err.message });
      error.hidden = false;
      number.focus();
    }).then(() => {
      submit.disabled = false;
    });
  });
}
