"""Escalation timers at scale: 100,000 open tickets whose SLA warnings fall due over a
few minutes, fired by real workers (`callcenter worker --with-scheduler`) on PostgreSQL.

The tickets (24x7, resolution target 100 min) are written straight into a fresh
database, their ``next_escalation_at`` (the 80 % warning) spread evenly over
``--window`` seconds starting ``--lead`` seconds after the workers start; nothing is
armed in Redis beforehand: the workers' escalation reconciler creates the timer jobs
(``sla-due-<second>``) from the database, as after a Redis loss. Each warning writes
its ``ticket_escalations`` row, a notice for the assignee and its live events.

Measured from ``ticket_escalations``: lateness = ``fired_at - due_at`` (``fired_at`` is
the clock of the sweep batch that fired it, read before the batch's writes) p50 / p99 /
max, the sustained rate (warnings fired per second between the first and the last due),
and how many never fired. Baseline, in the same process before the workers start: the
sweep called directly on ``--baseline`` overdue tickets (no RQ, no timers), its rate.

End to end, what the assignee's browser sees: before the workers start, the script
subscribes to the Socket.IO message-queue channel (``live.channel_for``) that every
``callcenter serve`` process listens to, and stamps the arrival of each
``ticket.notice``. ``end_to_end`` = arrival - the warning's due (from
``ticket_escalations``: the payload's ``due_at`` is the resolution target's), split at
the event's ``sent_at`` into sweep -> published (``sent_at - fired_at``: the batch's work,
its commit, the publishing before it) and the Redis hop (arrival - ``sent_at``). Per
sweep batch that fired (its ``fired_at`` names it): tickets fired, and the time from its
clock to its first notice published (its work and commit) and to its last.

    python bench/escalation.py                        # 100,000 tickets over 300 s
    python bench/escalation.py --tickets 5000 --window 30   # a quick check
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))
from customer_lookup import (  # noqa: E402
    DEFAULT_ADMIN_URL,
    create_database,
    drop_database,
    summary,
)

from callcenter.config import load_settings  # noqa: E402
from callcenter.customers.services import create_customer  # noqa: E402
from callcenter.migrate import upgrade  # noqa: E402
from callcenter.realtime.live import channel_for  # noqa: E402
from callcenter.users.services import create_user, ensure_department  # noqa: E402
from tickets.escalation import fire_due_escalations  # noqa: E402
from tickets.models import Ticket, TicketEscalation  # noqa: E402
from tickets.notices import NOTICE_EVENT  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TARGET_P99_S = 2.0
RESOLUTION_MIN = 100
CHUNK = 1000


def start_redis(folder: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # No output-buffer limit for subscribers: a listener that falls behind (this
    # script's) is measured late rather than cut off by Redis and counted as missing.
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no", "--dir", str(folder),
                               "--client-output-buffer-limit", "pubsub", "0", "0", "0"],
                              stdout=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    for _ in range(200):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    return server, f"redis://127.0.0.1:{port}/0"


class Listener(threading.Thread):
    """Subscribed to the Socket.IO message queue, as every ``callcenter serve`` process
    is: stamps each message on arrival and keeps it raw (decoded after the run, so the
    stamps do not wait on decoding)."""

    def __init__(self, redis_url: str):
        super().__init__(daemon=True)
        self.pubsub = redis.Redis.from_url(redis_url).pubsub()
        self.pubsub.subscribe(channel_for(redis_url))
        # The workers start only after Redis confirmed the subscription.
        confirmed = time.monotonic() + 10
        while (self.pubsub.get_message(timeout=1) or {}).get("type") != "subscribe":
            if time.monotonic() > confirmed:
                raise RuntimeError("the Socket.IO channel's subscription was not confirmed")
        self.received: list[tuple[float, bytes]] = []
        self.error: str | None = None
        self.done = threading.Event()

    def run(self) -> None:
        try:
            while not self.done.is_set():
                message = self.pubsub.get_message(timeout=0.2)
                if message is not None and message["type"] == "message":
                    self.received.append((time.time(), message["data"]))
        except redis.RedisError as exc:
            self.error = repr(exc)
        finally:
            self.pubsub.close()

    def quiet_for(self, seconds: float) -> bool:
        return not self.received or time.time() - self.received[-1][0] >= seconds

    def notices(self) -> list[tuple[float, dict]]:
        """(arrival, payload) of each ``ticket.notice``."""
        out = []
        for arrived, raw in self.received:
            try:
                message = json.loads(raw)
            except ValueError:
                # Older python-socketio pickled the queue's messages (5.x sends JSON);
                # this is our own Redis, started above, so unpickling is safe here.
                message = pickle.loads(raw)  # noqa: S301
            if message.get("method") == "emit" and message.get("event") == NOTICE_EVENT:
                data = message["data"]  # the emit's arguments: [payload] (5.x)
                out.append((arrived, data[0] if isinstance(data, list) else data))
        return out


def end_to_end(notices: list[tuple[float, dict]], rows: list) -> dict:
    """The warnings' notices against their rows (ticket_id, due_at, fired_at)."""
    by_ticket = {ticket_id: (due, fired) for ticket_id, due, fired in rows}
    e2e, to_publish, hop = [], [], []
    batches: dict[datetime, list[float]] = {}
    seen: set[int] = set()
    for arrived, payload in notices:
        row = by_ticket.get(payload.get("ticket_id"))
        if row is None or payload.get("kind") != "warn":
            continue  # not one of the measured warnings (the baseline's)
        due, fired = row
        seen.add(payload["ticket_id"])
        e2e.append((arrived - due.timestamp()) * 1000)
        to_publish.append((payload["sent_at"] - fired.timestamp()) * 1000)
        hop.append((arrived - payload["sent_at"]) * 1000)
        batches.setdefault(fired, []).append(payload["sent_at"])
    sizes: dict[datetime, int] = {}
    for _, _, fired in rows:
        sizes[fired] = sizes.get(fired, 0) + 1

    def seconds(ms: list[float]) -> dict:
        return {k.replace("_ms", "_s"): round(v / 1000, 3)
                for k, v in summary(ms).items() if k != "n"} if ms else {}

    return {
        "notices_arrived": len(e2e), "tickets_notified": len(seen),
        "fired_not_notified": len(by_ticket) - len(seen),
        "lateness": seconds(e2e),
        "sweep_to_published": seconds(to_publish),
        "redis_hop_ms": {k: v for k, v in summary(hop).items() if k != "n"} if hop else {},
        "sweep_batches": {
            "batches": len(sizes),
            "tickets_per_batch": {k.removesuffix("_ms"): v for k, v in
                                  summary(list(map(float, sizes.values()))).items()
                                  if k != "n"} if sizes else {},
            "to_first_publish": seconds([(min(s) - f.timestamp()) * 1000
                                         for f, s in batches.items()]),
            "to_last_publish": seconds([(max(s) - f.timestamp()) * 1000
                                        for f, s in batches.items()]),
        },
    }


def load_average() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def seed_org(session: Session) -> dict:
    secret = os.urandom(12).hex()  # nobody logs in: the workers need only the rows
    lead = create_user(session, username="lead", password=secret, role="supervisor",
                       department="Service/Beijing")
    agent = create_user(session, username="agent", password=secret, role="agent",
                        department="Service/Beijing")
    team = ensure_department(session, "Service/Beijing")
    team.lead_id = lead.id
    customer = create_customer(session, agent, {"name": "Bench Ltd", "phones": []},
                               region="CN")
    session.flush()
    return {"agent": agent.id, "team": team.id, "customer": customer.id}


def insert_tickets(engine, org: dict, dues: list[datetime]) -> None:
    """Open 24x7 tickets whose warning (80 % of 100 min) is due at each of ``dues``."""
    table = Ticket.__table__
    for start in range(0, len(dues), CHUNK):
        rows = []
        for due in dues[start:start + CHUNK]:
            created = due - timedelta(minutes=0.8 * RESOLUTION_MIN)
            rows.append({
                "type_code": "complaint", "priority": "normal", "channel": "phone",
                "status": "assigned", "escalation_level": 0, "customer_id": org["customer"],
                "subject": "Bench ticket", "description": "", "resolution": "",
                "creator_id": org["agent"], "assignee_id": org["agent"],
                "department_id": org["team"], "version": 1, "created_at": created,
                "updated_at": created, "sla_calendar": "24x7",
                "resolution_minutes": RESOLUTION_MIN,
                "resolution_due_at": created + timedelta(minutes=RESOLUTION_MIN),
                "sla_state": "on_track", "next_escalation_at": due})
        with engine.begin() as conn:
            conn.execute(table.insert(), rows)


def baseline(engine, settings, org: dict, n: int) -> dict:
    """The sweep alone, in this process: ``n`` overdue tickets, fired in batches."""
    now = datetime.now(UTC)
    insert_tickets(engine, org, [now - timedelta(seconds=1)] * n)
    with Session(engine, expire_on_commit=False) as session:
        started = time.perf_counter()
        result = fire_due_escalations(session, settings)
        spent = time.perf_counter() - started
    return {"tickets": n, "fired": result.fired, "seconds": round(spent, 3),
            "per_s": round(result.fired / spent, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--window", type=float, default=300.0,
                        help="seconds over which the warnings fall due")
    parser.add_argument("--lead", type=float, default=20.0,
                        help="seconds from the workers' start to the first due")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--baseline", type=int, default=5000)
    parser.add_argument("--database-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args(argv)

    load_at_start = load_average()
    name, url = create_database(args.database_url)
    workers: list[subprocess.Popen] = []
    listener: Listener | None = None
    tmp = tempfile.TemporaryDirectory()
    redis_server, redis_url = start_redis(Path(tmp.name))
    try:
        upgrade(url)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": url,
               "REDIS_URL": redis_url, "SECRET_KEY": "bench-secret-key-0123456789",
               "CALLCENTER_INSTANCE": str(Path(tmp.name) / "instance")}
        settings = load_settings(env)
        engine = create_engine(url, pool_size=5)
        with Session(engine) as session:
            org = seed_org(session)
            session.commit()
        base = baseline(engine, settings, org, args.baseline) if args.baseline else None

        rng = random.Random(8)
        # Seeding (~2,500 tickets/s) comes first: the dues start after it and the lead.
        first_due = datetime.now(UTC) + timedelta(seconds=args.lead + args.tickets / 2000)
        dues = sorted(first_due + timedelta(seconds=rng.uniform(0, args.window))
                      for _ in range(args.tickets))
        seeded_at = time.perf_counter()
        insert_tickets(engine, org, dues)
        seed_s = time.perf_counter() - seeded_at
        with engine.connect() as conn:
            conn.execute(text("ANALYZE tickets"))
        ids_from = dues[0]
        listener = Listener(redis_url)  # after the baseline: its notices are not measured
        listener.start()
        log = (Path(tmp.name) / "workers.log").open("w")
        for _ in range(args.workers):
            workers.append(subprocess.Popen(
                [sys.executable, "-m", "callcenter", "worker", "--with-scheduler"],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        if datetime.now(UTC) > first_due:
            print(f"warning: seeding took {seed_s:.0f} s; the first dues were missed "
                  "before the workers started (raise --lead)", file=sys.stderr)

        measured = select(func.count()).select_from(TicketEscalation).where(
            TicketEscalation.step == 0, TicketEscalation.due_at >= ids_from)
        deadline = dues[-1] + timedelta(seconds=120)
        with engine.connect() as conn:
            while conn.scalar(measured) < args.tickets and datetime.now(UTC) < deadline:
                time.sleep(1)
                conn.rollback()
        # The last batch's events follow its commit: wait until the channel is quiet.
        settle = time.monotonic() + 30
        while not listener.quiet_for(2) and time.monotonic() < settle:
            time.sleep(0.2)
        listener.done.set()
        listener.join(timeout=10)
        with engine.connect() as conn:
            rows = conn.execute(select(TicketEscalation.ticket_id, TicketEscalation.due_at,
                                       TicketEscalation.fired_at)
                                .where(TicketEscalation.step == 0,
                                       TicketEscalation.due_at >= ids_from)).all()
        late_ms = [max(0.0, (f - d).total_seconds() * 1000) for _, d, f in rows]
        late = summary(late_ms) if late_ms else {}
        fired_times = sorted(f for _, _, f in rows)
        e2e = end_to_end(listener.notices(), rows)
        log.flush()
        log_text = (Path(tmp.name) / "workers.log").read_text(errors="replace")
        span = (fired_times[-1] - fired_times[0]).total_seconds() if len(rows) > 1 else 0
        result = {
            "bench": "escalation",
            "tickets": args.tickets, "window_s": args.window, "workers": args.workers,
            "seed_s": round(seed_s, 1),
            "fired": len(rows), "never_fired": args.tickets - len(rows),
            "lateness": {k.replace("_ms", "_s"): round(v / 1000, 3) for k, v in late.items()
                         if k != "n"},
            "sustained_per_s": round(len(rows) / span, 1) if span else None,
            "offered_per_s": round(args.tickets / args.window, 1),
            "end_to_end": {**e2e, "listener_error": listener.error,
                           "messages_on_channel": len(listener.received)},
            "worker_log": {"tracebacks": log_text.count("Traceback"),
                           "live_events_not_sent": log_text.count("live events not sent")},
            "baseline_sweep": base,
            "target_p99_s": TARGET_P99_S,
            "p99_ok": bool(late) and late["p99_ms"] / 1000 <= TARGET_P99_S,
            "end_to_end_p99_ok": bool(e2e["lateness"])
            and e2e["lateness"]["p99_s"] <= TARGET_P99_S,
            "load_average_1_5_15": {"start": load_at_start, "end": load_average()},
            "cpus": os.cpu_count(),
        }
        print(json.dumps(result, indent=2))
        engine.dispose()
        return 0
    finally:
        if listener is not None:
            listener.done.set()
        for worker in workers:
            try:
                os.killpg(worker.pid, signal.SIGTERM)
                worker.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(worker.pid, signal.SIGKILL)
        redis_server.terminate()
        redis_server.wait()
        tmp.cleanup()
        if not args.keep:
            drop_database(args.database_url, name)


if __name__ == "__main__":
    sys.exit(main())
