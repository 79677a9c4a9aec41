// Small value helpers of the desk (ES module): what a pop shows is the server's data,
// checked here before it reaches the page.

export function isObject(value) { return value !== null && typeof value === "object"; }

/** The objects of an array; anything else is an empty list. */
export function list(value) { return Array.isArray(value) ? value.filter(isObject) : []; }

/** A link target from the server must be a path on this site. */
export function sitePath(url) {
  return typeof url === "string" && /^\/(?![/\\])/.test(url) ? url : null;
}

/** m:ss, for waited and talk time. */
export function duration(seconds) {
  const total = Math.max(0, Math.round(Number(seconds) || 0));
  const minutes = Math.floor(total / 60);
  const rest = total % 60;
  return minutes + ":" + (rest < 10 ? "0" : "") + rest;
}

/** A date and time in the desk's locale and time zone (epoch seconds or ISO text). */
export function when(value, cfg) {
  if (value === null || value === undefined || value === "") { return ""; }
  const date = new Date(typeof value === "number" ? value * 1000 : value);
  if (isNaN(date.getTime())) { return String(value); }
  try {
    return date.toLocaleString(cfg.locale, { timeZone: cfg.timezone, year: "numeric",
      month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
  } catch (e) {
    return date.toLocaleString();
  }
}

let counter = 0;

/** A number for element ids that must be unique on the page (label `for`, aria). */
export function nextNumber() { return ++counter; }
