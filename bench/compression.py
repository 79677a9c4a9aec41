"""Compressed answers (callcenter/compression.py): what they save on the wallboard page
and what they cost to serve, against the same app uncompressed in the same process.

One app, two live servers in this process on one SQLite database (a supervisor, one
queue with a morning of calls: bench/wallboard_charts.py's seed): the first as it is,
the second behind a WSGI wrapper that removes ``Accept-Encoding`` (the baseline: the
same code answering a client that takes no compression).

1. ``browser``: headless Chromium (cache off) loads ``/wallboard`` from each server until
   the chart is drawn, ``--runs`` times each, on loopback and with the link throttled
   (``--throttle-mbps``, 10 and 2 by default, 40 ms round trip: a branch office's line,
   a VPN). Per kind of
   file, the bytes on the wire (the encoded body, as Chromium counts it) and the bytes
   once decoded; DOMContentLoaded and chart drawn, medians.
2. ``serve``: every file the page fetched (the document, scripts, styles, the libraries,
   the API answers), fetched ``--fetches`` times each over loopback with Accept-Encoding
   ``identity``, ``gzip`` and ``br``: median time to the last byte and bytes on the wire.
   This is the server's cost (compression is CPU in the web process).

Prints JSON. ``python bench/compression.py [--runs 3] [--fetches 20]
[--throttle-mbps 10 2] [--redis-url redis://127.0.0.1:6379/14]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wallboard_charts import CHROMIUM_ARGS, PASSWORD, _kind, _seed_page  # noqa: E402


def identity_only(wsgi_app):
    """The baseline: the app as a client that accepts no compression sees it."""
    def app(environ, start_response):
        environ.pop("HTTP_ACCEPT_ENCODING", None)
        return wsgi_app(environ, start_response)
    return app


def start_servers(redis_url: str, folder: Path):
    from werkzeug.serving import make_server

    from callcenter.app import create_app
    from callcenter.config import load_settings
    from callcenter.migrate import upgrade

    url = f"sqlite:///{folder / 'page.sqlite3'}"
    upgrade(url)
    _seed_page(url)
    app = create_app(load_settings({"CALLCENTER_INSTANCE": str(folder / "instance"),
                                    "DATABASE_URL": url, "REDIS_URL": redis_url,
                                    "SECRET_KEY": "bench-compression-secret",
                                    "ACW_SECONDS": "0"}))
    servers = {"compressed": make_server("127.0.0.1", 0, app, threaded=True),
               "uncompressed": make_server("127.0.0.1", 0, identity_only(app),
                                           threaded=True)}
    for server in servers.values():
        threading.Thread(target=server.serve_forever, daemon=True).start()
    return app, servers


DRAWN_JS = """() => new Promise((done) => {
  const canvas = document.querySelector("[data-chart-canvas]");
  if (!canvas) { done(null); return; }
  const look = () => (window.Chart && Chart.getChart(canvas))
    ? done(performance.now()) : setTimeout(look, 20);
  look();
})"""


def load_page(browser, base: str, throttle_mbps: float | None) -> dict:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/login")
    page.locator("#username").fill("lead")
    page.locator("#password").fill(PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(lambda u: "/login" not in u)
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    if throttle_mbps:
        rate = throttle_mbps * 1_000_000 / 8
        cdp.send("Network.emulateNetworkConditions", {
            "offline": False, "latency": 40, "downloadThroughput": rate,
            "uploadThroughput": rate})
    rows: list[dict] = []

    def seen(response) -> None:
        path = urlparse(response.url).path
        if path.startswith("/socket.io/") or response.status != 200:
            return
        body = response.body()
        rows.append({"path": path, "kind": _kind(path),
                     "encoding": response.headers.get("content-encoding", ""),
                     "wire": response.request.sizes()["responseBodySize"],
                     "bytes": len(body)})

    page.on("response", seen)
    page.goto(f"{base}/wallboard")
    page.locator("[data-connection='live']").wait_for(timeout=60_000)
    drawn = page.evaluate(DRAWN_JS)
    loaded = page.evaluate("() => performance.getEntriesByType('navigation')[0]"
                           ".domContentLoadedEventEnd")
    time.sleep(1.0)   # the fetches the live link makes on connect
    context.close()
    return {"rows": rows, "dom_content_loaded_ms": loaded, "chart_drawn_ms": drawn}


def summarise(loads: list[dict]) -> dict:
    first = loads[0]["rows"]
    kinds: dict[str, dict] = {}
    for row in first:
        kind = kinds.setdefault(row["kind"], {"wire": 0, "bytes": 0, "requests": 0})
        kind["wire"] += row["wire"]
        kind["bytes"] += row["bytes"]
        kind["requests"] += 1
    return {
        "total": {"wire": sum(r["wire"] for r in first),
                  "bytes": sum(r["bytes"] for r in first), "requests": len(first)},
        "by_kind": kinds,
        "encodings": sorted({r["encoding"] or "none" for r in first}),
        "dom_content_loaded_ms": round(statistics.median(
            x["dom_content_loaded_ms"] for x in loads), 1),
        "chart_drawn_ms": round(statistics.median(
            x["chart_drawn_ms"] or 0 for x in loads), 1),
    }


def login(base: str) -> requests.Session:
    """A requests session logged in through the form (Flask-Login's strong session
    protection ties a session to its client: the browser's cookie would not do)."""
    http = requests.Session()
    page = http.get(base + "/login", timeout=30).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    r = http.post(base + "/login", data={"username": "lead", "password": PASSWORD,
                                         "csrf_token": token},
                  allow_redirects=False, timeout=30)
    assert r.status_code == 302, r.text
    return http


def serve_times(base: str, paths: list[str], fetches: int) -> dict:
    """Per file and encoding: median ms to the last byte, bytes on the wire."""
    http = login(base)
    out: dict = {}
    for path in paths:
        out[path] = {}
        for encoding in ("identity", "gzip", "br"):
            times, wire, used = [], 0, ""
            for _ in range(fetches):
                start = time.perf_counter()
                r = http.get(base + path, headers={"Accept-Encoding": encoding}, stream=True,
                             timeout=30)
                body = r.raw.read(decode_content=False)
                times.append((time.perf_counter() - start) * 1000)
                wire, used = len(body), r.headers.get("Content-Encoding", "none")
                r.close()
            out[path][encoding] = {"ms": round(statistics.median(times), 2), "wire": wire,
                                   "encoding": used}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--fetches", type=int, default=20)
    parser.add_argument("--throttle-mbps", type=float, nargs="*", default=[10.0, 2.0])
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL",
                                                              "redis://127.0.0.1:6379/14"))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="bench-compress-"))
    app, servers = start_servers(args.redis_url, folder)
    bases = {name: f"http://127.0.0.1:{s.server_port}" for name, s in servers.items()}
    out: dict = {"browser": {}, "serve": {}}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                         args=CHROMIUM_ARGS)
            links = [("loopback", None)] + [(f"{mbps:g} Mbit/s", mbps)
                                            for mbps in args.throttle_mbps]
            for link, mbps in links:
                out["browser"][link] = {}
                for name, base in bases.items():
                    loads = [load_page(browser, base, mbps) for _ in range(args.runs)]
                    out["browser"][link][name] = summarise(loads)
                    paths = sorted({r["path"] for r in loads[0]["rows"]})
            browser.close()
        # The API answers change with the clock; the files and the document are the load.
        out["serve"] = serve_times(bases["compressed"], paths, args.fetches)
        totals = {enc: {"ms": round(sum(v[enc]["ms"] for v in out["serve"].values()), 1),
                        "wire": sum(v[enc]["wire"] for v in out["serve"].values())}
                  for enc in ("identity", "gzip", "br")}
        out["serve_total"] = totals
    finally:
        for server in servers.values():
            server.shutdown()
        app.extensions["db_engine"].dispose()
        shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
