// The desk's keyboard (ES module). "/" (search) is app.js's, on every page; here:
// a opens the top call's customer (or "create customer"), w goes to the top wrap-up
// form, t opens a new ticket for the top call, Esc leaves the field being typed in so
// that these keys work.
import { isTyping } from "../dom.js";
import { openNewTicket } from "./tickets.js";

export function startKeys(pops, stack, cfg) {
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    const target = event.target;
    const typing = isTyping(target);
    if (event.key === "Escape") {
      if (typing) { target.blur(); }
      return;
    }
    if (typing) { return; }
    if (event.key === "a") {
      const top = pops.top();
      const link = top && top.el.querySelector("[data-pop-open]");
      if (link) {
        event.preventDefault();
        window.open(link.href, "_blank", "noopener");
      }
    } else if (event.key === "t") {
      const top = pops.top();
      if (top && cfg && openNewTicket(cfg, top)) { event.preventDefault(); }
    } else if (event.key === "w") {
      const field = stack.querySelector(".pop__wrapup select");
      if (field) {
        event.preventDefault();
        field.focus();
      }
    }
  });
}
