// Sending the queue: one change per request to /api/v1/tech/sync, strictly in the order
// they were made. Each carries its idempotency key (made once, when the change was made)
// and the order's version it was made on, so a request repeated after a lost answer
// changes nothing twice. After a change is applied, the later changes to the same order
// that were made on the version it started from move on to the version it produced
// (they were made on top of it); a change the office overtook stays a conflict.
import { dequeue, queued, update } from "./store.js";

/** A key for a change: crypto.randomUUID where the browser has it. */
export function newKey() {
  if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

let running = null;
let again = false;  // a change was queued while a run was under way

/**
 * Send what is queued. hooks: token(), refreshToken(), applied(body), conflict(item),
 * failed(item, message), offline(), login(). Resolves to "done", "offline", "conflict",
 * "login" or "later". Never runs twice at once.
 */
export function syncQueue(url, hooks) {
  if (running) {
    again = true;
    return running;
  }
  running = (async () => {
    let result;
    do {
      again = false;
      result = await sendAll(url, hooks);
    } while (again && result === "done");
    return result;
  })().finally(() => { running = null; });
  return running;
}

async function post(url, hooks, item) {
  return fetch(url, {
    method: "POST", credentials: "same-origin", cache: "no-store",
    headers: { "Content-Type": "application/json", "X-CSRFToken": hooks.token(),
               "Accept": "application/json" },
    body: JSON.stringify({ key: item.key, order_id: item.order_id, version: item.version,
                           kind: item.kind, data: item.data }),
  });
}

async function sendAll(url, hooks) {
  // The head of the queue, read afresh each time: changes queued meanwhile are sent in
  // the same run, and see the versions the ones before them produced.
  for (;;) {
    const item = (await queued())[0];
    if (!item) { return "done"; }
    if (item.conflict) { return "conflict"; }  // waits for the technician's choice
    let response;
    try {
      response = await post(url, hooks, item);
      if (response.status === 400) {  // the CSRF token expired on a long offline day
        await hooks.refreshToken();
        response = await post(url, hooks, item);
      }
    } catch (err) {
      hooks.offline();
      return "offline";
    }
    const body = await response.json().catch(() => ({}));
    if (response.status === 200) {
      await dequeue(item.seq);
      hooks.applied(body, item);  // new changes are made on the new version from now on
      for (const later of await queued()) {
        if (later.order_id === item.order_id && later.version === body.version_before
            && !later.conflict) {
          later.version = body.order.version;
          await update(later);
        }
      }
    } else if (response.status === 409 && body.conflict) {
      item.conflict = body;
      await update(item);
      hooks.conflict(item);
      return "conflict";
    } else if (response.status === 401) {
      hooks.login();
      return "login";
    } else if (response.status >= 500 || response.status === 429 || response.status === 400) {
      return "later";  // the server's trouble: the same key goes again later
    } else {
      // Refused for good (no such order, too few parts, a refused move): not retried.
      await dequeue(item.seq);
      const message = (body.error && body.error.message) || String(response.status);
      hooks.failed(item, message);
    }
  }
}
