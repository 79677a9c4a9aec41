"""Repair orders (产品维修单): raising one from a service request, recording the work,
repeat repairs (返修) and a product's repair history. States move in
``repairs.transitions``; the warranty decision is ``repairs.warranty``; the charges
``repairs.settlement``.

Every function takes the session and the acting user (and the settings it needs) and
only flushes. A write to an order is a compare-and-swap on its ``version``
(``callcenter.core.versions``): a stale one is ``repair.stale_version`` (409). Every
change leaves history rows (``repairs.history``).

**reported_on** (the warranty's reference date) is the day the service request was
opened, in the call center's time zone (``Locality``): the customer reported the fault
when they called, not when the order was written up, so an order raised the next
morning for yesterday evening's call keeps yesterday's date.

**Repeat repairs.** An order raised for a product (one serial: an installed product is
one serial number) within ``REPAIR_REPEAT_DAYS`` days after that product's most recent
closed order was closed (measured from its ``closed_at`` to the new order's creation)
is a repeat repair: ``repeat_of_id`` names the earlier order. Cancelled orders do not
count as repairs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.config import DEFAULT_REPAIR_REPEAT_DAYS, Settings
from callcenter.core.errors import Problem, ValidationError
from callcenter.core.fields import text_problem
from callcenter.core.locality import Locality
from callcenter.core.versions import check_version, claim
from callcenter.customers.models import Contact
from callcenter.customers.services import require
from callcenter.db import utcnow
from callcenter.products.services import ProductNotFound, get_product
from callcenter.users.models import User
from callcenter.users.permissions import Permission
from repairs import history
from repairs.models import RepairOrder, RepairStatus
from repairs.warranty import decide
from tickets.history import RAISED_FROM_TICKET, WARRANTY_RULE, system_note
from tickets.queries import TicketNotFound, get_ticket

STALE = "repair.stale_version"
#: Text limits (the schemas declare the same: repairs.schemas).
LIMITS = {"fault_description": 5000, "diagnosis": 10000, "findings": 10000,
          "defect_code": 40, "service_type": 40, "note": 2000}
#: Labour hours: Numeric(6, 2).
MAX_HOURS = Decimal("9999.99")
#: Orders whose work may still be recorded.
WORKABLE = frozenset({RepairStatus.DIAGNOSIS, RepairStatus.DISPATCHED,
                      RepairStatus.REPAIRING, RepairStatus.INSPECTION})


def _text(data: Mapping[str, Any], field: str, errors: dict[str, Problem], *,
          required: bool = False, multiline: bool = True) -> str | None:
    value, problem = text_problem(data.get(field), LIMITS[field], required=required,
                                  multiline=multiline)
    if problem is not None:
        errors[field] = problem
    return value


def _code(value: Any, field: str, errors: dict[str, Problem]) -> str | None:
    """A defect code / service type: letters, digits, ``. _ -``; "" clears it."""
    if value is None:
        return None
    if not isinstance(value, str):
        errors[field] = Problem("not_text")
        return None
    value = value.strip()
    if len(value) > LIMITS[field]:
        errors[field] = Problem("too_long", {"max": LIMITS[field]})
    elif value and not all(c.isascii() and (c.isalnum() or c in "._-") for c in value):
        errors[field] = Problem("repair.code_chars")
    return value


def parse_hours(value: Any) -> Decimal | None:
    """Labour hours from text ("1.5") or a whole number; never a float (422)."""
    if value is None:
        return None
    if isinstance(value, bool) or isinstance(value, float):
        raise ValidationError({"labour_hours": Problem("decimal_text")})
    try:
        text = str(value).strip() if isinstance(value, (str, int)) else ""
        hours = Decimal(text) if text.isascii() and len(text) <= 20 else None
    except InvalidOperation:
        hours = None
    if hours is None or not hours.is_finite() or hours < 0 or hours > MAX_HOURS or \
            hours != hours.quantize(Decimal("0.01")):
        raise ValidationError({"labour_hours": Problem("repair.hours",
                                                       {"max": str(MAX_HOURS)})})
    return hours.quantize(Decimal("0.01"))


# --- raising an order -----------------------------------------------------------------

def _previous_closed(session: Session, product_id: int) -> RepairOrder | None:
    return session.scalar(
        select(RepairOrder).where(RepairOrder.product_id == product_id,
                                  RepairOrder.status == RepairStatus.CLOSED,
                                  RepairOrder.closed_at.is_not(None))
        .order_by(RepairOrder.closed_at.desc(), RepairOrder.id.desc()).limit(1))


def find_repeat_of(session: Session, product_id: int, at: datetime,
                   repeat_days: int) -> RepairOrder | None:
    """The closed order an order of ``product_id`` raised at ``at`` repeats, if any: the
    product's last closed order, when it closed at most ``repeat_days`` days before."""
    last = _previous_closed(session, product_id)
    if last is None or repeat_days <= 0:
        return None
    return last if at - last.closed_at <= timedelta(days=repeat_days) else None


def raise_repair_order(session: Session, actor: User, *, ticket_id: Any, product_id: Any,
                       fault_description: Any, reporter_contact_id: Any = None,
                       locality: Locality | None = None,
                       repeat_days: int = DEFAULT_REPAIR_REPEAT_DAYS,
                       settings: Settings | None = None,
                       now: datetime | None = None) -> RepairOrder:
    """A new order in ``diagnosis`` from a service request (``ticket_id``) for an
    installed product (``product_id``). Both must be visible to the actor (else refused
    exactly like missing ones) and belong together: the product is the ticket's
    customer's, or the ticket's installed product. The order's customer is the product's
    end user; the warranty is decided at once (``repairs.warranty.decide``).

    ``settings`` gives the time zone and the repeat window (``REPAIR_REPEAT_DAYS``);
    without it, ``locality`` and ``repeat_days``."""
    if settings is not None:
        locality, repeat_days = settings.locality, settings.repair_repeat_days
    if locality is None:
        raise TypeError("raise_repair_order needs settings or a locality")
    require(actor, Permission.REPAIR_WRITE)
    now = now or utcnow()
    errors: dict[str, Problem] = {}
    fault = _text({"fault_description": fault_description}, "fault_description", errors,
                  required=True)
    try:
        ticket = get_ticket(session, actor, ticket_id)
    except TicketNotFound:
        ticket = None
        errors["ticket_id"] = Problem("ticket.unknown", {"id": str(ticket_id)[:20]})
    try:
        product = get_product(session, actor, product_id)
    except ProductNotFound:
        product = None
        errors["product_id"] = Problem("repair.product_unknown", {"id": str(product_id)[:20]})
    if ticket is not None and product is not None and \
            product.customer_id != ticket.customer_id and \
            ticket.installed_product_id != product.id:
        errors["product_id"] = Problem("repair.product_not_tickets",
                                       {"id": product.id, "ticket": ticket.id})
    contact_id = None
    if reporter_contact_id is not None and ticket is not None and product is not None:
        contact_id = session.scalar(select(Contact.id).where(
            Contact.id == reporter_contact_id,
            Contact.customer_id.in_({ticket.customer_id, product.customer_id})))
        if contact_id is None:
            errors["reporter_contact_id"] = Problem("repair.contact_unknown",
                                                    {"id": str(reporter_contact_id)[:20]})
    if errors:
        raise ValidationError(errors)
    if contact_id is None:
        contact_id = ticket.contact_id if reporter_contact_id is None else None
    reported_on = ticket.created_at.astimezone(locality.zone).date()
    in_warranty, basis = decide(product, reported_on)
    repeat = find_repeat_of(session, product.id, now, repeat_days)
    order = RepairOrder(status=RepairStatus.DIAGNOSIS, ticket_id=ticket.id,
                        product_id=product.id, customer_id=product.customer_id,
                        reporter_contact_id=contact_id, fault_description=fault,
                        reported_on=reported_on, in_warranty=in_warranty,
                        warranty_basis=basis, repeat_of_id=repeat.id if repeat else None,
                        created_by_id=actor.id, created_at=now, updated_at=now, version=1)
    session.add(order)
    session.flush()
    history.record(session, order.id, actor, "created", None, RepairStatus.DIAGNOSIS,
                   system_note=system_note(RAISED_FROM_TICKET, ticket_id=ticket.id), at=now)
    history.record(session, order.id, actor, "in_warranty", None, in_warranty,
                   system_note=system_note(WARRANTY_RULE.format(outcome=basis["outcome"])),
                   at=now)
    if repeat is not None:
        history.record(session, order.id, actor, "repeat_of_id", None, repeat.id, at=now)
    session.flush()
    return order


# --- recording the work ---------------------------------------------------------------

def record_work(session: Session, actor: User, order: RepairOrder, *, version: int,
                diagnosis: Any = None, defect_code: Any = None, findings: Any = None,
                service_type: Any = None, labour_hours: Any = None,
                now: datetime | None = None) -> RepairOrder:
    """Record the diagnosis (free text, a defect code), the findings, the service type
    and the labour hours; only what is given (not None) changes. Until settlement."""
    require(actor, Permission.REPAIR_WRITE)
    now = now or utcnow()
    errors: dict[str, Problem] = {}
    values: dict[str, Any] = {}
    for field, value in (("diagnosis", diagnosis), ("findings", findings)):
        if value is not None:
            values[field] = _text({field: value}, field, errors)
    for field, value in (("defect_code", defect_code), ("service_type", service_type)):
        code = _code(value, field, errors)
        if value is not None:
            values[field] = code or None
    if labour_hours is not None:
        try:
            values["labour_hours"] = parse_hours(labour_hours)
        except ValidationError as exc:
            errors.update(exc.errors)
    if errors:
        raise ValidationError(errors)
    check_version(order, version, STALE)
    if order.status not in WORKABLE:
        raise ValidationError({"status": Problem("repair.not_workable",
                                                 {"status": order.status.value})})
    changes = {k: (getattr(order, k), v) for k, v in values.items() if getattr(order, k) != v}
    if not changes:
        return order
    claim(session, order, version, STALE)
    for field, (_old, new) in changes.items():
        setattr(order, field, new)
    order.updated_at = now
    history.record_changes(session, order.id, actor, changes, at=now)
    session.flush()
    return order


# --- reading: a product's history ------------------------------------------------------

def repair_history_of_product(session: Session, actor: User,
                              product_id: Any) -> list[RepairOrder]:
    """Every repair order of the product, oldest first. The gate is the product: whoever
    may see the product (its owner in their scope) sees its repair history, which is part
    of the equipment's record (a technician at the site needs the earlier repairs by
    others). A product outside the scope: ProductNotFound, like a missing one."""
    require(actor, Permission.REPAIR_READ)
    product = get_product(session, actor, product_id)
    return list(session.scalars(select(RepairOrder)
                                .where(RepairOrder.product_id == product.id)
                                .order_by(RepairOrder.created_at, RepairOrder.id)))
