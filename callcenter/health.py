"""``GET /healthz``: is this web process ready to serve, and how are the parts it needs?

Readiness, for a load balancer or an orchestrator's probe; no login, status words only
(no URLs, host names or error texts). Parts:

* ``database`` (required): ``SELECT 1``;
* ``redis`` (required): ``PING``. Sessions of live updates, PBX commands and jobs all
  go through it;
* ``bridge``: a bridge holds the leader lock, published its status lately, and its AMI
  link is up;
* ``worker``: an RQ worker sent a heartbeat lately; ``scheduler``: one of them runs the
  scheduler (delayed, retried and periodic jobs); ``jobs``: no job sits in a failed
  registry; ``dead_letters``: the bridge kept no writes it could not make after a long
  outage (``callcenter.bridge.dead_letters``; an admin replays them).

200 with ``"status": "ready"`` when every part is fine, ``"degraded"`` when only parts
that are not required fail (pages, the API and imports still work without the PBX link;
taking the web out of rotation then would only make it worse), and 503 ``"not ready"``
when the database or Redis fails. Every check runs in a thread of a small pool with
short client timeouts, and the answer waits at most ``DEADLINE_S`` for them: a hung
database or Redis makes the probe fail, never hang.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, datetime

import redis
from flask import Blueprint, Flask, current_app, jsonify
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq import Queue, Worker
from rq.registry import FailedJobRegistry
from rq.scheduler import RQScheduler
from sqlalchemy import Engine, text

from callcenter.bridge.leader import LEADER_KEY
from callcenter.jobs import QUEUES, redis_url
from callcenter.realtime.live import BRIDGE_STATUS_TTL_S, read_bridge_status

#: The whole answer waits at most this long for the checks.
DEADLINE_S = 1.5
#: Connect and read timeout of the probes' own Redis client.
REDIS_TIMEOUT_S = 0.5
#: A worker whose last heartbeat is older than this is gone (RQ beats at least every
#: ``worker_ttl - 15`` s; callcenter.jobs.run_worker sets worker_ttl to WORKER_TTL_S).
WORKER_STALE_S = 120

health_bp = Blueprint("health", __name__)


@dataclass(frozen=True)
class Check:
    ok: bool
    #: A status word or two ("ok", "unreachable", "ami down", "3 failed"): no details.
    reason: str
    required: bool = False


def probe_redis(app: Flask) -> redis.Redis:
    """The probes' Redis client: short timeouts, no retries (one per app)."""
    client = app.extensions.get("health_redis")
    if client is None:
        client = redis.Redis.from_url(
            redis_url(app.config["SETTINGS"]), socket_timeout=REDIS_TIMEOUT_S,
            socket_connect_timeout=REDIS_TIMEOUT_S, retry=Retry(NoBackoff(), 0))
        app.extensions["health_redis"] = client
    return client


def check_database(bind) -> Check:
    try:
        if isinstance(bind, Engine):
            with bind.connect() as conn:
                conn.execute(text("SELECT 1"))
        else:  # a test app bound to one connection
            bind.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means "not ready"; the word says so
        return Check(False, "unreachable", True)
    return Check(True, "ok", True)


def check_redis(client: redis.Redis) -> Check:
    try:
        client.ping()
    except redis.TimeoutError:
        return Check(False, "timeout", True)
    except redis.RedisError:
        return Check(False, "unreachable", True)
    return Check(True, "ok", True)


def check_bridge(client: redis.Redis, now: float) -> Check:
    try:
        leader = client.exists(LEADER_KEY)
        status = read_bridge_status(client)
    except redis.RedisError:
        return Check(False, "unknown")
    if not leader:
        return Check(False, "no leader")
    if status is None or now - status["at"] > BRIDGE_STATUS_TTL_S:
        return Check(False, "no status")
    if not status["ami_up"]:
        return Check(False, "ami down")
    return Check(True, "ok")


def check_workers(client: redis.Redis, now: float) -> dict[str, Check]:
    try:
        workers = Worker.all(connection=client)
        scheduling = any(client.exists(RQScheduler.get_locking_key(q)) for q in QUEUES)
        failed = sum(FailedJobRegistry(queue=Queue(q, connection=client)).count
                     for q in QUEUES)
    except redis.RedisError:
        unknown = Check(False, "unknown")
        return {"worker": unknown, "scheduler": unknown, "jobs": unknown}
    beats = [w.last_heartbeat for w in workers if w.last_heartbeat is not None]
    fresh = [b for b in beats if now - b.replace(tzinfo=b.tzinfo or UTC).timestamp()
             < WORKER_STALE_S]
    return {
        "worker": Check(True, "ok") if fresh else
        Check(False, "stale" if beats else "no worker"),
        "scheduler": Check(True, "ok") if scheduling else Check(False, "no scheduler"),
        "jobs": Check(True, "none failed") if not failed else Check(False, f"{failed} failed"),
    }


def check_dead_letters(instance_path) -> Check:
    from callcenter.bridge.dead_letters import count_dead_letters
    try:
        kept = count_dead_letters(instance_path)
    except OSError:
        return Check(False, "unknown")
    return Check(True, "none") if not kept else Check(False, f"{kept} kept")


def readiness(app: Flask) -> tuple[int, dict]:
    """(HTTP status, body) of /healthz."""
    pool = app.extensions.get("health_pool")
    if pool is None:  # threads start on first use, not when the app is built
        pool = app.extensions["health_pool"] = ThreadPoolExecutor(
            4, thread_name_prefix="healthz")
    client = probe_redis(app)
    now = datetime.now(UTC).timestamp()
    started = time.monotonic()
    futures = {
        "database": pool.submit(check_database, app.extensions["db_engine"]),
        "redis": pool.submit(check_redis, client),
        "bridge": pool.submit(check_bridge, client, now),
        "workers": pool.submit(check_workers, client, now),
        "dead_letters": pool.submit(check_dead_letters,
                                    app.config["SETTINGS"].instance_path),
    }
    checks: dict[str, Check] = {}
    for name, future in futures.items():
        left = max(0.0, DEADLINE_S - (time.monotonic() - started))
        try:
            result = future.result(timeout=left)
        except FutureTimeout:
            result = Check(False, "timeout", name in ("database", "redis"))
            if name == "workers":
                result = {"worker": result, "scheduler": result, "jobs": result}
        if isinstance(result, dict):
            checks.update(result)
        else:
            checks[name] = result
    if any(c.required and not c.ok for c in checks.values()):
        status, code = "not ready", 503
    elif all(c.ok for c in checks.values()):
        status, code = "ready", 200
    else:
        status, code = "degraded", 200
    return code, {"status": status, "checks": {
        name: {"ok": c.ok, "reason": c.reason, "required": c.required}
        for name, c in checks.items()}}


@health_bp.get("/healthz")
def healthz():
    code, body = readiness(current_app._get_current_object())
    response = jsonify(body)
    response.status_code = code
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """/healthz and /metrics; their thread pool, Redis client and metrics registry are
    per app (made on first use: building the app touches no network)."""
    from callcenter.metrics import metrics_bp, metrics_registry

    app.extensions["metrics_registry"] = metrics_registry(app)
    app.register_blueprint(health_bp)
    app.register_blueprint(metrics_bp)
