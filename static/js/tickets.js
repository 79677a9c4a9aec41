// The ticket page (ES module): the SLA clock counts down each second from what the
// server said was left when it rendered the page (data-left-s), so the browser's own
// clock need not agree with the server's. Past zero it says "overdue by". A paused or
// finished clock has no data-left-s and stays as rendered.
import { fill, readTexts } from "./dom.js";

const box = document.querySelector("[data-sla-clock]");
const left = box && parseInt(box.getAttribute("data-left-s"), 10);
if (box && !isNaN(left)) {
  const texts = readTexts("tk-clock-texts");
  const big = box.querySelector("[data-sla-left]");
  const started = performance.now();

  const clock = (seconds) => {
    const total = Math.floor(Math.abs(seconds));
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = total % 60;
    return h + ":" + (m < 10 ? "0" : "") + m + ":" + (s < 10 ? "0" : "") + s;
  };

  // Days stay as rendered (the server words them); the clock ticks under a day.
  if (Math.abs(left) < 86400) {
    window.setInterval(() => {
      const now = left - (performance.now() - started) / 1000;
      big.textContent = now >= 0 ? clock(now) : fill(texts.overdue, { t: clock(now) });
      if (now < 0) { box.classList.add("tk-clock--overdue"); }
    }, 1000);
  }
}
