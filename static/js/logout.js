// Logging out leaves nothing of the technician's jobs on the device: the service
// worker's cache (the /tech page and today's jobs, customers' names and addresses among
// them) and the phone's copy of the jobs in IndexedDB are deleted before the logout is
// sent, so the next person to pick up a shared phone cannot read them, offline or not.
// Changes made offline and not yet sent are the technician's own work: they stay (in the
// technician's own database, static/js/tech/store.js) and are sent at their next login
// here; the technician is told how many first and may stay logged in to send them.
// Without JavaScript, IndexedDB or the Cache API the logout simply goes ahead.
(function () {
  "use strict";
  var CACHE_PREFIX = "tech-";
  var WAIT_MS = 2500;  // never hold a logout longer than this

  function request(req) {
    return new Promise(function (resolve, reject) {
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }

  /** Clears the jobs' copy in one technician database; resolves to its unsent changes. */
  function tidy(name) {
    return request(indexedDB.open(name)).then(function (db) {
      var stores = Array.prototype.slice.call(db.objectStoreNames);
      var wanted = ["queue", "state"].filter(function (s) { return stores.indexOf(s) >= 0; });
      if (!wanted.length) { db.close(); return 0; }
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(wanted, "readwrite");
        var count = 0;
        if (stores.indexOf("state") >= 0) { tx.objectStore("state").clear(); }
        if (stores.indexOf("queue") >= 0) {
          tx.objectStore("queue").count().onsuccess = function (e) { count = e.target.result; };
        }
        tx.oncomplete = function () { db.close(); resolve(count); };
        tx.onerror = tx.onabort = function () { db.close(); reject(tx.error); };
      });
    });
  }

  function tidyDatabases() {
    if (!window.indexedDB || !indexedDB.databases) { return Promise.resolve(0); }
    return indexedDB.databases().then(function (list) {
      var ours = list.filter(function (d) { return d.name && d.name.indexOf(CACHE_PREFIX) === 0; });
      return Promise.all(ours.map(function (d) { return tidy(d.name).catch(function () { return 0; }); }));
    }).then(function (counts) {
      return [].concat(counts).reduce(function (a, b) { return a + b; }, 0);
    });
  }

  function dropCaches() {
    if (!window.caches) { return Promise.resolve(); }
    return caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (k) { return k.indexOf(CACHE_PREFIX) === 0; })
        .map(function (k) { return caches.delete(k); }));
    });
  }

  function within(promise, fallback) {
    return Promise.race([promise.catch(function () { return fallback; }),
      new Promise(function (resolve) { setTimeout(function () { resolve(fallback); }, WAIT_MS); })]);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-logout") || form.dataset.tidied) { return; }
    event.preventDefault();
    within(tidyDatabases(), 0).then(function (unsent) {
      if (unsent > 0) {
        var words = unsent === 1 ? form.dataset.unsentOne : form.dataset.unsentMany;
        if (words && !window.confirm(words.replace("%(n)s", String(unsent)))) { return; }
      }
      return within(dropCaches(), null).then(function () {
        form.dataset.tidied = "1";
        form.submit();
      });
    });
  });
}());
