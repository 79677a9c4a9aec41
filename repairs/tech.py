"""What the technician's phone shows: today's jobs, each with all it needs offline.

One JSON document (``todays_jobs``) holds the day: the jobs in order of their scheduled
time (the call center's time zone), each with the customer, a phone to call, the address
and a map link, the equipment with its repair history, the parts on the order and what
the order's station holds. The phone caches it (its service worker), so the day stays
readable without a network.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import quote_plus

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from callcenter.core.display import phone_text
from callcenter.core.errors import NotFound
from callcenter.core.locality import Locality
from callcenter.customers.models import Address, Contact, Customer, Phone
from callcenter.products.models import InstalledProduct
from callcenter.products.warranty import warranty_state
from callcenter.users.models import User
from kb.suggest import defects_for_job
from repairs.models import (
    Part,
    RepairOrder,
    RepairOrderHistory,
    RepairStatus,
    StationStock,
)
from repairs.orders import repair_history_of_product
from repairs.queries import visible_orders
from repairs.stock_reads import parts_on_order

#: Open states a job stays on the phone in, also when scheduled on an earlier day.
OPEN = (RepairStatus.DISPATCHED, RepairStatus.REPAIRING)
#: States shown when the job was scheduled today.
TODAY = (*OPEN, RepairStatus.INSPECTION, RepairStatus.SETTLEMENT, RepairStatus.CLOSED)
HISTORY_LIMIT = 10


def day_bounds(locality: Locality, now: datetime | None = None) -> tuple[datetime, datetime]:
    """Today in the call center's time zone, as an aware [start, end) pair."""
    zone = locality.zone
    local = (now or datetime.now(zone)).astimezone(zone)
    start = datetime.combine(local.date(), time(0), tzinfo=zone)
    return start, start + timedelta(days=1)


def todays_jobs(session: Session, actor: User, locality: Locality, *,
                now: datetime | None = None) -> dict[str, Any]:
    """The actor's jobs today, in order: ``{"day", "jobs": [...], "stock": {...}}``."""
    start, end = day_bounds(locality, now)
    stmt = (select(RepairOrder)
            .where(RepairOrder.technician_id == actor.id, visible_orders(actor),
                   or_(RepairOrder.status.in_(OPEN) & (RepairOrder.scheduled_at < end),
                       RepairOrder.status.in_(TODAY) & (RepairOrder.scheduled_at >= start)
                       & (RepairOrder.scheduled_at < end)))
            .order_by(RepairOrder.scheduled_at, RepairOrder.id))
    orders = list(session.scalars(stmt))
    today = start.date()
    jobs = [job_json(session, actor, order, locality) for order in orders]
    stations = {o.station_id for o in orders if o.station_id is not None}
    stock = {str(sid): station_stock(session, sid) for sid in sorted(stations)}
    made = (now or datetime.now(locality.zone)).astimezone(locality.zone)
    return {"user_id": actor.id, "day": today.isoformat(), "timezone": locality.timezone,
            "generated_at": made.isoformat(timespec="seconds"), "jobs": jobs, "stock": stock}


def job_json(session: Session, actor: User, order: RepairOrder,
             locality: Locality) -> dict[str, Any]:
    customer = session.get(Customer, order.customer_id)
    product = session.get(InstalledProduct, order.product_id)
    address = _address(session, order.customer_id)
    scheduled = order.scheduled_at.astimezone(locality.zone) if order.scheduled_at else None
    phone = _phone(session, order)
    return {
        "id": order.id, "version": order.version, "status": order.status.value,
        "scheduled_at": scheduled.isoformat() if scheduled else None,
        "time": scheduled.strftime("%H:%M") if scheduled else "",
        "fault": order.fault_description, "diagnosis": order.diagnosis or "",
        "defect_code": order.defect_code or "", "findings": order.findings or "",
        "signed": bool(order.signature_path), "station_id": order.station_id,
        "in_warranty": order.in_warranty,
        "customer": {"id": customer.id, "name": customer.name,
                     "contact": _contact(session, order), "phone": phone,
                     # As every page shows it (callcenter.core.display); "phone" dials.
                     "phone_display": phone_text(phone, locality.region) if phone else "",
                     "address": address, "map_url": map_url(address)},
        "product": {"id": product.id, "model": product.model,
                    "serial_number": product.serial_number,
                    "warranty_end": product.warranty_end.isoformat()
                    if product.warranty_end else None,
                    "warranty_state": warranty_state(product, locality.today()).value},
        "history": repair_history(session, actor, order, locality),
        # The defect library's entries for this model (those matching the fault first),
        # whole, so they read offline too.
        "known_defects": [{"id": d.id, "title": d.title, "symptom": d.symptom,
                           "cause": d.cause, "solution": d.solution}
                          for d in defects_for_job(session, order.fault_description,
                                                   product.model)],
        "parts": parts_used(session, order),
        "photos": session.scalar(select(func.count()).select_from(RepairOrderHistory).where(
            RepairOrderHistory.order_id == order.id, RepairOrderHistory.field == "photo")),
    }


def map_url(address: str) -> str:
    """A map search for the address, opened by the phone's map app or browser."""
    return ("https://www.openstreetmap.org/search?query=" + quote_plus(address)
            if address else "")


def _address(session: Session, customer_id: int) -> str:
    rows = list(session.scalars(select(Address).where(Address.customer_id == customer_id)
                                .order_by(Address.id)))
    best = next((a for a in rows if a.purpose == "ship_to"), None) or \
        next((a for a in rows if a.purpose == "main"), None) or (rows[0] if rows else None)
    if best is None:
        return ""
    if best.country != "CN":
        return ", ".join(p for p in (best.line, best.city, best.province) if p)
    # Chinese order, largest first; 北京 + 北京市 (a municipality) is written once.
    parts: list[str] = []
    for part in (best.province, best.city, best.line):
        part = (part or "").strip()
        if not part:
            continue
        if parts and part.startswith(parts[-1]):
            parts[-1] = part
        elif not (parts and parts[-1].startswith(part)):
            parts.append(part)
    return "".join(parts)


def _contact(session: Session, order: RepairOrder) -> str:
    if order.reporter_contact_id is None:
        return ""
    contact = session.get(Contact, order.reporter_contact_id)
    return contact.name if contact else ""


def _local(moment: datetime, locality: Locality) -> datetime:
    """``moment`` on the call center's clock (naive values are UTC, as stored)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(locality.zone)


def _phone(session: Session, order: RepairOrder) -> str:
    """The reporter's phone, else the customer's first, in E.164 (for a tel: link)."""
    stmt = select(Phone.e164).where(Phone.customer_id == order.customer_id)
    if order.reporter_contact_id is not None:
        found = session.scalar(stmt.where(Phone.contact_id == order.reporter_contact_id)
                               .order_by(Phone.id).limit(1))
        if found:
            return found
    return session.scalar(stmt.order_by(Phone.id).limit(1)) or ""


def repair_history(session: Session, actor: User, order: RepairOrder,
                   locality: Locality) -> list[dict]:
    """The equipment's other repair orders, newest first: the product's repair history
    (``repairs.orders``) when the actor may see the product, else the orders of it the
    actor may see; each dated on the call center's calendar."""
    try:
        rows = [o for o in repair_history_of_product(session, actor, order.product_id)
                if o.id != order.id][::-1][:HISTORY_LIMIT]
    except NotFound:
        rows = list(session.scalars(
            select(RepairOrder).where(RepairOrder.product_id == order.product_id,
                                      RepairOrder.id != order.id, visible_orders(actor))
            .order_by(RepairOrder.created_at.desc(), RepairOrder.id.desc())
            .limit(HISTORY_LIMIT)))
    return [{"id": o.id, "status": o.status.value,
             "date": _local(o.closed_at or o.created_at, locality).date().isoformat(),
             "fault": o.fault_description, "findings": o.findings or o.diagnosis or ""}
            for o in rows]


def parts_used(session: Session, order: RepairOrder) -> list[dict]:
    """Parts issued to the order less those returned, per part."""
    return [{"part_id": line.part_id, "sku": line.sku, "name": line.name,
             "unit": line.unit, "quantity": line.quantity}
            for line in parts_on_order(session, order.id)]


def station_stock(session: Session, station_id: int) -> list[dict]:
    """What the station holds (active parts with a quantity), for the part picker."""
    rows = session.execute(
        select(Part.id, Part.sku, Part.name, Part.unit, StationStock.quantity)
        .join(StationStock, StationStock.part_id == Part.id)
        .where(StationStock.station_id == station_id, Part.active.is_(True),
               StationStock.quantity > 0)
        .order_by(Part.sku))
    return [{"part_id": pid, "sku": sku, "name": name, "unit": unit, "quantity": qty}
            for pid, sku, name, unit, qty in rows]
