"""An agent's work queue on PostgreSQL with a million tickets.

Creates a fresh database, migrates it, generates a department tree (10 teams of 3
sub-teams), 300 users, 100,000 customers and N tickets (default 1,000,000; 70 % closed,
the rest spread over the open states, with SLA due times and states) plus related-
employee rows, all in SQL (generate_series), ANALYZEs, then times what the ticket list
page and ``GET /api/v1/tickets`` run: ``tickets.queries.tickets_query`` (the user's scope
in SQL, a work queue or filters, sorted by SLA due time) through
``callcenter.core.pagination.fetch_page`` (the page and the total), a session from the
pool per request, for agents (department scope) and technicians (related scope).

The baseline, in the same run: the same requests with the work-queue indexes dropped
(the partial indexes of open tickets, by due time and by SLA state, and the
assignee and team indexes), so the figure shows what they buy.
Prints JSON; drops the database at the end (unless --keep).

    python bench/ticket_list.py                      # 1,000,000 tickets
    python bench/ticket_list.py --tickets 100000 --requests 500
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime

from customer_lookup import (
    DEFAULT_ADMIN_URL,
    _insert_sql,
    create_database,
    drop_database,
    percentile,
    summary,
)
from sqlalchemy import text

from callcenter.core.pagination import fetch_page
from callcenter.customers.models import Customer
from callcenter.db import make_engine, make_sessionmaker
from callcenter.migrate import upgrade
from callcenter.users.models import Department, User
from tickets.models import Ticket, ticket_related_users
from tickets.queries import tickets_query

TARGET_P95_MS = 50.0
TEAMS, SUBTEAMS, USERS, CUSTOMERS = 10, 3, 300, 100_000
#: The share of tickets that are recent enough to be open or just resolved.
OPEN_SHARE = 0.04
WORK_QUEUE_INDEXES = ("ix_tickets_open_due", "ix_tickets_open_sla_due", "ix_tickets_assignee_id",
                      "ix_tickets_department_id")

#: What one request lists: (name, tickets_query keywords, page).
REQUESTS = (
    ("mine", {"queue": "mine"}, 1),
    ("team", {"queue": "team"}, 1),
    ("team_page_4", {"queue": "team"}, 4),
    ("unassigned", {"queue": "unassigned"}, 1),
    ("at_risk", {"queue": "at_risk"}, 1),
    ("breached", {"queue": "breached"}, 1),
    ("team_complaints_high", {"queue": "team", "type": "complaint",
                              "priority": "high,urgent"}, 1),
    ("open_by_status", {"status": "assigned,in_progress,pending"}, 1),
)


def generate(conn, tickets: int) -> dict:
    """Departments 1 (root), 2..11 (teams), 12..41 (sub-teams); users 1..300 spread over
    the sub-teams (every tenth a technician with the related scope); tickets 1..N."""
    depts = 1 + TEAMS + TEAMS * SUBTEAMS
    conn.execute(text(_insert_sql(Department.__table__, {
        "id": "g", "name": "'Dept ' || g",
        "parent_id": f"CASE WHEN g = 1 THEN NULL WHEN g <= {1 + TEAMS} THEN 1 "
                     f"ELSE 2 + (g - {2 + TEAMS}) / {SUBTEAMS} END",
        "path": f"CASE WHEN g = 1 THEN '/1/' WHEN g <= {1 + TEAMS} THEN '/1/' || g || '/' "
                f"ELSE '/1/' || (2 + (g - {2 + TEAMS}) / {SUBTEAMS}) || '/' || g || '/' END",
    }, f"generate_series(1, {depts}) AS g")))
    first_sub = 2 + TEAMS
    # User u works in sub-team first_sub + u % 30.
    user_dept = f"({first_sub} + (u % {TEAMS * SUBTEAMS}))"
    conn.execute(text(_insert_sql(User.__table__, {
        "id": "u", "username": "'user' || u", "display_name": "'User ' || u",
        "password_hash": "'!'",
        "role": "CASE WHEN u % 10 = 0 THEN 'technician' ELSE 'agent' END",
        "scope": "CASE WHEN u % 10 = 0 THEN 'related' ELSE 'department' END",
        "department_id": user_dept, "locale": "'zh_CN'", "active": "true",
    }, f"generate_series(1, {USERS}) AS u")))
    conn.execute(text(_insert_sql(Customer.__table__, {
        "id": "g", "name": "'Customer ' || g", "name_key": "'customer' || g",
        "lifecycle": "'current'", "tier": "'ordinary'",
    }, f"generate_series(1, {CUSTOMERS}) AS g")))
    # A desk's history: everything older than the last OPEN_SHARE of tickets is closed;
    # the recent ones spread by g % 10 over new (unassigned), assigned, in progress,
    # pending and resolved. Created one every 30 s over the last ~year; resolution due
    # 1 to 20 days later (NULL while pending); open ones past due are breached, those
    # within 5 hours of it at risk.
    recent = f"g > {tickets} - {int(tickets * OPEN_SHARE)}"
    status = (f"CASE WHEN NOT ({recent}) THEN 'closed' WHEN g % 10 < 2 THEN 'new' "
              "WHEN g % 10 < 4 THEN 'assigned' WHEN g % 10 < 7 THEN 'in_progress' "
              "WHEN g % 10 = 7 THEN 'pending' ELSE 'resolved' END")
    unassigned = f"({recent} AND g % 10 < 2)"
    pending = f"({recent} AND g % 10 = 7)"
    is_open = f"({recent} AND g % 10 < 8)"
    assignee = f"CASE WHEN {unassigned} THEN NULL ELSE 1 + (g * 31) % {USERS} END"
    created = f"now() - ({tickets} - g) * interval '30 seconds'"
    due = f"{created} + interval '1 day' * (1 + g % 20)"
    conn.execute(text(_insert_sql(Ticket.__table__, {
        "id": "g", "type_code": "(ARRAY['inquiry','complaint','suggestion',"
                                "'service_request'])[1 + g % 4]",
        "priority": "(ARRAY['low','normal','normal','high','urgent'])[1 + (g / 7) % 5]",
        "channel": "'phone'", "status": status, "escalation_level": "0",
        "customer_id": f"1 + (g::bigint * 7919) % {CUSTOMERS}",
        "subject": "'Ticket ' || g", "description": "''", "resolution": "''",
        "creator_id": f"1 + (g * 17) % {USERS}", "assignee_id": assignee,
        "department_id": f"CASE WHEN {unassigned} THEN {first_sub} + g % {TEAMS * SUBTEAMS} "
                         f"ELSE {first_sub} + ((1 + (g * 31) % {USERS}) % "
                         f"{TEAMS * SUBTEAMS}) END",
        "version": "1", "created_at": created, "updated_at": created,
        "sla_calendar": "'business'", "first_response_minutes": "60",
        "resolution_minutes": "480",
        "first_response_due_at": f"{created} + interval '1 hour'",
        "resolution_due_at": f"CASE WHEN {pending} THEN NULL ELSE {due} END",
        "sla_state": f"CASE WHEN {pending} THEN 'paused' WHEN NOT {is_open} THEN 'met' "
                     f"WHEN {due} < now() THEN 'breached' "
                     f"WHEN {due} < now() + interval '5 hours' THEN 'at_risk' "
                     f"ELSE 'on_track' END",
    }, f"generate_series(1, {tickets}) AS g")))
    # Every tenth ticket lists a related employee.
    conn.execute(text(
        f"INSERT INTO {ticket_related_users.name} (ticket_id, user_id) "
        f"SELECT g, 1 + (g * 13) % {USERS} FROM generate_series(10, {tickets}, 10) AS g"))
    for table in ("departments", "users", "customers", "tickets"):
        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                          f"(SELECT max(id) FROM {table}))"))
    return {"departments": depts, "users": USERS, "customers": CUSTOMERS}


def time_requests(sessions, users: list[int], rng: random.Random, n: int) -> dict:
    """``n`` rounds of REQUESTS, each for a random user; per request kind and overall."""
    per_kind: dict[str, list[float]] = {name: [] for name, _, _ in REQUESTS}
    rows = 0
    for _ in range(n):
        user_id = rng.choice(users)
        for name, filters, page in REQUESTS:
            t = time.perf_counter()
            with sessions() as session:
                user = session.get(User, user_id)
                result = fetch_page(session, tickets_query(user, **filters), page=page)
                rows += len(result.items)
            per_kind[name].append((time.perf_counter() - t) * 1000)
    everything = sorted(ms for values in per_kind.values() for ms in values)
    return {"all": {**summary(everything), "p95_ms": round(percentile(everything, 95), 3)},
            "by_request": {name: {**summary(v), "p95_ms": round(percentile(sorted(v), 95), 3)}
                           for name, v in per_kind.items()},
            "rows_returned": rows}


def run(args) -> dict:
    rng = random.Random(args.seed)
    name, url = create_database(args.database_url)
    result: dict = {"database": name, "tickets": args.tickets,
                    "started_at": datetime.now(UTC).isoformat(timespec="seconds")}
    engine = None
    try:
        upgrade(url)
        engine = make_engine(url)
        t0 = time.perf_counter()
        with engine.begin() as conn:
            result.update(generate(conn, args.tickets))
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
            result["postgres"] = conn.scalar(text("SHOW server_version"))
        result["generate_s"] = round(time.perf_counter() - t0, 1)
        sessions = make_sessionmaker(engine)
        agents = [u for u in range(1, USERS + 1) if u % 10]
        technicians = [u for u in range(1, USERS + 1) if u % 10 == 0]

        time_requests(sessions, agents, rng, max(5, args.requests // 20))   # warm-up
        result["agent_department_scope"] = time_requests(sessions, agents, rng,
                                                         args.requests)
        result["technician_related_scope"] = time_requests(sessions, technicians, rng,
                                                           max(10, args.requests // 4))
        p95 = max(result["agent_department_scope"]["all"]["p95_ms"],
                  result["technician_related_scope"]["all"]["p95_ms"])
        result["target_p95_ms"] = TARGET_P95_MS
        result["meets_target"] = p95 <= TARGET_P95_MS

        # The baseline: the same requests without the work-queue indexes.
        with engine.begin() as conn:
            for index in WORK_QUEUE_INDEXES:
                conn.execute(text(f"DROP INDEX {index}"))
        result["baseline_without_work_queue_indexes"] = time_requests(
            sessions, agents, rng, max(5, args.requests // 10))
    finally:
        if engine is not None:
            engine.dispose()
        if not args.keep:
            drop_database(args.database_url, name)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200,
                        help="rounds of the request mix for agents (each round: "
                             f"{len(REQUESTS)} requests)")
    parser.add_argument("--database-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    result = run(args)
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0 if result["meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
