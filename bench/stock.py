"""Part issues per second against one hot part on PostgreSQL, with concurrent clients.

Creates a fresh database and migrates it, makes a station, repair orders and one part
per phase, then for ``--seconds`` per phase lets client threads, each with its own
session from the pool, call ``repairs.stock.issue_to_order`` for 1 to 3 units of that
one part in a loop (one transaction per issue, as a request is). Phases, in one run:

* ``baseline_1_client``: one client, stock that never runs dry (the conditional UPDATE
  without contention);
* ``hot_part``: ``--clients`` (default 8) clients on the same part and station, stock
  that never runs dry: the sustained issue rate on one hot row;
* ``scarce``: the same clients, ``--initial`` units and then ``--refill`` units every
  ``--refill-interval`` s (``repairs.stock.receive`` in a thread of its own): less than
  they ask for, so the stock runs dry again and again and issues are refused;
* ``naive_read_then_write``: the same clients doing what the service must not
  (``SELECT quantity``, then ``UPDATE ... SET quantity = :read - n``), to show what the
  conditional UPDATE prevents: lost updates (``lost_units``).

Measured per phase: issues/s, refusals/s, issue latency (p50/p99/max), and the checks:
every refusal reported a real shortage (``available < requested``, the quantity read
after the refused conditional UPDATE), the final stock is receipts minus the units
issued, the stock row equals the sum of the movements, one movement per issue, no
negative balance. Prints JSON; drops the database (unless --keep); exit status 1 when
a check of the service's phases fails.

    python bench/stock.py                     # 8 clients, 10 s per phase
    python bench/stock.py --clients 16 --seconds 20
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from datetime import UTC, date, datetime
from decimal import Decimal

from customer_lookup import DEFAULT_ADMIN_URL, create_database, drop_database, summary
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from callcenter.customers.models import Customer
from callcenter.db import make_engine, make_sessionmaker, utcnow
from callcenter.migrate import upgrade
from callcenter.products.models import InstalledProduct
from callcenter.users.models import Role, Scope, User
from repairs import stock
from repairs.models import (
    MovementKind,
    Part,
    RepairOrder,
    Station,
    StationStock,
    StockMovement,
)
from tickets.models import Ticket, TicketStatus

ORDERS = 50


def seed(session: Session) -> dict:
    admin = User(username="bench-admin", password_hash="!", role=Role.ADMIN,  # noqa: S106
                 scope=Scope.ALL)
    customer = Customer(name="Bench customer", name_key="benchcustomer")
    session.add_all([admin, customer])
    session.flush()
    station = Station(name="Hot depot")
    session.add(station)
    orders = []
    for i in range(ORDERS):
        product = InstalledProduct(customer_id=customer.id, model="K9",
                                   serial_number=f"SN-BENCH-{i}")
        ticket = Ticket(type_code="service_request", subject=f"Bench {i}",
                        customer_id=customer.id, creator_id=admin.id,
                        status=TicketStatus.NEW)
        session.add_all([product, ticket])
        session.flush()
        order = RepairOrder(ticket_id=ticket.id, product_id=product.id,
                            customer_id=customer.id, fault_description="bench",
                            reported_on=date(2026, 12, 1), created_by_id=admin.id)
        session.add(order)
        session.flush()
        orders.append(order.id)
    session.commit()
    return {"admin": admin.id, "station": station.id, "orders": orders}


def new_part(sessions, name: str) -> int:
    with sessions() as session:
        part = Part(sku=name, name=name, unit="pcs", unit_price=Decimal("9.90"))
        session.add(part)
        session.commit()
        return part.id


def naive_issue(session: Session, actor: User, order_id: int, station_id: int,
                part_id: int, n: int) -> None:
    """What the service must not do: read, decide, write what was read minus n."""
    read = session.scalar(select(StationStock.quantity).where(
        StationStock.station_id == station_id, StationStock.part_id == part_id)) or 0
    if read < n:
        raise stock.InsufficientStock(available=read, requested=n)
    session.execute(update(StationStock).where(
        StationStock.station_id == station_id, StationStock.part_id == part_id)
        .values(quantity=read - n))
    session.add(StockMovement(station_id=station_id, part_id=part_id, kind=MovementKind.ISSUE,
                              quantity=-n, balance_after=read - n, repair_order_id=order_id,
                              unit_price=Decimal("9.90"), actor_id=actor.id,
                              created_at=utcnow()))
    session.flush()


def phase(sessions, world: dict, args, *, clients: int, label: str, initial: int,
          refill: int = 0, naive: bool = False) -> dict:
    part_id = new_part(sessions, f"HOT-{label}")
    with sessions() as session:
        admin = session.get(User, world["admin"])
        stock.receive(session, admin, station_id=world["station"], part_id=part_id,
                      quantity=initial)
        session.commit()
    received = [initial]
    stop = threading.Event()
    lock = threading.Lock()
    tallies = {"issued_units": 0, "issues": 0, "refused": 0, "wrong_refusals": 0,
               "errors": 0}
    latencies: list[float] = []

    def client(i: int) -> None:
        rng = random.Random(args.seed * 1000 + i)
        own_ms: list[float] = []
        with sessions() as session:
            admin = session.get(User, world["admin"])
            orders = [session.get(RepairOrder, oid) for oid in world["orders"]]
            session.commit()
            while not stop.is_set():
                n, order = rng.randint(1, 3), rng.choice(orders)
                t = time.perf_counter()
                try:
                    if naive:
                        naive_issue(session, admin, order.id, world["station"], part_id, n)
                    else:
                        stock.issue_to_order(session, admin, order,
                                             station_id=world["station"], part_id=part_id,
                                             quantity=n)
                    session.commit()
                    own_ms.append((time.perf_counter() - t) * 1000)
                    with lock:
                        tallies["issues"] += 1
                        tallies["issued_units"] += n
                except stock.InsufficientStock as exc:
                    session.rollback()
                    with lock:
                        tallies["refused"] += 1
                        tallies["wrong_refusals"] += exc.available >= exc.requested
                except Exception:  # noqa: BLE001 - counted: must stay 0
                    session.rollback()
                    with lock:
                        tallies["errors"] += 1
        with lock:
            latencies.extend(own_ms)

    def fill() -> None:
        with sessions() as session:
            admin = session.get(User, world["admin"])
            while not stop.wait(args.refill_interval):
                stock.receive(session, admin, station_id=world["station"], part_id=part_id,
                              quantity=refill)
                session.commit()
                received.append(refill)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    if refill:
        threads.append(threading.Thread(target=fill))
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(args.seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0

    with sessions() as session:
        final = session.scalar(select(StationStock.quantity).where(
            StationStock.station_id == world["station"], StationStock.part_id == part_id))
        ledger = session.scalar(select(func.coalesce(func.sum(StockMovement.quantity), 0))
                                .where(StockMovement.part_id == part_id))
        negative = session.scalar(select(func.count()).select_from(StockMovement).where(
            StockMovement.part_id == part_id, StockMovement.balance_after < 0))
        issue_rows = session.scalar(select(func.count()).select_from(StockMovement).where(
            StockMovement.part_id == part_id, StockMovement.kind == MovementKind.ISSUE))
    receipts = sum(received)
    return {
        "clients": clients, "seconds": round(elapsed, 2),
        "issues": tallies["issues"], "issued_units": tallies["issued_units"],
        "refused": tallies["refused"], "errors": tallies["errors"],
        "issues_per_s": round(tallies["issues"] / elapsed, 1),
        "refused_per_s": round(tallies["refused"] / elapsed, 1),
        "decisions_per_s": round((tallies["issues"] + tallies["refused"]) / elapsed, 1),
        "refused_share": round(tallies["refused"] / max(1, tallies["issues"]
                                                        + tallies["refused"]), 3),
        "issue_latency": summary(latencies) if latencies else None,
        "receipts_units": receipts, "final_stock": final,
        "lost_units": final - (receipts - tallies["issued_units"]),
        "checks": {
            "refusals_only_when_short": tallies["wrong_refusals"] == 0,
            "wrong_refusals": tallies["wrong_refusals"],
            "final_equals_receipts_minus_issued": final == receipts - tallies["issued_units"],
            "stock_row_equals_movement_sum": final == ledger,
            "one_movement_per_issue": issue_rows == tallies["issues"],
            "negative_balances": negative,
        },
    }


def run(args) -> dict:
    name, url = create_database(args.database_url)
    result: dict = {"database": name, "started_at": datetime.now(UTC).isoformat(
        timespec="seconds"), "seconds_per_phase": args.seconds,
        "scarce_supply": f"{args.initial} units, then {args.refill} every "
                         f"{args.refill_interval} s"}
    engine = None
    try:
        upgrade(url)
        engine = make_engine(url)
        with engine.connect() as conn:
            result["postgres"] = conn.scalar(text("SHOW server_version"))
        sessions = make_sessionmaker(engine)
        with sessions() as session:
            world = seed(session)
        ample = args.clients * 3 * 2000 + 10_000  # never runs dry within the phase
        result["baseline_1_client"] = phase(sessions, world, args, clients=1, label="one",
                                            initial=ample)
        result["hot_part"] = phase(sessions, world, args, clients=args.clients, label="hot",
                                   initial=ample)
        result["scarce"] = phase(sessions, world, args, clients=args.clients, label="scarce",
                                 initial=args.initial, refill=args.refill)
        result["naive_read_then_write"] = phase(sessions, world, args, clients=args.clients,
                                                label="naive", initial=ample, naive=True)
        hot = result["hot_part"]
        result["speedup_vs_1_client"] = round(
            hot["issues_per_s"] / max(0.1, result["baseline_1_client"]["issues_per_s"]), 2)
        result["correct"] = all(
            result[name]["errors"] == 0 and all(
                v in (True, 0) for v in result[name]["checks"].values())
            for name in ("baseline_1_client", "hot_part", "scarce"))
    finally:
        if engine is not None:
            engine.dispose()
        if not args.keep:
            drop_database(args.database_url, name)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--initial", type=int, default=200,
                        help="scarce phase: units at the start")
    parser.add_argument("--refill", type=int, default=20,
                        help="scarce phase: units per receipt")
    parser.add_argument("--refill-interval", type=float, default=0.1)
    parser.add_argument("--database-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    result = run(args)
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0 if result["correct"] else 1


if __name__ == "__main__":
    sys.exit(main())
