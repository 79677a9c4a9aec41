"""How long /healthz and /metrics take, with every part up and with Redis or the database
down; and what one reconcile of the periodic jobs costs. Prints one JSON object.

A private redis-server on a free port (stopped half-way), a scratch SQLite file, and
PostgreSQL on port 1 of this host (nothing listens: refused) for "database down".
Requests go through the app's test client (no HTTP server): the figures are the
checks' own time.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from callcenter.app import create_app
from callcenter.config import load_settings
from callcenter.schedule import reconcile

TOKEN = "bench-metrics-token-0123456789"  # noqa: S105 - a scratch app's token


def timed(fn, n: int) -> dict:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        status = fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {"status": status, "n": n, "p50_ms": round(statistics.median(samples), 2),
            "p99_ms": round(samples[min(n - 1, int(n * 0.99))], 2),
            "max_ms": round(samples[-1], 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(["redis-server", "--port", str(port), "--save", "",
                               "--appendonly", "no", "--bind", "127.0.0.1"],
                              stdout=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    result: dict = {"requests": args.requests}
    with tempfile.TemporaryDirectory() as tmp:
        def app_for(database_url: str):
            return create_app(load_settings({
                "CALLCENTER_INSTANCE": str(Path(tmp) / "instance"), "SECRET_KEY": "b" * 24,
                "DATABASE_URL": database_url, "REDIS_URL": f"redis://127.0.0.1:{port}/0",
                "METRICS_TOKEN": TOKEN}))
        up = app_for(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}").test_client()
        no_db = app_for("postgresql://bench@127.0.0.1:1/none").test_client()
        scrape = {"Authorization": f"Bearer {TOKEN}"}
        n = args.requests

        result["reconcile_ms"] = timed(lambda: len(reconcile(client).enqueued), n)
        result["healthz_up"] = timed(lambda: up.get("/healthz").status_code, n)
        result["metrics_up"] = timed(lambda: up.get("/metrics", headers=scrape).status_code, n)
        result["healthz_db_down"] = timed(lambda: no_db.get("/healthz").status_code, n)
        server.terminate()
        server.wait(10)
        result["healthz_redis_down"] = timed(lambda: up.get("/healthz").status_code, n)
        result["metrics_redis_down"] = timed(
            lambda: up.get("/metrics", headers=scrape).status_code, n)
    client.close()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
