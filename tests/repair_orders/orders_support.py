"""Rows the repair-order tests stand on: a customer with an installed product and a
service request, written directly (what is under test is the repair order, not the
services that make these), and orders raised through ``repairs.orders``."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from callcenter.customers.models import Customer
from callcenter.products.models import InstalledProduct, WarrantyType
from repairs.models import RepairOrder, RepairStatus
from repairs.orders import raise_repair_order
from tickets.models import Ticket, TicketStatus

_numbers = itertools.count(1)


def make_customer(session: Session, owner, **fields) -> Customer:
    n = next(_numbers)
    customer = Customer(name=f"Repair customer {n}", name_key=f"repaircustomer{n}",
                        responsible_id=owner.id, **fields)
    session.add(customer)
    session.flush()
    return customer


def make_product(session: Session, customer: Customer, *,
                 warranty_type: WarrantyType = WarrantyType.STANDARD,
                 warranty_end: date | None = date(2030, 1, 1),
                 model: str = "K9", serial: str | None = None) -> InstalledProduct:
    product = InstalledProduct(customer_id=customer.id, model=model,
                               serial_number=serial or f"SN-ORD-{next(_numbers)}",
                               warranty_type=warranty_type, warranty_end=warranty_end)
    session.add(product)
    session.flush()
    return product


def make_ticket(session: Session, customer: Customer, creator, *,
                created_at: datetime | None = None, product=None, **fields) -> Ticket:
    ticket = Ticket(type_code="service_request", subject="Broken", customer_id=customer.id,
                    creator_id=creator.id, status=TicketStatus.NEW,
                    created_at=created_at or datetime(2026, 12, 1, 2, tzinfo=UTC),
                    installed_product_id=product.id if product else None, **fields)
    session.add(ticket)
    session.flush()
    return ticket


def raise_for(session: Session, actor, settings, *, product=None, ticket=None,
              customer=None, **product_fields) -> RepairOrder:
    """An order (in diagnosis) for a new or given product, from a new or given ticket."""
    customer = customer or make_customer(session, actor)
    product = product or make_product(session, customer, **product_fields)
    ticket = ticket or make_ticket(session, customer, actor)
    return raise_repair_order(session, actor, ticket_id=ticket.id, product_id=product.id,
                              fault_description="It does not start", settings=settings)


def put_in(session: Session, order: RepairOrder, status: RepairStatus) -> RepairOrder:
    """Set the order's state directly (to test the moves out of it)."""
    order.status = status
    session.flush()
    return order
