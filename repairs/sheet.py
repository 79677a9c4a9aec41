"""What a dispatch sheet (派工单) shows: everything the technician takes to the site.

Read-only, for one order the user may see (``repairs.queries.get_order``): the order's
customer and the reporter, the equipment and its warranty, the fault and diagnosis, the
station, technician and time, and what to bring: the parts already issued to the order
(issues less returns) and the catalogue's parts that fit the product's model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callcenter.customers.models import Address, Contact, Customer, Phone
from callcenter.products.models import InstalledProduct
from callcenter.users.models import User
from repairs.models import MovementKind, Part, RepairOrder, StockMovement, part_fits
from repairs.queries import get_order


def order_number(order: RepairOrder) -> str:
    """The number people quote for an order (on the sheet, the pages and the phone)."""
    return f"RO-{order.id:06d}"


@dataclass
class PartLine:
    sku: str
    name: str
    unit: str
    quantity: int | None = None
    unit_price: Decimal | None = None


@dataclass
class DispatchSheet:
    order: RepairOrder
    number: str
    customer: Customer | None
    address: str
    phones: list[str]
    reporter: Contact | None
    reporter_phones: list[str]
    product: InstalledProduct | None
    station_name: str
    station_address: str
    station_phone: str
    technician: str
    issued: list[PartLine] = field(default_factory=list)
    fitting: list[PartLine] = field(default_factory=list)


def _address_text(address: Address | None) -> str:
    if address is None:
        return ""
    return " ".join(p for p in (address.province, address.city, address.line,
                                address.postcode) if p)


def _main_address(session: Session, customer_id: int) -> Address | None:
    rows = session.scalars(select(Address).where(Address.customer_id == customer_id)
                           .order_by(Address.id)).all()
    for purpose in ("service", "ship_to", "main"):
        for row in rows:
            if row.purpose == purpose:
                return row
    return rows[0] if rows else None


def _phones(session: Session, customer_id: int, contact_id: int | None) -> list[str]:
    stmt = select(Phone.raw).where(Phone.customer_id == customer_id).order_by(Phone.id)
    stmt = stmt.where(Phone.contact_id == contact_id if contact_id is not None
                      else Phone.contact_id.is_(None))
    return list(session.scalars(stmt))


def issued_parts(session: Session, order_id: int) -> list[PartLine]:
    """The parts issued to the order less those returned, per part (net > 0 only)."""
    net = func.sum(-StockMovement.quantity)
    rows = session.execute(
        select(Part, net).join(StockMovement, StockMovement.part_id == Part.id)
        .where(StockMovement.repair_order_id == order_id,
               StockMovement.kind.in_([MovementKind.ISSUE, MovementKind.RETURN]))
        .group_by(Part.id).order_by(Part.sku)).all()
    return [PartLine(p.sku, p.name, p.unit, int(q), p.unit_price) for p, q in rows if q]


def fitting_parts(session: Session, model: str, *, limit: int = 30) -> list[PartLine]:
    """Active catalogue parts that fit ``model`` (``part_fits``)."""
    rows = session.scalars(
        select(Part).join(part_fits, part_fits.c.part_id == Part.id)
        .where(part_fits.c.model == model, Part.active.is_(True))
        .order_by(Part.sku).limit(limit)).all()
    return [PartLine(p.sku, p.name, p.unit, None, p.unit_price) for p in rows]


def dispatch_sheet(session: Session, actor: User, order_id: Any) -> DispatchSheet:
    """The sheet of an order ``actor`` may see (else RepairOrderNotFound: 404)."""
    order = get_order(session, actor, order_id)
    customer = session.get(Customer, order.customer_id)
    reporter = (session.get(Contact, order.reporter_contact_id)
                if order.reporter_contact_id else None)
    product = session.get(InstalledProduct, order.product_id)
    technician = session.get(User, order.technician_id) if order.technician_id else None
    station = order.station
    issued = issued_parts(session, order.id)
    issued_skus = {line.sku for line in issued}
    fitting = ([line for line in fitting_parts(session, product.model)
                if line.sku not in issued_skus] if product else [])
    return DispatchSheet(
        order=order, number=order_number(order), customer=customer,
        address=_address_text(_main_address(session, order.customer_id)),
        phones=_phones(session, order.customer_id, None),
        reporter=reporter,
        reporter_phones=(_phones(session, order.customer_id, reporter.id)
                         if reporter else []),
        product=product,
        station_name=station.name if station else "",
        station_address=station.address if station else "",
        station_phone=station.phone if station else "",
        technician=(technician.display_name or technician.username) if technician else "",
        issued=issued, fitting=fitting)
