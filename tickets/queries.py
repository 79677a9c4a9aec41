"""Reading tickets: the scope in SQL, the work queues, filters and the caller's pop.

Scopes (domain.md section 7, as tickets read them): "own" = the assignee (the ticket's
owner); "related" adds tickets the user created or is listed as related to;
"department" adds tickets whose team (``department_id``) is the user's department or
one below it; "all" is everything. A ticket outside the scope is "not found".
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, exists, or_, select
from sqlalchemy.orm import Session

from callcenter.core.errors import NotFound, Problem, ValidationError
from callcenter.core.fields import as_id, choice_problem
from callcenter.users.models import User
from callcenter.users.scopes import department_subtree_ids, scope_clause
from tickets.models import (
    OPEN_STATUSES,
    Priority,
    SlaState,
    Ticket,
    TicketStatus,
    ticket_related_users,
)

#: The work queues a list can be cut to.
QUEUES = ("mine", "team", "unassigned", "at_risk", "breached")
#: How a list may be ordered: by the SLA due time (the default) or newest first.
SORTS = ("due", "newest", "oldest")
#: Longest text search.
MAX_Q = 200


class TicketNotFound(NotFound):
    """No such ticket, or outside the asking user's scope (the two look the same)."""

    entity = "ticket"


def _related_to(user_id: int) -> ColumnElement[bool]:
    return or_(Ticket.creator_id == user_id,
               exists().where(ticket_related_users.c.ticket_id == Ticket.id,
                              ticket_related_users.c.user_id == user_id))


def visible_tickets(user: User) -> ColumnElement[bool]:
    """SQL clause: the tickets ``user`` may see."""
    return scope_clause(user, responsible_col=Ticket.assignee_id,
                        department_col=Ticket.department_id, related_to=_related_to)


def can_see(session: Session, user: User, ticket_id: int) -> bool:
    return session.scalar(select(Ticket.id).where(Ticket.id == ticket_id,
                                                  visible_tickets(user))) is not None


def get_ticket(session: Session, user: User, ticket_id: Any, *,
               for_update: bool = False) -> Ticket:
    """The ticket, if it exists and ``user`` may see it; else TicketNotFound."""
    tid = as_id(ticket_id)
    if tid is None:
        raise TicketNotFound(ticket_id)
    stmt = select(Ticket).where(Ticket.id == tid, visible_tickets(user))
    if for_update:
        stmt = stmt.with_for_update(of=Ticket)
    ticket = session.scalar(stmt)
    if ticket is None:
        raise TicketNotFound(ticket_id)
    return ticket


def _enum_filter(stmt: Select, column, value: str | None, enum, name: str) -> Select:
    if not value:
        return stmt
    values = [v.strip() for v in value.split(",") if v.strip()]
    try:
        return stmt.where(column.in_([enum(v) for v in values]))
    except ValueError as exc:
        raise ValidationError({name: choice_problem(enum)}) from exc


def _id_filter(stmt: Select, column, value: Any, name: str) -> Select:
    if value in (None, ""):
        return stmt
    if value == "none":
        return stmt.where(column.is_(None))
    number = as_id(value)
    if number is None:
        raise ValidationError({name: Problem("not_id")})
    return stmt.where(column == number)


def _queue_clause(user: User, queue: str) -> ColumnElement[bool]:
    is_open = Ticket.status.in_(OPEN_STATUSES)
    if queue == "mine":
        return is_open & (Ticket.assignee_id == user.id)
    if queue == "team":
        if user.department_id is None:
            return is_open & Ticket.id.is_(None)
        return is_open & Ticket.department_id.in_(department_subtree_ids(user.department_id))
    if queue == "unassigned":
        return is_open & Ticket.assignee_id.is_(None)
    state = SlaState.AT_RISK if queue == "at_risk" else SlaState.BREACHED
    return is_open & (Ticket.sla_state == state)


def tickets_query(user: User, *, queue: str | None = None, status: str | None = None,
                  type: str | None = None, priority: str | None = None,  # noqa: A002
                  customer_id: Any = None, assignee_id: Any = None,
                  department_id: Any = None, sla_state: str | None = None,
                  q: str | None = None, sort: str | None = None) -> Select[tuple[Ticket]]:
    """SELECT of the tickets ``user`` may see, filtered and ordered; ValidationError
    naming the parameter on a bad filter. ``status``, ``priority`` and ``sla_state``
    take one value or several separated by commas; ``assignee_id=none``: unassigned."""
    stmt = select(Ticket).where(visible_tickets(user))
    if queue:
        if queue not in QUEUES:
            raise ValidationError({"queue": choice_problem(QUEUES)})
        stmt = stmt.where(_queue_clause(user, queue))
    stmt = _enum_filter(stmt, Ticket.status, status, TicketStatus, "status")
    stmt = _enum_filter(stmt, Ticket.priority, priority, Priority, "priority")
    stmt = _enum_filter(stmt, Ticket.sla_state, sla_state, SlaState, "sla_state")
    if type:
        stmt = stmt.where(Ticket.type_code.in_([t.strip() for t in type.split(",")]))
    stmt = _id_filter(stmt, Ticket.customer_id, customer_id, "customer_id")
    stmt = _id_filter(stmt, Ticket.assignee_id, assignee_id, "assignee_id")
    stmt = _id_filter(stmt, Ticket.department_id, department_id, "department_id")
    if q:
        text = q.strip()[:MAX_Q]
        conds = [Ticket.subject.contains(text, autoescape=True),
                 Ticket.description.contains(text, autoescape=True)]
        number = as_id(text.lstrip("#")) if text.lstrip("#").isdigit() else None
        if number is not None:
            conds.append(Ticket.id == number)
        stmt = stmt.where(or_(*conds))
    sort = sort or "due"
    if sort not in SORTS:
        raise ValidationError({"sort": choice_problem(SORTS)})
    if sort == "newest":
        return stmt.order_by(Ticket.id.desc())
    if sort == "oldest":
        return stmt.order_by(Ticket.id)
    # The SLA due time: the resolution target (NULL: no target, e.g. closed) goes last.
    return stmt.order_by(Ticket.resolution_due_at.is_(None), Ticket.resolution_due_at,
                         Ticket.id)


def open_tickets_for_customer(session: Session, customer_id: int, *,
                              limit: int = 10) -> list[Ticket]:
    """The customer's open tickets, newest first (the screen pop and the IVR lookup):
    one indexed query (customer_id, status). Not scoped: the caller card is the line's."""
    return list(session.scalars(
        select(Ticket).where(Ticket.customer_id == customer_id,
                             Ticket.status.in_(OPEN_STATUSES))
        .order_by(Ticket.id.desc()).limit(limit)))
