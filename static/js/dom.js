// DOM building and page texts, shared by the desk and the wallboard (ES module).
//
// Everything that came from a caller, the PBX or the server goes on the page with
// textContent, never as HTML: nothing here takes markup. Translated texts are rendered
// into the page by the server (the CSP allows no inline script), as JSON in a
// <script type="application/json"> or as [data-key] elements in a <template>.

/** A new element with an optional class and text. */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) { node.className = className; }
  if (text !== undefined && text !== null) { node.textContent = String(text); }
  return node;
}

/** Set an element's text, skipping the write when it is already that (no relayout). */
export function setText(node, text) {
  if (node && node.textContent !== text) { node.textContent = text; }
}

/** "{name}" placeholders in a translated text, filled from values. */
export function fill(template, values) {
  return String(template === undefined || template === null ? "" : template)
    .replace(/\{(\w+)\}/g, (match, key) =>
      Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : match);
}

/** The JSON in <script type="application/json" id=...>, or null without it. */
export function readJson(id) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : null;
}

/** {key: text} from the [data-key] elements of <template id=...>. */
export function readTexts(id) {
  const texts = {};
  const template = document.getElementById(id);
  if (template) {
    template.content.querySelectorAll("[data-key]").forEach((node) => {
      texts[node.getAttribute("data-key")] = node.textContent.trim();
    });
  }
  return texts;
}

/** A deep copy of the first element of <template id=...>. */
export function fromTemplate(id) {
  return document.getElementById(id).content.firstElementChild.cloneNode(true);
}

/** True while the user types in a field (shortcut keys must not fire then). */
export function isTyping(target) {
  return target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName);
}
