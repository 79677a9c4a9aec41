// The status control (ES module): available, paused (with a reason) or logged out, asked
// of the PBX through POST /desk/status; the badge shows what the server answered.
import { fill } from "../dom.js";
import { sendJson } from "./http.js";

export function startStatus(desk) {
  const { cfg, T } = desk;
  const form = document.querySelector("[data-status-form]");
  if (!form) { return; }
  const current = document.querySelector("[data-status-current]");
  const errorBox = document.querySelector("[data-status-error]");
  const busy = form.querySelector("[data-status-busy]");
  const submit = form.querySelector("[data-status-submit]");
  const reasonField = form.querySelector(".desk-status__reason");
  const reasonSelect = form.querySelector("select[name=reason]");

  function chosenStatus() {
    const checked = form.querySelector("input[name=status]:checked");
    return checked ? checked.value : null;
  }
  // The pause reason only means something for "paused".
  const showReason = () => { reasonField.hidden = chosenStatus() !== "paused"; };
  form.addEventListener("change", showReason);
  showReason();

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const status = chosenStatus();
    if (!status) { return; }
    errorBox.hidden = true;
    busy.hidden = false;
    submit.disabled = true;
    sendJson(cfg.statusUrl, { status, reason: status === "paused" ? reasonSelect.value : null },
      cfg.csrfToken).then((response) =>
      response.json().catch(() => null).then((body) => {
        if (response.ok && body && body.ok) {
          current.textContent = body.reason_label
            ? fill(T.pausedBecause, { reason: body.reason_label }) : body.label;
          current.className = "badge desk-state desk-state--" + body.status;
          desk.announce(T.statusChanged);
          return;
        }
        throw new Error(body && body.error ? body.error
          : response.status === 400 ? T.pageExpired : T.statusFailed);
      })).catch((err) => {
      errorBox.textContent = err.message || T.statusFailed;
      errorBox.hidden = false;
    }).then(() => {
      busy.hidden = true;
      submit.disabled = false;
    });
  });
}
