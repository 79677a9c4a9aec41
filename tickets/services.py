"""Tickets: the business rules. Routes, jobs and the web pages call these.

Every function takes the session and the acting user (and the settings it needs); none
commits. Reads go through ``tickets.queries`` so the scope is applied in SQL. A write
to a ticket is a compare-and-swap on its ``version`` (``claim``): of two writers who
read the same version, one wins and the other gets ``StaleVersion`` (409), never a lost
update. Every change leaves history rows (``tickets.history``), and after every change
the SLA is recomputed (``_track``) and ``ticket.changed`` goes to the team after commit.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from callcenter.calls.models import CallRecord
from callcenter.calls.services import calls_visible_to
from callcenter.config import Settings
from callcenter.core.errors import Problem, ValidationError
from callcenter.core.errors import StaleVersion as CoreStaleVersion
from callcenter.core.fields import text_problem
from callcenter.customers.models import Contact, Customer
from callcenter.customers.services import CustomerNotFound, get_customer, require
from callcenter.db import after_commit, utcnow
from callcenter.products.models import InstalledProduct
from callcenter.users.models import Department, User
from callcenter.users.permissions import Permission, has_permission
from tickets import history
from tickets.models import Channel, Priority, Ticket, TicketStatus, TicketType, ticket_calls
from tickets.policies import apply_policy
from tickets.reporters import find_or_add_reporter
from tickets.schemas import LIMITS
from tickets.tracking import track_ticket

log = logging.getLogger(__name__)

#: Fields a PATCH may change (status and assignee move with transitions).
EDITABLE = ("type", "subject", "description", "priority", "installed_product_id",
            "contact_id", "department_id", "resolution", "related_user_ids")
_MULTILINE = ("description", "resolution")


class StaleVersion(CoreStaleVersion):
    """The ticket changed since the client read it: reload and try again."""

    def __init__(self, current_version: int):
        super().__init__("ticket.stale_version", current_version=current_version)


class TransitionRefused(ValidationError):
    """The state machine (tickets.states) does not allow this move."""

    code = "ticket.transition_refused"


# --- the SLA and the team's live view: one place each ----------------------------------

def track(session: Session, ticket: Ticket, settings: Settings, now: datetime) -> None:
    """Recompute the ticket's SLA and re-arm its escalation timer (tickets.tracking)."""
    track_ticket(session, ticket, settings, now=now)


def _start_sla(session: Session, ticket: Ticket, customer: Customer) -> None:
    """Copy the most specific SLA policy onto a new ticket (tickets.policies)."""
    apply_policy(session, ticket, tier=customer.tier.value if customer.tier else None)


def announce(session: Session, ticket: Ticket, settings: Settings) -> None:
    """``ticket.changed`` to the ticket's team room, after the commit."""
    if ticket.department_id is None:
        return
    payload = {"ticket_id": ticket.id, "status": ticket.status.value,
               "sla_state": ticket.sla_state.value if ticket.sla_state else None,
               "escalation_level": ticket.escalation_level,
               "department_id": ticket.department_id}
    after_commit(session, lambda: publish("ticket.changed", payload["department_id"],
                                          payload, settings))


_publishers: dict[str, Any] = {}


def publish(event: str, to: Any, payload: dict[str, Any], settings: Settings) -> None:
    """Emit a live event; a Redis failure is logged, never raised (the data is saved)."""
    from callcenter.jobs import redis_connection, redis_url
    from callcenter.realtime.publish import LivePublisher
    try:
        url = redis_url(settings)
        if url not in _publishers:
            _publishers[url] = LivePublisher(redis_connection(settings), url)
        _publishers[url].emit(event, to, payload)
    except Exception as exc:  # noqa: BLE001 - a live update is best effort
        log.warning("live event %s for %s not sent: %s", event, to, exc)


# --- checks shared by create, update and transitions -----------------------------------

def active_type(session: Session, code: str) -> str:
    if not session.scalar(select(TicketType.id).where(TicketType.code == code,
                                                      TicketType.active.is_(True))):
        raise ValidationError({"type": Problem("ticket.unknown_type", {"type": code})})
    return code


def _contact_of(session: Session, customer_id: int, contact_id: int) -> int:
    if not session.scalar(select(Contact.id).where(Contact.id == contact_id,
                                                   Contact.customer_id == customer_id)):
        raise ValidationError({"contact_id": Problem("ticket.contact_not_customers",
                                                     {"id": contact_id})})
    return contact_id


def _product_of(session: Session, customer_id: int, product_id: int) -> int:
    if not session.scalar(select(InstalledProduct.id).where(
            InstalledProduct.id == product_id, InstalledProduct.customer_id == customer_id)):
        raise ValidationError({"installed_product_id": Problem(
            "ticket.product_not_customers", {"id": product_id})})
    return product_id


def _department(session: Session, department_id: int) -> int:
    if session.get(Department, department_id) is None:
        raise ValidationError({"department_id": Problem("department.unknown",
                                                        {"id": department_id})})
    return department_id


def check_assignee(session: Session, actor: User, user_id: int, customer_id: int) -> User:
    """An active user who may work tickets and can see the customer; taking a ticket
    oneself needs only ticket.write, giving it to another ticket.assign."""
    if user_id != actor.id:
        require(actor, Permission.TICKET_ASSIGN)
    user = session.get(User, user_id)
    if user is None or not user.active or \
            not has_permission(user.role, Permission.TICKET_WRITE):
        raise ValidationError({"assignee_id": Problem("ticket.assignee_unknown",
                                                      {"id": user_id})})
    try:
        get_customer(session, user, customer_id)
    except CustomerNotFound:
        raise ValidationError({"assignee_id": Problem("ticket.assignee_cannot_see",
                                                      {"id": user_id})}) from None
    return user


def _related_users(session: Session, ids: list[int]) -> list[User]:
    users = list(session.scalars(select(User).where(User.id.in_(ids), User.active.is_(True))))
    missing = sorted(set(ids) - {u.id for u in users})
    if missing:
        raise ValidationError({"related_user_ids": Problem("users.unknown", {"ids": missing})})
    return users


def _call(session: Session, actor: User, call_ref: int | str) -> CallRecord:
    column = CallRecord.id if isinstance(call_ref, int) else CallRecord.call_id
    call = session.scalar(select(CallRecord).where(column == call_ref,
                                                   calls_visible_to(actor)))
    if call is None:
        raise ValidationError({"call_id": Problem("ticket.call_unknown",
                                                  {"id": str(call_ref)[:64]})})
    return call


def _text(data: dict[str, Any], errors: dict[str, Problem]) -> dict[str, str]:
    """The text fields given, stripped and checked against the schema's limits."""
    out = {}
    for field in ("subject", "description", "resolution"):
        if field in data and data[field] is not None:
            value, problem = text_problem(data[field], LIMITS[field],
                                          required=field == "subject",
                                          multiline=field in _MULTILINE)
            if problem is not None:
                errors[field] = problem
            else:
                out[field] = value
    return out


# --- creating --------------------------------------------------------------------------

def create_ticket(session: Session, actor: User, data: dict[str, Any], *,
                  settings: Settings, now: datetime | None = None,
                  redis_client: Any = None) -> Ticket:
    """A new ticket (``data`` as ``TicketCreate`` checked it). Without an assignee it
    waits unassigned in its team's queue, or, with ``round_robin``, goes to the team's
    next available member in turn (unassigned when nobody is available)."""
    require(actor, Permission.TICKET_WRITE)
    now = now or utcnow()
    errors: dict[str, Problem] = {}
    text = _text(data, errors)
    if errors:
        raise ValidationError(errors)
    type_code = active_type(session, data["type"])
    try:
        customer = get_customer(session, actor, data["customer_id"])
    except CustomerNotFound:
        raise ValidationError({"customer_id": Problem(
            "customer.unknown", {"id": data["customer_id"]})}) from None
    if customer.merged_into_id is not None:
        raise ValidationError({"customer_id": Problem(
            "customer.merged", {"id": customer.id, "into": customer.merged_into_id})})
    contact_id = data.get("contact_id")
    if contact_id is not None:
        _contact_of(session, customer.id, contact_id)
        if data.get("reporter"):
            raise ValidationError({"reporter": Problem("ticket.contact_or_reporter")})
    product_id = data.get("installed_product_id")
    if product_id is not None:
        _product_of(session, customer.id, product_id)
    call = _call(session, actor, data["call_id"]) if data.get("call_id") is not None else None
    assignee = None
    if data.get("assignee_id") is not None:
        assignee = check_assignee(session, actor, data["assignee_id"], customer.id)
    department_id = data.get("department_id")
    if department_id is not None:
        _department(session, department_id)
    else:
        department_id = (assignee.department_id if assignee else None) or actor.department_id
    related = _related_users(session, data.get("related_user_ids") or [])
    if data.get("reporter"):
        contact_id = find_or_add_reporter(session, actor, customer, data["reporter"],
                                          region=settings.locality.region).id

    ticket = Ticket(type_code=type_code, subject=text["subject"],
                    description=text.get("description", ""), customer_id=customer.id,
                    priority=data.get("priority") or Priority.NORMAL,
                    channel=data.get("channel") or Channel.PHONE, contact_id=contact_id,
                    installed_product_id=product_id, creator_id=actor.id,
                    department_id=department_id, status=TicketStatus.NEW, version=1,
                    created_at=now, updated_at=now, related_users=related)
    session.add(ticket)
    session.flush()
    history.record(session, ticket.id, actor, "created", None, TicketStatus.NEW, at=now)
    if call is not None:
        session.execute(ticket_calls.insert().values(ticket_id=ticket.id, call_id=call.id))
        history.record(session, ticket.id, actor, "call", None, call.call_id, at=now)
    if assignee is None and data.get("round_robin"):
        from callcenter.jobs import redis_connection
        from tickets.assignment import next_assignee
        chosen = next_assignee(session, redis_client or redis_connection(settings),
                               department_id)
        assignee = session.get(User, chosen) if chosen else None
    if assignee is not None:
        ticket.assignee_id = assignee.id
        ticket.status = TicketStatus.ASSIGNED
        history.record(session, ticket.id, actor, "assignee_id", None, assignee.id, at=now)
        history.record(session, ticket.id, actor, "status", TicketStatus.NEW,
                       TicketStatus.ASSIGNED, at=now)
    session.flush()
    _start_sla(session, ticket, customer)
    track(session, ticket, settings, now)
    session.flush()
    announce(session, ticket, settings)
    return ticket


# --- the compare-and-swap --------------------------------------------------------------

def claim(session: Session, ticket: Ticket, version: int, now: datetime) -> None:
    """Bump the ticket's version from ``version``, or raise StaleVersion.

    One conditional UPDATE: on PostgreSQL a second writer waits for the first's row
    lock and then finds the version changed; on SQLite writers are serialised and the
    second finds it changed. Either way exactly one of them wins."""
    result = session.execute(
        update(Ticket).where(Ticket.id == ticket.id, Ticket.version == version)
        .values(version=version + 1, updated_at=now)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        current = session.scalar(select(Ticket.version).where(Ticket.id == ticket.id))
        raise StaleVersion(current if current is not None else ticket.version)
    set_committed_value(ticket, "version", version + 1)
    set_committed_value(ticket, "updated_at", now)


def update_ticket(session: Session, actor: User, ticket: Ticket, data: dict[str, Any], *,
                  settings: Settings, now: datetime | None = None) -> Ticket:
    """Change the fields given (``TicketPatch``); ``data["version"]`` is the version the
    client read. One history row per field that really changed."""
    require(actor, Permission.TICKET_WRITE)
    now = now or utcnow()
    version = data["version"]
    if version != ticket.version:
        raise StaleVersion(ticket.version)
    errors: dict[str, Problem] = {}
    values: dict[str, Any] = _text(data, errors)
    if errors:
        raise ValidationError(errors)
    if data.get("type") is not None:
        values["type_code"] = active_type(session, data["type"])
    if data.get("priority") is not None:
        values["priority"] = data["priority"]
    for field, check in (("installed_product_id", _product_of), ("contact_id", _contact_of)):
        if field in data:
            values[field] = None if data[field] is None else \
                check(session, ticket.customer_id, data[field])
    if data.get("department_id") is not None:
        values["department_id"] = _department(session, data["department_id"])
    related = None
    if data.get("related_user_ids") is not None:
        related = _related_users(session, data["related_user_ids"])
    changes = {("type" if k == "type_code" else k): (getattr(ticket, k), v)
               for k, v in values.items() if getattr(ticket, k) != v}
    old_related = {u.id for u in ticket.related_users}
    if related is not None and {u.id for u in related} != old_related:
        changes["related_user_ids"] = (old_related, {u.id for u in related})
    if not changes:
        return ticket
    claim(session, ticket, version, now)
    for field, value in values.items():
        setattr(ticket, field, value)
    if related is not None:
        ticket.related_users = related
    history.record_changes(session, ticket.id, actor, changes, at=now)
    session.flush()
    track(session, ticket, settings, now)
    announce(session, ticket, settings)
    return ticket
