// Progress of a CSV import: polls the job's status URL and fills in the page.
// All text comes from the page (translated there); data is inserted with
// textContent only, never as HTML.
(function () {
  "use strict";

  var root = document.querySelector("[data-import-status]");
  if (!root) { return; }
  var statusUrl = root.getAttribute("data-import-status");
  var texts = {};
  var template = document.getElementById("import-texts");
  if (template) {
    template.content.querySelectorAll("[data-key]").forEach(function (el) {
      texts[el.getAttribute("data-key")] = el.textContent.trim();
    });
  }
  var bar = document.getElementById("import-bar");
  var stateText = root.querySelector("[data-state-text]");
  var rowsText = root.querySelector("[data-rows]");
  var delayMs = 1000;

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (match, key) {
      return key in values ? String(values[key]) : match;
    });
  }

  var lang = document.documentElement.lang || undefined;

  /** A count in the page's language (not the browser's). */
  function number(n) {
    return typeof n === "number" ? n.toLocaleString(lang) : "";
  }

  function showSummary(summary) {
    var box = root.querySelector("[data-summary]");
    box.querySelectorAll("[data-count]").forEach(function (el) {
      el.textContent = number(summary[el.getAttribute("data-count")]);
    });
    box.hidden = false;
    var notices = root.querySelector("[data-notices]");
    notices.textContent = "";
    (summary.notices || []).forEach(function (text) {
      var li = document.createElement("li");
      li.textContent = text;
      notices.appendChild(li);
    });
    notices.hidden = !(summary.notices || []).length;
  }

  function showErrors(errors, total) {
    var section = document.querySelector("[data-errors]");
    var body = section.querySelector("[data-error-rows]");
    // Each cell names its column, for the stacked rows of a phone's width.
    var labels = Array.prototype.map.call(section.querySelectorAll("thead th"), function (th) {
      return th.textContent.trim();
    });
    body.textContent = "";
    errors.forEach(function (error) {
      var tr = document.createElement("tr");
      [error.line, error.field, error.message].forEach(function (value, i) {
        var td = document.createElement("td");
        td.textContent = value === null || value === undefined ? "" : String(value);
        if (labels[i]) { td.setAttribute("data-label", labels[i]); }
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    var more = section.querySelector("[data-more-errors]");
    if (total > errors.length && texts.more_errors) {
      more.textContent = fill(texts.more_errors, {shown: errors.length, total: total});
      more.hidden = false;
    }
    section.hidden = errors.length === 0;
  }

  function render(status) {
    bar.value = status.percent;
    bar.textContent = status.percent + "%";
    stateText.textContent = texts[status.state] || status.state;
    rowsText.textContent = status.rows_done && texts.rows
      ? "· " + fill(texts.rows, {n: number(status.rows_done)}) : "";
    if (status.state === "failed") {
      var failure = root.querySelector("[data-failure]");
      root.querySelector("[data-failure-text]").textContent = status.message || "";
      failure.hidden = false;
    }
    if (status.state === "finished" && texts.title_finished) {
      var title = document.querySelector("[data-import-title]");
      if (title) { title.textContent = texts.title_finished; }
    }
    if (status.summary) {
      showSummary(status.summary);
      showErrors(status.errors || [], status.summary.errors_total || 0);
    }
    return status.state === "finished" || status.state === "failed";
  }

  function poll() {
    fetch(statusUrl, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (status) {
        delayMs = 1000;
        if (!render(status)) { window.setTimeout(poll, delayMs); }
      })
      .catch(function () {
        if (texts.lost) { stateText.textContent = texts.lost; }
        delayMs = Math.min(delayMs * 2, 15000);  // back off while the server is away
        window.setTimeout(poll, delayMs);
      });
  }

  poll();
}());
