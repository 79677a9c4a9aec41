// Small value helpers of the desk (ES module): what a pop shows is the server's data,
// checked here before it reaches the page.
import { formatDate, formatDateTime } from "../display.js";

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

/** A date and time as every page shows it (epoch seconds or ISO text; static/js/display.js). */
export function when(value) { return formatDateTime(value); }

/** A calendar date ("2026-12-31") as every page shows it. */
export function day(value) { return formatDate(value); }

let counter = 0;

/** A number for element ids that must be unique on the page (label `for`, aria). */
export function nextNumber() { return ++counter; }
