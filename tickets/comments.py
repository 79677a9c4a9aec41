"""Comments on a ticket: internal notes (staff only) and replies the customer sees.

The first customer-visible comment by staff is the first response: it sets
``first_response_at`` (which meets the first-response target) exactly once, with a
conditional UPDATE, so two agents answering at the same moment cannot both set it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from callcenter.config import Settings
from callcenter.core.errors import Problem, ValidationError
from callcenter.core.fields import text_problem
from callcenter.customers.services import require
from callcenter.db import utcnow
from callcenter.users.models import User
from callcenter.users.permissions import Permission
from tickets import history
from tickets.models import Ticket, TicketComment
from tickets.schemas import LIMITS
from tickets.services import announce, track


def add_comment(session: Session, actor: User, ticket: Ticket, body: str, *,
                internal: bool = True, settings: Settings,
                now: datetime | None = None) -> TicketComment:
    """Add a comment; the first customer-visible one sets the first response."""
    require(actor, Permission.TICKET_WRITE)
    now = now or utcnow()
    text, problem = text_problem(body, LIMITS["body"], required=True, multiline=True)
    if problem is not None:
        raise ValidationError({"body": problem})
    if not isinstance(internal, bool):
        raise ValidationError({"internal": Problem("not_boolean")})
    comment = TicketComment(ticket_id=ticket.id, author_id=actor.id, body=text,
                            internal=internal, created_at=now)
    session.add(comment)
    session.flush()
    history.record(session, ticket.id, actor, "comment", None,
                   "internal" if internal else "public", note=text[:200], at=now)
    if not internal:
        first = session.execute(
            update(Ticket).where(Ticket.id == ticket.id, Ticket.first_response_at.is_(None))
            .values(first_response_at=now)
            .execution_options(synchronize_session=False)).rowcount
        if first:
            set_committed_value(ticket, "first_response_at", now)
            history.record(session, ticket.id, actor, "first_response_at", None, now, at=now)
            session.flush()
            track(session, ticket, settings, now)
            announce(session, ticket, settings)
    session.flush()
    return comment


def list_comments(session: Session, ticket: Ticket, *,
                  internal: bool | None = None) -> list[TicketComment]:
    """The ticket's comments, oldest first; ``internal`` False: what the customer sees."""
    stmt = select(TicketComment).where(TicketComment.ticket_id == ticket.id)
    if internal is not None:
        stmt = stmt.where(TicketComment.internal.is_(internal))
    return list(session.scalars(stmt.order_by(TicketComment.created_at, TicketComment.id)))
