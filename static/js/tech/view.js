// Drawing the day and one job from the jobs document (plus what waits in the queue).
// Everything from the server goes in as text (textContent), never as markup.
import { formatDate } from "../display.js";
import { el, fill, fromTemplate } from "../dom.js";

const BADGE = { dispatched: "badge--info", repairing: "badge--warn", inspection: "badge--ok",
                settlement: "badge--ok", closed: "badge--muted", cancelled: "badge--muted" };

function field(root, name) { return root.querySelector(`[data-f="${name}"]`); }

function setLink(node, href) {
  if (href) { node.href = href; node.hidden = false; } else { node.hidden = true; }
}

function status(node, texts, value) {
  node.textContent = texts["st_" + value] || value;
  node.className = "badge " + (BADGE[value] || "badge--muted");
}

function when(job, texts, day) {
  const date = job.scheduled_at ? job.scheduled_at.slice(0, 10) : "";
  return date && date !== day ? job.time + " " + fill(texts.other_day, { day: formatDate(date) })
    : job.time;
}

/** The list of today's jobs. */
export function renderList(root, doc, pending, texts) {
  const list = root.querySelector("[data-jobs]");
  list.replaceChildren();
  for (const job of doc.jobs) {
    const card = fromTemplate("tech-job-card");
    field(card, "link").href = "#job/" + job.id;
    field(card, "time").textContent = when(job, texts, doc.day);
    field(card, "customer").textContent = job.customer.name;
    status(field(card, "status"), texts, job.status);
    field(card, "address").textContent = job.customer.address || texts.none;
    field(card, "model").textContent = job.product.model;
    field(card, "fault").textContent = job.fault;
    const waiting = pending.filter((c) => c.order_id === job.id).length;
    if (waiting) {
      const note = field(card, "pending");
      note.hidden = false;
      note.textContent = fill(texts.queued, { n: waiting });
    }
    setLink(field(card, "map"), job.customer.map_url);
    setLink(field(card, "call"), job.customer.phone ? "tel:" + job.customer.phone : "");
    list.append(card);
  }
  root.querySelector("[data-empty]").hidden = doc.jobs.length > 0;
  root.querySelector("[data-day]").textContent = fill(texts.day, { day: formatDate(doc.day),
    tz: doc.timezone });
}

/** One job, in a fresh copy of its template (returned; the caller wires the buttons). */
export function renderJob(doc, job, pending, failed, texts) {
  const view = fromTemplate("tech-job-view");
  const mine = pending.filter((c) => c.order_id === job.id);
  field(view, "customer").textContent = job.customer.name;
  status(field(view, "status"), texts, job.status);
  field(view, "number").textContent = fill(texts.number, { id: job.id });
  field(view, "time").textContent = when(job, texts, doc.day);
  field(view, "address").textContent = job.customer.address || texts.none;
  field(view, "contact").textContent = [job.customer.contact,
    job.customer.phone_display || job.customer.phone]
    .filter(Boolean).join(" · ") || texts.none;
  setLink(field(view, "map"), job.customer.map_url);
  setLink(field(view, "call"), job.customer.phone ? "tel:" + job.customer.phone : "");
  field(view, "model").textContent = job.product.model;
  field(view, "serial").textContent = job.product.serial_number;
  const warranty = field(view, "warranty");
  warranty.textContent = job.in_warranty ? texts.warranty_in : texts.warranty_out;
  if (job.product.warranty_end) {
    warranty.append(" · ", el("span", "nowrap",
                              fill(texts.warranty_end, { date: formatDate(job.product.warranty_end) })));
  }
  field(view, "fault").textContent = job.fault || texts.none;
  field(view, "diagnosis").textContent = [job.defect_code, job.diagnosis].filter(Boolean)
    .join(" · ") || texts.none;
  const history = field(view, "history");
  for (const old of job.history) {
    history.append(el("li", null, `${formatDate(old.date)} · ${texts["st_" + old.status] || old.status}`
      + ` · ${old.fault}${old.findings ? " → " + old.findings : ""}`));
  }
  if (!job.history.length) { history.append(el("li", "muted", texts.no_history)); }
  const defects = field(view, "defects");
  for (const known of job.known_defects || []) {
    const item = el("li");
    const details = el("details");
    details.append(el("summary", "strong", known.title));
    for (const text of [known.symptom, known.cause, known.solution]) {
      if (text) { details.append(el("p", "prewrap", text)); }
    }
    item.append(details);
    defects.append(item);
  }
  if (!(job.known_defects || []).length) { defects.append(el("li", "muted", texts.no_defects)); }
  field(view, "findings").defaultValue = job.findings;

  const parts = field(view, "parts");
  for (const part of job.parts) {
    const row = el("li", null, `${part.quantity} ${part.unit} · ${part.name} (${part.sku})`);
    if (part.pending) { row.append(el("span", "badge badge--warn", texts.pending)); }
    parts.append(row);
  }
  if (!job.parts.length) { parts.append(el("li", "muted", texts.no_parts)); }
  const select = field(view, "part");
  const stock = (doc.stock[String(job.station_id)] || []).filter((p) => p.quantity > 0);
  for (const item of stock) {
    const option = el("option", null, `${item.name} (${item.sku}) · ${item.quantity} ${item.unit}`);
    option.value = String(item.part_id);
    select.append(option);
  }
  if (!stock.length) { field(view, "picker").replaceChildren(el("p", "muted", texts.no_stock)); }

  const photos = job.photos + mine.filter((c) => c.kind === "photo").length;
  field(view, "photos").textContent = photos ? fill(texts.photos, { n: photos }) : texts.no_photos;
  field(view, "signed").textContent = job.signed ? texts.signed : texts.not_signed;

  const working = ["dispatched", "repairing"].includes(job.status);
  for (const button of view.querySelectorAll('[data-act="move"]')) {
    const from = button.dataset.to === "repairing" ? "dispatched" : "repairing";
    button.hidden = job.status !== from;
  }
  field(view, "next-none").hidden = working;
  field(view, "work").hidden = !working && !job.findings;
  field(view, "findings").readOnly = !working;

  const conflict = mine.find((c) => c.conflict);
  if (conflict) {
    const box = field(view, "conflict");
    const c = conflict.conflict.conflict;
    box.hidden = false;
    field(view, "conflict-what").textContent =
      c.field === "findings" ? texts.conflict_findings : texts.conflict_status;
    field(view, "mine").textContent = c.field === "status" ? texts["st_" + c.mine] || c.mine : c.mine;
    field(view, "theirs").textContent =
      c.field === "status" ? texts["st_" + c.theirs] || c.theirs : c.theirs;
    box.dataset.seq = String(conflict.seq);
  }
  const failedList = field(view, "failed");
  for (const message of failed[job.id] || []) {
    failedList.append(el("li", "flash flash--error", fill(texts.failed, { message })));
  }
  return view;
}
