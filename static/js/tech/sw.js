// The technician's service worker (served as /tech/sw.js, scope /tech): the page shell
// and its files come from the cache when the network is away, and today's jobs are
// fetched network-first with the last good answer kept for when it fails. Changes are
// never cached or replayed here: the page queues them (IndexedDB) and sends them itself.
const CACHE = "tech-v2";
const SHELL = [
  "/tech",
  "/tech/manifest.webmanifest",
  "/static/css/app.css",
  "/static/js/app.js",
  "/static/js/display.js",
  "/static/js/dom.js",
  "/static/js/logout.js",
  "/static/js/tech/app.js",
  "/static/js/tech/media.js",
  "/static/js/tech/store.js",
  "/static/js/tech/sync.js",
  "/static/js/tech/view.js",
  "/static/img/favicon.svg",
  "/static/img/icon-192.png",
];
const JOBS = "/api/v1/tech/jobs";

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

/** Network first; a good answer replaces the cached one; without a network, the cache. */
async function networkFirst(request, key, stamp) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok && !response.redirected) {
      await cache.put(key, response.clone());
    }
    return response;
  } catch (err) {
    const cached = await cache.match(key);
    if (!cached) { throw err; }
    if (!stamp) { return cached; }
    // Tell the page this is the phone's copy, and of when.
    const headers = new Headers(cached.headers);
    headers.set("X-Tech-Cached", cached.headers.get("Date") || "1");
    return new Response(await cached.blob(), { status: 200, headers });
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") { return; }  // changes go straight to the network
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (url.pathname === JOBS) {
    event.respondWith(networkFirst(request, JOBS, true));
  } else if (request.mode === "navigate" && url.pathname.replace(/\/$/, "") === "/tech") {
    event.respondWith(networkFirst(request, "/tech", false));
  } else if (SHELL.includes(url.pathname)) {
    event.respondWith(networkFirst(request, url.pathname, false));
  }
});
