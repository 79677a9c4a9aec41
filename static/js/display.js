// Dates and times as the pages show them (ES module): the patterns, the language and the
// call center's time zone come from the page (<html data-display>, written by
// callcenter/core/display.py), so a date a script shows reads exactly as the server's.
// Phone numbers are not formatted here: the server sends them as shown ("display").

const FALLBACK = { lang: "en", timezone: "UTC", date: "yyyy-MM-dd",
  datetime: "yyyy-MM-dd HH:mm", time: "HH:mm", months: [] };

let pageFormats = null;

/** The page's formats (read once from <html data-display>). */
export function formats() {
  if (pageFormats) { return pageFormats; }
  let read = null;
  try {
    read = JSON.parse(document.documentElement.getAttribute("data-display") || "null");
  } catch (e) {
    read = null;
  }
  pageFormats = Object.assign({}, FALLBACK, read && typeof read === "object" ? read : {});
  return pageFormats;
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const partsCache = new Map();

function pad(n, width) { return String(n).padStart(width, "0"); }

/** The wall-clock fields of an instant in `timezone`. */
function zoned(date, timezone) {
  let fmt = partsCache.get(timezone);
  if (!fmt) {
    try {
      fmt = new Intl.DateTimeFormat("en-US", { timeZone: timezone, hourCycle: "h23",
        year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric" });
    } catch (e) {  // an unknown zone: UTC rather than nothing
      fmt = new Intl.DateTimeFormat("en-US", { timeZone: "UTC", hourCycle: "h23",
        year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric" });
    }
    partsCache.set(timezone, fmt);
  }
  const out = {};
  fmt.formatToParts(date).forEach((p) => { out[p.type] = Number(p.value); });
  return { y: out.year, M: out.month, d: out.day, H: out.hour % 24, m: out.minute };
}

/** A calendar date ("2026-12-31") stays that day; anything else is an instant:
 *  epoch seconds, or ISO 8601 text. null when it is neither. */
function fields(value, f) {
  if (value === null || value === undefined || value === "") { return null; }
  if (typeof value === "string") {
    const day = ISO_DATE.exec(value.trim());
    if (day) { return { y: Number(day[1]), M: Number(day[2]), d: Number(day[3]), dateOnly: true }; }
  }
  const date = value instanceof Date ? value
    : new Date(typeof value === "number" ? value * 1000 : String(value));
  return isNaN(date.getTime()) ? null : zoned(date, f.timezone);
}

/** Apply a CLDR pattern (y yyyy M MM MMM d dd H HH m mm; 'quoted' text) to fields. */
function apply(pattern, v, f) {
  return pattern.replace(/'([^']*)'|y+|M+|d+|H+|m+/g, (token, quoted) => {
    if (quoted !== undefined) { return quoted; }
    const n = token.length;
    switch (token[0]) {
      case "y": return n === 2 ? pad(v.y % 100, 2) : pad(v.y, n);
      case "M": return n >= 3 ? (f.months[v.M - 1] || String(v.M)) : pad(v.M, n);
      case "d": return pad(v.d, n);
      case "H": return pad(v.H, n);
      default: return pad(v.m, n);
    }
  });
}

function show(kind, value, f) {
  const v = fields(value, f);
  if (!v) { return value === null || value === undefined ? "" : String(value); }
  if (v.dateOnly) { return kind === "time" ? "" : apply(f.date, v, f); }
  return apply(f[kind], v, f);
}

/** A date as pages show it ("2026-01-02" / "Jan 2, 2026"). */
export function formatDate(value, f = formats()) { return show("date", value, f); }

/** A date and time as pages show it ("2026-01-02 15:04" / "Jan 2, 2026, 15:04"). */
export function formatDateTime(value, f = formats()) { return show("datetime", value, f); }

/** A time of day as pages show it ("15:04"). */
export function formatTime(value, f = formats()) { return show("time", value, f); }
