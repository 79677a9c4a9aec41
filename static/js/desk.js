// The agent desk (ES module, the page's entry): screen pops over the live link, the
// wrap-up form, the status control, sound and notification on ringing, keyboard
// shortcuts, click-to-dial and the transfer of an answered call. One module per concern
// under desk/; this one reads the page's configuration and starts them.
//
// Configuration and translated texts come from <script id="desk-config"
// type="application/json"> (the CSP allows no inline script). Everything the caller or
// the PBX sends goes on the page with textContent, never as HTML.
import { readJson } from "./dom.js";
import { startAlerts } from "./desk/alerts.js";
import { startDial } from "./desk/dial.js";
import { startKeys } from "./desk/keys.js";
import { startLiveLink } from "./desk/link.js";
import { createPops } from "./desk/pops.js";
import { startStatus } from "./desk/status.js";
import { startTicketNotices } from "./desk/tickets.js";

const cfg = readJson("desk-config");
const stack = document.querySelector("[data-pops]");
if (cfg && stack) {
  const announcer = document.querySelector("[data-pops-announce]");
  const toastEl = document.querySelector("[data-desk-toast]");
  let toastTimer = null;
  // What every part of the desk shares: the configuration, its texts, the screen reader's
  // voice, and a short confirmation everyone sees (a saved wrap-up).
  const desk = {
    cfg,
    T: cfg.strings,
    announce(text) { if (announcer) { announcer.textContent = text; } },
    confirm(text) {
      if (!toastEl) { return; }
      toastEl.textContent = "✔ " + text;
      toastEl.hidden = false;
      window.clearTimeout(toastTimer);
      toastTimer = window.setTimeout(() => { toastEl.hidden = true; }, 4000);
    }
  };
  const ring = startAlerts(desk);
  const pops = createPops(desk, stack, ring);
  startKeys(pops, stack, cfg);
  startLiveLink(desk, pops, startTicketNotices(desk));
  startDial(desk);
  startStatus(desk);
}
