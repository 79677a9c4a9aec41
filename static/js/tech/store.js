// The phone's own store (IndexedDB): the queue of changes not yet sent, in the order
// they were made, and the last copy of today's jobs. Kept per user (the database name
// carries the user id), so a shared phone never sends one technician's changes as
// another's.

const STORES = { queue: { keyPath: "seq", autoIncrement: true }, state: { keyPath: "name" } };

let opened = null;

export function openStore(userId) {
  if (!opened) {
    opened = new Promise((resolve, reject) => {
      const request = indexedDB.open("tech-" + userId, 1);
      request.onupgradeneeded = () => {
        for (const [name, options] of Object.entries(STORES)) {
          if (!request.result.objectStoreNames.contains(name)) {
            request.result.createObjectStore(name, options);
          }
        }
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }
  return opened;
}

function run(store, mode, work) {
  return opened.then((db) => new Promise((resolve, reject) => {
    const tx = db.transaction(store, mode);
    const result = work(tx.objectStore(store));
    tx.oncomplete = () => resolve(result && "result" in result ? result.result : undefined);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  }));
}

/** Every queued change, oldest first. */
export const queued = () => run("queue", "readonly", (s) => s.getAll());
/** Queue a change; resolves once it is on the phone's disk. */
export const enqueue = (change) => run("queue", "readwrite", (s) => s.add(change));
export const update = (change) => run("queue", "readwrite", (s) => s.put(change));
export const dequeue = (seq) => run("queue", "readwrite", (s) => s.delete(seq));

export const saveState = (name, value) =>
  run("state", "readwrite", (s) => s.put({ name, value }));
export const loadState = (name) =>
  run("state", "readonly", (s) => s.get(name)).then((row) => (row ? row.value : null));
