"""A technician's day for the /tech tests: a station with stock, a customer with an
address and a phone, and repair orders dispatched to the technician, written directly
(the phone's sync and views are under test, not the services that make these)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from live_server import live_app, live_settings
from sqlalchemy.orm import Session

from callcenter.customers.models import Address, Customer, Phone
from callcenter.products.models import InstalledProduct
from repairs.models import Part, RepairOrder, RepairStatus, Station, StationStock
from tickets.models import Ticket, TicketStatus

_numbers = itertools.count(1)


def make_day(session: Session, technician, *, stock: int = 5, when: datetime | None = None,
             office=None) -> dict:
    """A station (the technician's department) holding ``stock`` of one part, and one
    order dispatched to the technician at ``when`` (default: now)."""
    n = next(_numbers)
    station = Station(name=f"Station T{n}", department_id=technician.department_id,
                      address="北京市朝阳区", phone="010-1234")
    part = Part(sku=f"FLT-{n}", name=f"Oil filter {n}", unit="pcs", unit_price=Decimal("35.00"))
    session.add_all([station, part])
    session.flush()
    session.add(StationStock(station_id=station.id, part_id=part.id, quantity=stock))
    order = make_job(session, technician, station, when=when, office=office)
    return {"station": station, "part": part, "order": order}


def make_job(session: Session, technician, station: Station, *,
             when: datetime | None = None, office=None, customer_name: str | None = None,
             status: RepairStatus = RepairStatus.DISPATCHED) -> RepairOrder:
    n = next(_numbers)
    owner = office or technician
    customer = Customer(name=customer_name or f"北京华通汽车运输有限公司 {n}",
                        name_key=f"tech-customer-{n}", responsible_id=owner.id)
    session.add(customer)
    session.flush()
    session.add_all([
        Address(customer_id=customer.id, purpose="main", line="朝阳路88号",
                city="北京市", province="北京"),
        Phone(customer_id=customer.id, raw="13812345678", e164="+8613812345678"),
    ])
    product = InstalledProduct(customer_id=customer.id, model="HT6120 城市客车",
                               serial_number=f"LZYT-TECH-{n}",
                               warranty_end=date(2030, 1, 1))
    ticket = Ticket(type_code="service_request", subject="不能启动", customer_id=customer.id,
                    creator_id=owner.id, status=TicketStatus.NEW)
    session.add_all([product, ticket])
    session.flush()
    order = RepairOrder(ticket_id=ticket.id, product_id=product.id, customer_id=customer.id,
                        fault_description="发动机无法启动", reported_on=date(2026, 12, 1),
                        created_by_id=owner.id, status=status, station_id=station.id,
                        technician_id=technician.id,
                        scheduled_at=when or datetime.now(UTC).replace(microsecond=0),
                        diagnosis="Starter relay suspected")
    session.add(order)
    session.flush()
    return order


def earlier(hours: int) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(hours=hours)


@contextmanager
def served(database_url: str, instance: Path, redis_url: str) -> Iterator[str]:
    """The app on a live, threaded server (real parallel requests); yields its base URL."""
    with live_app(live_settings(instance, database_url, redis_url,
                                secret="tech-tests-secret-key-0123",
                                TIMEZONE="Asia/Shanghai")) as live:
        yield live.base
