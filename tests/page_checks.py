"""Checks run inside a page by the browser tests (Playwright's ``page.evaluate``): one
copy of each, so every screen is held to the same rule; and the steps every browser test
takes the same way (the language switch)."""

#: Elements that stick out of a parent whose overflow-x is visible, and a document wider
#: than the window; folded <details> content and visually-hidden text are skipped.
#: ``[]`` when nothing runs off to the side.
OVERFLOW = """() => {
  const out = [];
  if (document.documentElement.scrollWidth > window.innerWidth + 1)
    out.push("page " + document.documentElement.scrollWidth + " > " + window.innerWidth);
  for (const el of document.querySelectorAll("main *, header *")) {
    const parent = el.parentElement;
    if (!parent || el.offsetParent === null) continue;
    const shut = el.closest("details:not([open])");
    if (shut && !el.closest("summary")) continue;
    const hidden = el.closest(".visually-hidden, thead");
    if (hidden && getComputedStyle(hidden).position === "absolute") continue;
    if (getComputedStyle(parent).overflowX !== "visible") continue;
    const over = el.getBoundingClientRect().right - parent.getBoundingClientRect().right;
    if (over > 1 && getComputedStyle(el).position !== "absolute") {
      const name = e => e.tagName.toLowerCase() + (e.className && typeof e.className ===
        "string" ? "." + e.className.trim().split(/\\s+/).join(".") : "");
      out.push(name(el) + " in " + name(parent) + " by " + Math.round(over) + "px: '" +
               el.textContent.trim().slice(0, 20) + "'");
    }
  }
  return out.slice(0, 8);
}"""


def switch_language(page, lang: str) -> None:
    """The header's language switch, as a person uses it (remembered for the user)."""
    code = "zh_CN" if lang == "zh" else "en"
    button = page.locator(f"form.lang-switch button[value='{code}']")
    if button.get_attribute("aria-pressed") != "true":
        button.click()
        page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang").startswith(lang)
