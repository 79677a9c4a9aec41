// Small progressive enhancements for every page. Everything works without this file.
// Loaded with `defer` from base.html (the CSP allows scripts from our own origin only).
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Phone-sized screens: the menu folds behind a button.
  var toggle = document.querySelector("[data-nav-toggle]");
  if (toggle) {
    var menu = document.getElementById(toggle.getAttribute("aria-controls"));
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      menu.classList.toggle("is-open", open);
    });
  }

  // The header's "More" list closes on a click elsewhere and on Escape, as menus do.
  var more = document.querySelector("[data-nav-more]");
  if (more) {
    document.addEventListener("click", function (event) {
      if (more.open && !more.contains(event.target)) { more.open = false; }
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && more.open) {
        more.open = false;
        more.querySelector("summary").focus();
      }
    });
  }

  // "/" jumps to the search box from anywhere except while typing in a field.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) { return; }
    var target = event.target;
    if (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) { return; }
    var search = document.querySelector("[data-search-input]");
    if (search) {
      event.preventDefault();
      search.focus();
      search.select();
    } else if (document.body.dataset.searchUrl) {
      window.location.href = document.body.dataset.searchUrl;
    }
  });

  // Forms that do something hard to undo ask first (merge, remove).
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) { event.preventDefault(); }
  });

  // Move focus to the first field with an error, so keyboard and screen-reader users land on it.
  var invalid = document.querySelector("[aria-invalid='true']");
  if (invalid) { invalid.focus(); }
}());
