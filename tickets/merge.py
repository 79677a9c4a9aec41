"""Linking tickets about the same thing, and merging a duplicate into another.

A link is stored once per pair (lower id first). Merging closes the duplicate with
``merged_into_id`` set, links the two (kind ``merged``) and writes history on both;
the duplicate's comments and attachments stay where they were written. The merge is a
compare-and-swap on the duplicate's version, so a concurrent change to it wins or loses
cleanly (409), and a merge into itself, a closed ticket or another customer's ticket is
refused.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from callcenter.config import Settings
from callcenter.core.errors import Problem, ValidationError
from callcenter.core.fields import text_problem
from callcenter.customers.services import require
from callcenter.db import utcnow
from callcenter.users.models import User
from callcenter.users.permissions import Permission
from tickets import history
from tickets.models import Ticket, TicketLink, TicketStatus
from tickets.queries import TicketNotFound, get_ticket
from tickets.schemas import LIMITS
from tickets.services import announce, claim, track


def other_ticket(session: Session, actor: User, other_id: int, field: str) -> Ticket:
    """The ticket named in a body, in the actor's scope; else 422 naming the field."""
    try:
        return get_ticket(session, actor, other_id)
    except TicketNotFound:
        raise ValidationError({field: Problem("ticket.unknown", {"id": other_id})}) from None


def _link(session: Session, actor: User, a: Ticket, b: Ticket, kind: str,
          now: datetime) -> tuple[TicketLink, bool]:
    low, high = sorted((a.id, b.id))
    existing = session.scalar(select(TicketLink).where(TicketLink.ticket_id == low,
                                                       TicketLink.other_id == high))
    if existing is not None:
        return existing, False
    link = TicketLink(ticket_id=low, other_id=high, kind=kind, created_by_id=actor.id,
                      created_at=now)
    session.add(link)
    session.flush()
    return link, True


def link_tickets(session: Session, actor: User, ticket: Ticket, other: Ticket, *,
                 now: datetime | None = None) -> TicketLink:
    """Link two tickets (idempotent); a ``linked`` history row on each the first time."""
    require(actor, Permission.TICKET_WRITE)
    now = now or utcnow()
    if ticket.id == other.id:
        raise ValidationError({"other_id": Problem("ticket.link_itself")})
    link, made = _link(session, actor, ticket, other, "related", now)
    if made:
        history.record(session, ticket.id, actor, "linked", None, other.id, at=now)
        history.record(session, other.id, actor, "linked", None, ticket.id, at=now)
        session.flush()
    return link


def ticket_links(session: Session, ticket: Ticket) -> list[TicketLink]:
    return list(session.scalars(
        select(TicketLink).where(or_(TicketLink.ticket_id == ticket.id,
                                     TicketLink.other_id == ticket.id))
        .order_by(TicketLink.id)))


def merge_tickets(session: Session, actor: User, duplicate: Ticket, into: Ticket, *,
                  settings: Settings, note: str = "",
                  now: datetime | None = None) -> Ticket:
    """Fold ``duplicate`` into ``into``: the duplicate is closed and points at ``into``."""
    require(actor, Permission.TICKET_MERGE)
    now = now or utcnow()
    note, problem = text_problem(note or "", LIMITS["note"], multiline=True)
    if problem is not None:
        raise ValidationError({"note": problem})
    if duplicate.id == into.id:
        raise ValidationError({"into_id": Problem("ticket.link_itself")})
    for field, ticket in (("ticket_id", duplicate), ("into_id", into)):
        if ticket.status == TicketStatus.CLOSED:
            raise ValidationError({field: Problem("ticket.merge_closed", {"id": ticket.id})})
    if duplicate.customer_id != into.customer_id:
        raise ValidationError({"into_id": Problem("ticket.merge_other_customer")})
    claim(session, duplicate, duplicate.version, now)
    old_status = duplicate.status
    duplicate.status = TicketStatus.CLOSED
    duplicate.closed_at = now
    duplicate.merged_into_id = into.id
    history.record(session, duplicate.id, actor, "status", old_status, TicketStatus.CLOSED,
                   note=note, at=now)
    history.record(session, duplicate.id, actor, "merged_into_id", None, into.id,
                   note=note, at=now)
    history.record(session, into.id, actor, "merged", None, duplicate.id, note=note, at=now)
    _link(session, actor, duplicate, into, "merged", now)
    session.flush()
    track(session, duplicate, settings, now)
    announce(session, duplicate, settings)
    return duplicate
