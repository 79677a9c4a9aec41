// The wallboard's charts (ES module): today's calls offered, answered and abandoned and
// the service level per 15 minutes (Chart.js, served at data-chart-src), the same
// figures as a table (read aloud, and all there is when the library cannot load), and
// each agent's calls, handling and pause time today (agents.js shows them).
//
// The page arrives with the day's figures as JSON (#wb-today). A queue.update or
// agent.update push (a call came, ended, an agent paused) makes it fetch them again
// (GET data-api): a second after the push, and at most every MIN_GAP_MS while pushes
// keep coming (each fetch costs the server a scan of the day's calls: a busy center's
// pushes come every second, and a quarter-hour chart needs no more); so does a
// reconnect, and every minute (a new quarter hour begins). Texts come from the page
// (#wb-chart-texts); data goes in as text only.
import { fill, readJson, readTexts, setText } from "../dom.js";
import { applyAgentDay } from "./agents.js";
import { clock, percent } from "./format.js";

const DEBOUNCE_MS = 1000;
const MIN_GAP_MS = 5000;
const REFRESH_MS = 60 * 1000;
const COLOURS = ["offered", "answered", "abandoned", "sl", "low", "target", "grid"];

export function createChartPanel(board) {
  const root = document.querySelector("[data-chart]");
  if (!root) { return null; }
  const texts = readTexts("wb-chart-texts");
  const apiUrl = root.getAttribute("data-api");
  const chartSrc = root.getAttribute("data-chart-src");
  const select = root.querySelector("[data-chart-queue]");
  const canvas = root.querySelector("[data-chart-canvas]");
  const state = { data: null, chart: null, target: null, low: [] };
  let timer = null;
  let fetching = false;
  let again = false;
  let lastFetch = -Infinity;

  /** The series the picker asks for: all the board's queues, or one. */
  function series() {
    const data = state.data;
    const name = select.value;
    const one = name && (data.queues || []).find((q) => q.queue === name);
    return one || data.total;
  }

  /** The picker lists the board's queues as the last answer has them. */
  function syncPicker(queues) {
    const wanted = (queues || []).map((q) => [q.queue, q.display_name || q.queue]);
    const chosen = select.value;
    while (select.options.length > 1) { select.remove(1); }
    wanted.forEach(([value, label]) => select.add(new Option(label, value)));
    select.value = wanted.some(([value]) => value === chosen) ? chosen : "";
  }

  function isLow(sl, target) {
    return typeof sl === "number" && typeof target === "number" && sl < target;
  }

  function renderTable(intervals, s) {
    const body = root.querySelector("[data-chart-rows]");
    const rows = intervals.map((iv, i) => {
      const low = isLow(s.service_level[i], s.sl_target);
      const tr = document.createElement("tr");
      if (low) { tr.className = "wb-chart__low"; }
      const th = document.createElement("th");
      th.scope = "row";
      th.textContent = iv.label;
      tr.appendChild(th);
      [s.offered[i], s.answered[i], s.abandoned[i]].forEach((n) => {
        const td = document.createElement("td");
        td.textContent = String(n);
        tr.appendChild(td);
      });
      const sl = document.createElement("td");
      sl.textContent = (low ? "▼ " : "") + percent(s.service_level[i]);
      if (low) {
        const words = document.createElement("span");
        words.className = "visually-hidden";
        words.textContent = " " + (texts.below || "");
        sl.appendChild(words);
      }
      tr.appendChild(sl);
      return tr;
    });
    body.replaceChildren(...rows);
  }

  function colours() {
    const style = window.getComputedStyle(root);
    const out = {};
    COLOURS.forEach((name) => { out[name] = style.getPropertyValue("--wb-" + name).trim(); });
    return out;
  }

  function createChart() {
    const Chart = window.Chart;
    const c = colours();
    const body = window.getComputedStyle(document.body);
    Chart.defaults.font.family = body.fontFamily;
    Chart.defaults.color = body.color;
    const low = (ctx) => Boolean(state.low[ctx.dataIndex]);
    const bar = (key, colour) => ({ type: "bar", label: texts[key] || key, data: [],
      backgroundColor: colour, yAxisID: "y", order: 2 });
    state.chart = new Chart(canvas, {
      data: {
        labels: [],
        datasets: [
          bar("offered", c.offered),
          bar("answered", c.answered),
          bar("abandoned", c.abandoned),
          { type: "line", label: texts.service_level, data: [], yAxisID: "y1", order: 0,
            borderColor: c.sl, backgroundColor: c.sl, borderWidth: 2, spanGaps: true,
            // A quarter below the target: a red ▼, bigger: not by colour alone.
            pointStyle: (ctx) => (low(ctx) ? "triangle" : "circle"),
            pointRotation: (ctx) => (low(ctx) ? 180 : 0),
            pointRadius: (ctx) => (low(ctx) ? 7 : 3),
            pointBackgroundColor: (ctx) => (low(ctx) ? c.low : c.sl),
            pointBorderColor: (ctx) => (low(ctx) ? c.low : c.sl),
            clip: 10 },   // a point at 100 % is drawn whole, above the chart area
          { type: "line", label: "", data: [], yAxisID: "y1", order: 1, borderColor: c.target,
            borderDash: [6, 4], borderWidth: 1.5, pointRadius: 0, pointHitRadius: 0 }
        ]
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { grid: { display: false } },
          y: { beginAtZero: true, grace: "10%", ticks: { precision: 0 }, grid: { color: c.grid },
            title: { display: true, text: texts.calls } },
          y1: { position: "right", min: 0, max: 100, grid: { drawOnChartArea: false },
            ticks: { callback: (v) => v + "%" },
            title: { display: true, text: texts.service_level } }
        },
        plugins: {
          legend: { position: "bottom",
            labels: { usePointStyle: true, boxHeight: 8, generateLabels: legendLabels } },
          tooltip: { callbacks: { label: tooltipLabel } }
        }
      }
    });
  }

  /** The legend in the datasets' order; the line's key is a plain dot (not the ▼ of
   *  its first point) and the target's a dashed line. */
  function legendLabels(chart) {
    const c = colours();
    const items = window.Chart.defaults.plugins.legend.labels.generateLabels(chart)
      .filter((item) => item.text);
    items.sort((a, b) => a.datasetIndex - b.datasetIndex);
    items.forEach((item) => {
      if (item.datasetIndex === 3) {
        Object.assign(item, { pointStyle: "circle", fillStyle: c.sl, strokeStyle: c.sl,
          rotation: 0 });
      } else if (item.datasetIndex === 4) {
        Object.assign(item, { pointStyle: "line", strokeStyle: c.target, lineWidth: 2,
          lineDash: [6, 4] });
      }
    });
    return items;
  }

  function tooltipLabel(ctx) {
    const set = ctx.dataset;
    if (set.yAxisID !== "y1") { return set.label + ": " + ctx.formattedValue; }
    if (ctx.datasetIndex === 4) { return set.label; }
    const words = state.low[ctx.dataIndex] ? " ▼ " + (texts.below || "") : "";
    return set.label + ": " + percent(ctx.raw === null ? null : ctx.raw / 100) + words;
  }

  function renderChart(intervals, s) {
    if (!state.chart) { return; }
    const chart = state.chart;
    const target = typeof s.sl_target === "number" ? s.sl_target : null;
    state.low = s.service_level.map((sl) => isLow(sl, target));
    chart.data.labels = intervals.map((iv) => iv.label);
    const sets = chart.data.datasets;
    sets[0].data = s.offered.slice();
    sets[1].data = s.answered.slice();
    sets[2].data = s.abandoned.slice();
    sets[3].data = s.service_level.map((sl) => (sl === null ? null : Math.round(sl * 1000) / 10));
    sets[4].data = intervals.map(() => (target === null ? null : Math.round(target * 1000) / 10));
    sets[4].label = target === null ? "" : fill(texts.target, { p: percent(target) });
    sets[4].hidden = target === null;
    chart.update("none");
  }

  function show() {
    if (!state.data) { return; }
    const s = series();
    renderTable(state.data.intervals || [], s);
    renderChart(state.data.intervals || [], s);
  }

  /** The day's figures (from the page or GET data-api) that arrived at `at`. */
  function render(data, at) {
    if (!data || !Array.isArray(data.intervals) || !data.total) { return; }
    state.data = data;
    applyAgentDay(board, data.agents, at);
    syncPicker(data.queues);
    show();
    root.setAttribute("data-updated-at", data.updated_at || "");
  }

  function refresh() {
    if (fetching) { again = true; return; }
    fetching = true;
    lastFetch = clock();
    fetch(apiUrl, { headers: { "Accept": "application/json" }, credentials: "same-origin",
      cache: "no-store" })
      .then((response) => {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then((data) => render(data, clock()))
      .catch(() => { /* the next push, reconnect or minute asks again */ })
      .then(() => {
        fetching = false;
        if (again) { again = false; refresh(); }
      });
  }

  /** A push: fetch soon, once for a burst, and not again within MIN_GAP_MS. */
  function soon() {
    if (timer !== null) { return; }   // one is planned: it will see this push's change
    const wait = Math.max(DEBOUNCE_MS, lastFetch + MIN_GAP_MS - clock());
    timer = window.setTimeout(() => { timer = null; refresh(); }, wait);
  }

  // Chart.js is a classic script (it sets window.Chart), loaded only here; without it
  // the table stands in for the chart, opened.
  function loadLibrary() {
    const failed = () => { root.querySelector("[data-chart-details]").open = true; };
    const ready = () => {
      if (typeof window.Chart !== "function") { failed(); return; }
      root.querySelector("[data-chart-box]").hidden = false;
      createChart();
      show();
    };
    if (typeof window.Chart === "function") { ready(); return; }
    if (!chartSrc) { failed(); return; }
    const script = document.createElement("script");
    script.src = chartSrc;
    script.onload = ready;
    script.onerror = failed;
    document.head.appendChild(script);
  }

  select.addEventListener("change", show);
  try {
    render(readJson("wb-today"), clock());
  } catch (err) {
    refresh();
  }
  loadLibrary();
  window.setInterval(refresh, REFRESH_MS);

  return {
    refresh,
    handlers: { "queue.update": () => soon(), "agent.update": () => soon() }
  };
}
