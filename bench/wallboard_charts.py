"""The wallboard's charts: what they add to the page, and what their figures cost.

1. ``page``: the bytes the browser fetches for ``/wallboard`` (headless Chromium, cache
   off, logged in as a supervisor, one queue with a morning of calls), by kind: the
   document, the app's scripts and styles, the browser libraries (Socket.IO, Chart.js),
   the API answers fetched at start. Raw bytes (what the app sends: it does not
   compress) and gzip -6 of each (what a compressing proxy would send). With
   ``--before REV`` the same is measured for the tree of that git revision (exported
   with ``git archive`` into a temporary folder, run with its own code), so the two
   figures compare the page without and with the charts. Also the times to
   DOMContentLoaded and to the chart drawn (noisy on a shared machine).
2. ``queries``: ``interval_series`` and ``agent_figures`` (what ``GET
   /api/v1/wallboard/today`` computes on every push, per supervisor) on a day of
   ``--calls`` calls in 10 queues and 100 agents with pauses, on SQLite and PostgreSQL,
   beside ``queue_figures`` (the day's figures the board already computed): p50 and p95.

Prints JSON. ``python bench/wallboard_charts.py [--before 3693ef6] [--calls 20000]
[--backends sqlite,postgresql] [--redis-url redis://127.0.0.1:6379/14]``
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-wallboard-pass-1"  # noqa: S105 - a throwaway user in a throwaway database
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


# --- 1. the page -------------------------------------------------------------------------

def _seed_page(url: str) -> None:
    """Imports only what every revision has (this runs inside the measured tree)."""
    from sqlalchemy.orm import Session

    from callcenter.calls.models import CallRecord, Outcome, PbxQueue
    from callcenter.db import make_engine
    from callcenter.users.services import create_user, ensure_department

    engine = make_engine(url)
    with Session(engine) as session:
        create_user(session, username="lead", password=PASSWORD, role="supervisor",
                    department="Service/Beijing", locale="en")
        session.add(PbxQueue(name="support", display_name="Support",
                             department_id=ensure_department(session, "Service/Beijing").id))
        now = datetime.now(UTC)
        for n in range(60):
            queued = now - timedelta(seconds=60 + n * 150)
            session.add(CallRecord(
                call_id=f"bench-{n}", queue="support", caller_number="13812345678",
                started_at=queued, queued_at=queued, answered_at=queued + timedelta(seconds=9),
                ended_at=queued + timedelta(seconds=130), wait_s=9.0, talk_s=120.0,
                agent_interface="PJSIP/1001", outcome=Outcome.ANSWERED))
        session.commit()
    engine.dispose()


def _kind(path: str) -> str:
    if path.startswith("/vendor/"):
        return "library"
    if path.startswith("/api/"):
        return "api"
    if path.startswith("/static/js/"):
        return "script"
    if path.startswith("/static/css/"):
        return "style"
    if path.startswith("/static/"):
        return "image"
    return "document"


def measure_page_here(redis_url: str) -> dict:
    """The page of the tree this interpreter imports ``callcenter`` from."""
    from urllib.parse import urlparse

    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from callcenter.app import create_app
    from callcenter.config import load_settings
    from callcenter.migrate import upgrade

    folder = Path(tempfile.mkdtemp(prefix="wb-page-"))
    url = f"sqlite:///{folder / 'page.sqlite3'}"
    upgrade(url)
    _seed_page(url)
    app = create_app(load_settings({"CALLCENTER_INSTANCE": str(folder / "instance"),
                                    "DATABASE_URL": url, "REDIS_URL": redis_url,
                                    "SECRET_KEY": "bench-wallboard-secret", "ACW_SECONDS": "0"}))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    rows: list[dict] = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                         args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.goto(f"{base}/login")
            page.locator("#username").fill("lead")
            page.locator("#password").fill(PASSWORD)
            page.locator("form button[type=submit]").last.click()
            page.wait_for_url(lambda u: "/login" not in u)
            cdp = context.new_cdp_session(page)
            cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})

            def seen(response) -> None:
                path = urlparse(response.url).path
                if path.startswith("/socket.io/") or response.status != 200:
                    return
                body = response.body()
                rows.append({"path": path, "kind": _kind(path), "bytes": len(body),
                             "gzip": len(gzip.compress(body, 6))})

            page.on("response", seen)
            page.goto(f"{base}/wallboard")
            page.locator("[data-connection='live']").wait_for(timeout=15_000)
            drawn = page.evaluate("""() => new Promise((done) => {
              const canvas = document.querySelector("[data-chart-canvas]");
              if (!canvas) { done(null); return; }
              const look = () => (window.Chart && Chart.getChart(canvas))
                ? done(performance.now()) : setTimeout(look, 20);
              look();
            })""")
            loaded = page.evaluate("() => performance.getEntriesByType('navigation')[0]"
                                   ".domContentLoadedEventEnd")
            time.sleep(1.5)   # the fetches the live link makes on connect
            browser.close()
    finally:
        server.shutdown()
        app.extensions["db_engine"].dispose()
        shutil.rmtree(folder, ignore_errors=True)
    kinds: dict[str, dict[str, int]] = {}
    for row in rows:
        total = kinds.setdefault(row["kind"], {"bytes": 0, "gzip": 0, "requests": 0})
        total["bytes"] += row["bytes"]
        total["gzip"] += row["gzip"]
        total["requests"] += 1
    return {
        "total": {"bytes": sum(r["bytes"] for r in rows), "gzip": sum(r["gzip"] for r in rows),
                  "requests": len(rows)},
        "by_kind": kinds,
        "files": sorted(rows, key=lambda r: -r["bytes"]),
        "dom_content_loaded_ms": round(loaded, 1),
        "chart_drawn_ms": round(drawn, 1) if drawn is not None else None,
    }


def measure_page(revision: str | None, redis_url: str) -> dict:
    """In a child process, from the working tree or from ``revision``'s tree."""
    tree = ROOT
    temp = None
    if revision:
        temp = Path(tempfile.mkdtemp(prefix="wb-before-"))
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(temp)], input=archive, check=True)
        (temp / "node_modules").symlink_to(ROOT / "node_modules")
        tree = temp
    env = {**os.environ, "PYTHONPATH": str(tree)}
    try:
        if revision:
            subprocess.run([sys.executable, "-m", "callcenter.i18n"], cwd=tree, env=env,
                           check=True, capture_output=True)
        out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--page-only",
                              "--redis-url", redis_url], cwd=tree, env=env, check=True,
                             capture_output=True, text=True).stdout
    finally:
        if temp:
            shutil.rmtree(temp, ignore_errors=True)
    return json.loads(out.strip().splitlines()[-1])


# --- 2. the queries ----------------------------------------------------------------------

def _percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered), 2),
            "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2)}


def measure_queries(backend: str, calls: int, repeats: int) -> dict:
    from sqlalchemy import insert
    from sqlalchemy.orm import Session

    from callcenter.calls.models import CallRecord, Outcome, PbxQueue
    from callcenter.db import make_engine
    from callcenter.migrate import upgrade
    from callcenter.wallboard.day import agent_figures, interval_series
    from callcenter.wallboard.figures import local_day_start, queue_figures
    from callcenter.wallboard.models import AgentPause

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from customer_lookup import DEFAULT_ADMIN_URL, create_database, drop_database

    folder, name = None, None
    if backend == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="wb-q-"))
        url = f"sqlite:///{folder / 'q.sqlite3'}"
    else:
        name, url = create_database(DEFAULT_ADMIN_URL)
    try:
        upgrade(url)
        engine = make_engine(url)
        rng = random.Random(12)
        tz = "Asia/Shanghai"
        now = datetime.now(UTC)
        day_start = local_day_start(now, tz)
        queues = [f"q{i}" for i in range(10)]
        agents = [f"PJSIP/{2000 + i}" for i in range(100)]
        span = max(60.0, (now - day_start).total_seconds() - 60)
        # Also yesterday's calls, as a real table has them.
        rows = []
        for n in range(calls * 2):
            queued = now - timedelta(seconds=rng.uniform(0, span) + (0 if n < calls else 86400))
            answered = rng.random() > 0.08
            wait = rng.expovariate(1 / 15)
            rows.append({
                "call_id": f"b{n}", "queue": rng.choice(queues), "caller_number": "138",
                "agents": [], "started_at": queued - timedelta(seconds=2), "queued_at": queued,
                "answered_at": queued + timedelta(seconds=wait) if answered else None,
                "ended_at": queued + timedelta(seconds=wait + 180), "wait_s": wait,
                "talk_s": 170.0 if answered else None,
                "agent_interface": rng.choice(agents) if answered else None,
                "outcome": (Outcome.ANSWERED if answered else Outcome.ABANDONED).value,
                "wrapup_notes": "", "created_at": now, "updated_at": now})
        pauses = [{"interface": a, "state": "paused", "reason": "break",
                   "started_at": now - timedelta(hours=k + 1),
                   "ended_at": now - timedelta(hours=k + 1) + timedelta(minutes=10)}
                  for a in agents for k in range(8)]
        with Session(engine) as session:
            session.add_all(PbxQueue(name=q, service_level_s=20) for q in queues)
            for start in range(0, len(rows), 5000):
                session.execute(insert(CallRecord), rows[start:start + 5000])
            session.execute(insert(AgentPause), pauses)
            session.commit()
        limits = {q: {"sl_threshold_s": 20, "sl_target": 0.8} for q in queues}
        timings: dict[str, list[float]] = {"interval_series": [], "agent_figures": [],
                                           "queue_figures": []}
        with Session(engine) as session:
            for i in range(repeats + 3):
                at = datetime.now(UTC)
                runs = (
                    ("interval_series", interval_series,
                     dict(queues=limits, day_start=day_start, now=at, timezone=tz)),
                    ("agent_figures", agent_figures,
                     dict(interfaces=agents, queues=queues, day_start=day_start, now=at)),
                    ("queue_figures", queue_figures,
                     dict(queues=queues, day_start=day_start, now=at, live=None)))
                for label, function, kwargs in runs:
                    started = time.perf_counter()
                    result = function(session, **kwargs)
                    elapsed = (time.perf_counter() - started) * 1000
                    if i >= 3:   # after a warm-up
                        timings[label].append(elapsed)
                    if label == "interval_series":
                        offered = sum(result["total"]["offered"])
            session.rollback()
        engine.dispose()
        return {"calls_today": calls, "calls_in_table": len(rows), "offered_seen": offered,
                **{label: _percentiles(samples) for label, samples in timings.items()}}
    finally:
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
        if name:
            drop_database(DEFAULT_ADMIN_URL, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", help="a git revision to measure the page of too")
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL",
                                                              "redis://127.0.0.1:6379/14"))
    parser.add_argument("--skip-page", action="store_true")
    parser.add_argument("--page-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.page_only:
        print(json.dumps(measure_page_here(args.redis_url)))
        return
    out: dict = {}
    if not args.skip_page:
        out["page"] = {"now": measure_page(None, args.redis_url)}
        if args.before:
            before = measure_page(args.before, args.redis_url)
            out["page"]["before"] = {**before, "revision": args.before}
            out["page"]["added"] = {
                key: out["page"]["now"]["total"][key] - before["total"][key]
                for key in ("bytes", "gzip", "requests")}
    out["queries"] = {backend: measure_queries(backend, args.calls, args.repeats)
                      for backend in args.backends.split(",") if backend}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
