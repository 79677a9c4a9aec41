// The status control (ES module): available, paused (with a reason) or logged out, asked
// of the PBX through POST /desk/status; the badge shows what the server answered, and
// then follows the PBX live: the bridge pushes this agent's own state (`agent.state`, to
// their room only) whenever it changes (after-call work starting and ending, a
// supervisor's pause, a pause the PBX made), and once on every (re)connect.
import { fill } from "../dom.js";
import { duration } from "./format.js";
import { sendJson } from "./http.js";

const FORM_STATES = ["available", "paused", "logged_out"];
let wrapupTimer = null;

function showBadge(desk, status, reasonLabel, label) {
  const current = document.querySelector("[data-status-current]");
  if (!current) { return; }
  current.textContent = reasonLabel ? fill(desk.T.pausedBecause, { reason: reasonLabel }) : label;
  current.className = "badge desk-state desk-state--" + status;
}

/** After-call work's time left under the badge (until the timer or a saved wrap-up ends
 *  it); hidden for any other state. `left_s`: seconds left when the push was sent. */
function showWrapupLeft(desk, leftS) {
  const box = document.querySelector("[data-status-left]");
  window.clearInterval(wrapupTimer);
  wrapupTimer = null;
  if (!box) { return; }
  if (typeof leftS !== "number") { box.hidden = true; return; }
  const endsAt = Date.now() + leftS * 1000;
  const tick = () => {
    const left = (endsAt - Date.now()) / 1000;
    if (left <= 0) {   // the timer's job ends it any moment; its push hides this
      box.hidden = true;
      window.clearInterval(wrapupTimer);
      return;
    }
    box.textContent = fill(desk.T.wrapupLeft, { time: duration(Math.ceil(left)) });
    box.hidden = false;
  };
  tick();
  wrapupTimer = window.setInterval(tick, 1000);
}

/** Show the agent's own state as the bridge reports it (the `agent.state` row: state,
 *  reason, seconds_in_state, ...): the badge, the form's choice (unless the agent is
 *  choosing right now) and the wrap-up's time left. Everything is text. */
export function showOwnState(desk, row) {
  if (!row || typeof row !== "object") { return; }
  const { cfg } = desk;
  const labels = cfg.statusLabels || {};
  const status = typeof row.state === "string" && row.state !== "unknown" &&
    Object.prototype.hasOwnProperty.call(labels, row.state) ? row.state : "unknown";
  const reason = typeof row.reason === "string" && row.reason ? row.reason : null;
  const reasons = cfg.reasons || {};
  const reasonLabel = status === "paused" && reason
    ? (Object.prototype.hasOwnProperty.call(reasons, reason) ? reasons[reason] : reason) : null;
  showBadge(desk, status, reasonLabel, labels[status]);

  const inWrapup = status === "wrap_up" && reason === cfg.acwReason && cfg.acwSeconds > 0 &&
    typeof row.seconds_in_state === "number";
  showWrapupLeft(desk, inWrapup ? cfg.acwSeconds - row.seconds_in_state : null);

  const form = document.querySelector("[data-status-form]");
  if (!form || form.hasAttribute("data-choosing")) { return; }
  form.querySelectorAll("input[name=status]").forEach((input) => {
    input.checked = input.value === status && FORM_STATES.includes(status);
  });
  const select = form.querySelector("select[name=reason]");
  if (select && status === "paused" && reason && reasons[reason] !== undefined) {
    select.value = reason;
  }
  form.dispatchEvent(new CustomEvent("status-shown"));
}

export function startStatus(desk) {
  const { cfg, T } = desk;
  const form = document.querySelector("[data-status-form]");
  if (!form) { return; }
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
  // While the agent picks a status the live state does not move their choice.
  form.addEventListener("change", () => { form.setAttribute("data-choosing", ""); showReason(); });
  form.addEventListener("status-shown", showReason);
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
          showBadge(desk, body.status, body.reason_label, body.label);
          showWrapupLeft(desk, null);
          form.removeAttribute("data-choosing");
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
