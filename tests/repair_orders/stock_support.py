"""Rows the stock tests stand on: stations, parts and a repair order, written directly
(the stock services are what is under test, not the services that make these)."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from callcenter.customers.models import Customer
from callcenter.products.models import InstalledProduct
from repairs.models import Part, RepairOrder, Station
from tickets.models import Ticket, TicketStatus

_numbers = itertools.count(1)


def make_station(session: Session, name: str | None = None, *, department_id=None,
                 active: bool = True) -> Station:
    station = Station(name=name or f"Station {next(_numbers)}",
                      department_id=department_id, active=active)
    session.add(station)
    session.flush()
    return station


def make_part(session: Session, sku: str | None = None, price: str = "12.50") -> Part:
    n = next(_numbers)
    part = Part(sku=sku or f"SKU-{n}", name=f"Part {n}", unit="pcs",
                unit_price=Decimal(price))
    session.add(part)
    session.flush()
    return part


def make_order(session: Session, user) -> RepairOrder:
    n = next(_numbers)
    customer = Customer(name=f"Repair customer {n}", name_key=f"repaircustomer{n}",
                        responsible_id=user.id)
    session.add(customer)
    session.flush()
    product = InstalledProduct(customer_id=customer.id, model="K9",
                               serial_number=f"SN-STOCK-{n}")
    ticket = Ticket(type_code="service_request", subject="Broken", customer_id=customer.id,
                    creator_id=user.id, status=TicketStatus.NEW)
    session.add_all([product, ticket])
    session.flush()
    order = RepairOrder(ticket_id=ticket.id, product_id=product.id, customer_id=customer.id,
                        fault_description="It does not start", reported_on=date(2026, 12, 1),
                        created_by_id=user.id)
    session.add(order)
    session.flush()
    return order
