// The technician's phone (/tech): today's jobs, readable offline, and changes that wait
// on the phone until the network is back (store.js keeps them, sync.js sends them).
import { formatDateTime } from "../display.js";
import { readTexts, fill } from "../dom.js";
import { enqueue, dequeue, loadState, openStore, queued, saveState, update } from "./store.js";
import { newKey, syncQueue } from "./sync.js";
import { renderJob, renderList } from "./view.js";
import { shrinkPhoto, signaturePad } from "./media.js";

const root = document.querySelector("[data-tech]");
const texts = readTexts("tech-texts");
const bar = root.querySelector(".tech-bar");
const RETRY_MS = 20000;
let doc = null;          // the server's jobs document (plus what it answered to changes)
let pending = [];        // the queue, oldest first
const failed = {};       // order id -> messages of changes refused for good
let token = (document.querySelector("input[name=csrf_token]") || {}).value || "";
let fromCopy = false;    // shown from the phone's copy (no network when it was asked)

function problem(message) {
  const box = root.querySelector("[data-problem]");
  box.textContent = message || "";
  box.hidden = !message;
}

function showNet() {
  const online = navigator.onLine;
  bar.dataset.state = online ? "online" : "offline";
  root.querySelector("[data-net]").textContent = online ? texts.online : texts.offline;
  const count = pending.length;
  let text = doc ? texts.synced : "";
  if (!online) { text = count ? fill(texts.queued_offline, { n: count }) : texts.offline_empty; }
  else if (count) { text = fill(texts.queued, { n: count }); }
  root.querySelector("[data-queue]").textContent = text;
  root.querySelector("[data-queue]").dataset.count = String(count);
}

/** The document as the technician sees it: the server's, with the queue applied on top. */
function shown() {
  const copy = JSON.parse(JSON.stringify(doc));
  for (const change of pending) {
    const job = copy.jobs.find((j) => j.id === change.order_id);
    if (!job || change.conflict) { continue; }
    if (change.kind === "findings") { job.findings = change.data.findings; }
    if (change.kind === "move") { job.status = change.data.to; }
    if (change.kind === "signature") { job.signed = true; }
    if (change.kind === "part") {
      const item = (copy.stock[String(job.station_id)] || []).find((p) => p.part_id === change.data.part_id);
      if (item) { item.quantity -= change.data.quantity; }
      job.parts.push({ part_id: change.data.part_id, quantity: change.data.quantity, pending: true,
                       name: item ? item.name : "#" + change.data.part_id,
                       sku: item ? item.sku : "", unit: item ? item.unit : "" });
    }
  }
  return copy;
}

let drawn = "";  // what the page shows now: a redraw only when it changes (a tap on a
                // button that a redraw replaced between press and release is lost)

function render() {
  showNet();
  root.querySelector("[data-loading]").hidden = doc !== null;
  if (!doc) { return; }
  const view = shown();
  const match = /^#job\/(\d+)$/.exec(location.hash);
  const job = match && view.jobs.find((j) => j.id === Number(match[1]));
  const listView = root.querySelector('[data-view="list"]');
  const jobView = root.querySelector('[data-view="job"]');
  listView.hidden = Boolean(job);
  jobView.hidden = !job;
  const key = JSON.stringify([location.hash, job || view, fromCopy, pending.map((c) =>
    [c.seq, c.order_id, c.kind, Boolean(c.conflict)]), failed]);
  if (key === drawn) { return; }
  drawn = key;
  if (!job) {
    renderList(root, view, pending, texts);
    if (fromCopy) {
      const day = root.querySelector("[data-day]");
      day.textContent += " · " + fill(texts.cached, { at: formatDateTime(doc.generated_at) });
    }
    return;
  }
  // Drawn again on every change: what is being typed or signed carries over.
  const focused = document.activeElement && document.activeElement.id;
  const same = jobView.dataset.job === String(job.id);
  const before = (selector) => (same ? jobView.querySelector(selector) : null);
  const draft = before("#tech-findings");
  const typed = draft && draft.value !== draft.defaultValue ? draft.value : null;
  const qty = before("#tech-qty");
  const part = before("#tech-part");
  const canvas = before("canvas.tech-sign");
  const page = renderJob(view, job, pending, failed, texts);
  if (typed !== null) { page.querySelector("#tech-findings").value = typed; }
  if (qty) { page.querySelector("#tech-qty").value = qty.value; }
  if (part && page.querySelector("#tech-part")) { page.querySelector("#tech-part").value = part.value; }
  if (canvas) { page.querySelector("canvas.tech-sign").replaceWith(canvas); }
  jobView.replaceChildren(page);
  jobView.dataset.job = String(job.id);
  if (focused && document.getElementById(focused)) { document.getElementById(focused).focus(); }
  wire(page, job);
}

const pads = new WeakMap();  // canvas -> its pad (a canvas outlives a redraw)

function wire(page, job) {
  const canvas = page.querySelector("canvas.tech-sign");
  if (!pads.has(canvas)) { pads.set(canvas, signaturePad(canvas)); }
  const pad = pads.get(canvas);
  page.querySelector('[data-f="back"]').addEventListener("click", (event) => {
    event.preventDefault();
    location.hash = "";
  });
  const on = (act, fn) => page.querySelectorAll(`[data-act="${act}"]`)
    .forEach((b) => b.addEventListener("click", () => fn(b)));
  on("save-findings", () => change(job, "findings",
    { findings: page.querySelector("#tech-findings").value }));
  on("move", (b) => change(job, "move", { to: b.dataset.to }));
  on("add-part", () => {
    const part = Number(page.querySelector("#tech-part").value);
    const quantity = Number(page.querySelector("#tech-qty").value);
    if (part && quantity >= 1) { change(job, "part", { part_id: part, quantity }); }
  });
  on("clear-sign", () => pad.clear());
  on("save-sign", () => {
    if (pad.empty()) { problem(texts.sign_empty); return; }
    change(job, "signature", { data: pad.png() });
  });
  on("keep-mine", (b) => resolve(b, true));
  on("take-theirs", (b) => resolve(b, false));
  page.querySelector('[data-f="photo"]').addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (!file) { return; }
    const data = await shrinkPhoto(file);
    change(job, "photo", { name: `photo-${job.id}-${Date.now()}.jpg`, data });
  });
}

/** A change is first written to the phone, then sent (now, or when the network is back). */
async function change(job, kind, data) {
  problem("");
  const server = doc.jobs.find((j) => j.id === job.id);
  await enqueue({ key: newKey(), order_id: job.id, version: server.version, kind, data,
                  made_at: new Date().toISOString() });
  pending = await queued();
  render();
  await sync();
}

async function resolve(button, keepMine) {
  const seq = Number(button.closest("[data-seq]").dataset.seq);
  const item = pending.find((c) => c.seq === seq);
  const answer = item.conflict;
  mergeOrder(answer.order);
  if (keepMine) {
    delete item.conflict;
    item.key = newKey();
    item.version = answer.current_version;
    await update(item);
  } else {
    await dequeue(seq);
  }
  pending = await queued();
  render();
  sync();
}

function mergeOrder(order) {
  const job = doc && doc.jobs.find((j) => j.id === order.id);
  if (!job) { return; }
  Object.assign(job, { version: order.version, status: order.status, findings: order.findings,
                       signed: order.signed });
}

const hooks = {
  token: () => token,
  refreshToken: () => loadJobs(),
  applied: (body, item) => {
    mergeOrder(body.order);
    const job = doc.jobs.find((j) => j.id === item.order_id);
    if (job && item.kind === "photo") { job.photos += 1; }
    if (job && item.kind === "part") {
      const stock = (doc.stock[String(job.station_id)] || []).find((p) => p.part_id === item.data.part_id);
      if (stock) { stock.quantity -= item.data.quantity; }
      job.parts.push({ part_id: item.data.part_id, quantity: item.data.quantity,
                       name: stock ? stock.name : "#" + item.data.part_id,
                       sku: stock ? stock.sku : "", unit: stock ? stock.unit : "" });
    }
  },
  conflict: () => {},
  failed: (item, message) => { (failed[item.order_id] = failed[item.order_id] || []).push(message); },
  offline: () => {},
  login: () => problem(texts.login),
};

async function sync() {
  if (!navigator.onLine) { showNet(); return; }
  const before = pending.length;
  root.querySelector("[data-queue]").textContent = pending.length ? texts.sending : "";
  const result = await syncQueue(root.dataset.syncUrl, hooks);
  pending = await queued();
  if (result === "done" && before) { await loadJobs(); }
  if (doc) { await saveState("jobs", doc); }
  render();
}

async function loadJobs() {
  try {
    const response = await fetch(root.dataset.jobsUrl, { credentials: "same-origin",
                                                         headers: { Accept: "application/json" } });
    if (response.status === 401 || response.redirected) { problem(texts.login); return; }
    if (!response.ok) { return; }
    const fresh = await response.json();
    // A shared phone: the worker's copy may be another technician's day.
    if (String(fresh.user_id) !== root.dataset.user) { fromCopy = doc !== null; return; }
    token = fresh.csrf_token || token;
    fromCopy = Boolean(response.headers.get("X-Tech-Cached"));
    doc = fresh;
    if (!fromCopy) { await saveState("jobs", doc); }
  } catch (err) {
    fromCopy = doc !== null;  // offline: the copy on the phone stands
  }
}

async function start() {
  await openStore(root.dataset.user);
  pending = await queued();
  doc = await loadState("jobs");
  render();
  if (navigator.onLine) { await loadJobs(); } else { fromCopy = doc !== null; }
  if (!doc) { problem(texts.no_jobs_offline); }
  render();
  await sync();
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(root.dataset.swUrl, { scope: root.dataset.scope })
      .catch(() => {});
  }
}

window.addEventListener("hashchange", render);
window.addEventListener("online", () => { showNet(); loadJobs().then(sync); });
window.addEventListener("offline", showNet);
root.querySelector("[data-sync-now]").addEventListener("click", () => loadJobs().then(sync));
window.setInterval(() => { if (pending.length) { sync(); } }, RETRY_MS);
start();
