// The 360° page's keyboard (ES module), as on the desk (desk/keys.js): one letter per
// action, never while typing in a field, and Esc leaves the field so that they work.
// Which letter does what is written in the page, once: every element carrying
// aria-keyshortcuts is that key's target (screen readers announce it there), and the
// help line beside the actions lists the same keys. "/" (search) is app.js's.
import { isTyping } from "../dom.js";

function targetFor(key) {
  for (const node of document.querySelectorAll("main [aria-keyshortcuts]")) {
    if (node.getAttribute("aria-keyshortcuts").split(" ").includes(key)) { return node; }
  }
  return null;
}

function activate(target) {
  if (target.tagName === "SUMMARY") {
    // A folded part (the master data): open or close it, and go there.
    const details = target.parentElement;
    details.open = !details.open;
    target.focus();
    if (details.open) { target.scrollIntoView({ block: "start" }); }
  } else {
    target.click();
  }
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) { return; }
  const typing = isTyping(event.target);
  if (event.key === "Escape") {
    if (typing) { event.target.blur(); }
    return;
  }
  if (typing || event.key.length !== 1) { return; }
  const target = targetFor(event.key);
  if (target) {
    event.preventDefault();
    activate(target);
  }
});

// A link to something inside a folded part (#addresses, after adding one) unfolds it.
function unfoldTarget() {
  const id = decodeURIComponent(window.location.hash.slice(1));
  const node = id ? document.getElementById(id) : null;
  const details = node ? node.closest("details") : null;
  if (details && !details.open) {
    details.open = true;
    node.scrollIntoView();
  }
}
unfoldTarget();
window.addEventListener("hashchange", unfoldTarget);
