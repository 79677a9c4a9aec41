// The wallboard's figures as text (ES module): the same rules as the server's
// (callcenter/wallboard/views.py), so a figure reads the same before and after a push.

/** A monotonic clock in ms: figures tick from when they arrived, not by the wall clock. */
export function clock() { return window.performance ? window.performance.now() : Date.now(); }

/** Seconds since an entry's figures arrived. */
export function elapsed(entry) { return (clock() - entry.at) / 1000; }

/** m:ss (h:mm:ss from an hour on); "–" for no value. */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || isNaN(seconds)) { return "–"; }
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = (s < 10 ? "0" : "") + s;
  if (h) { return h + ":" + (m < 10 ? "0" : "") + m + ":" + ss; }
  return m + ":" + ss;
}

/** Whole percent, rounded half up; "–" for no value. */
export function percent(ratio) {
  if (ratio === null || ratio === undefined || isNaN(ratio)) { return "–"; }
  return Math.floor(ratio * 100 + 0.5) + "%";
}

export function count(n) {
  return n === null || n === undefined ? "–" : String(n);
}

/** Epoch seconds from a live-state time: a number, or ISO 8601 text. */
export function epoch(value) {
  if (typeof value === "number") { return value; }
  if (typeof value === "string" && value) {
    const ms = Date.parse(value);
    return isNaN(ms) ? null : ms / 1000;
  }
  return null;
}

/** The element of a card or row that shows one field ([data-field=name]). */
export function field(scope, name) {
  return scope.querySelector("[data-field='" + name + "']");
}
