"""A customer's tickets for the 360° page: what is open, and each ticket's moments
(opened, resolved, closed) for the customer's one timeline. Scoped like every ticket
read (``tickets.queries.visible_tickets``): a ticket the user may not open is not shown.
Tickets follow a customer merge, so the survivor's id finds the merged one's too."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.users.models import User
from tickets.models import OPEN_STATUSES, Ticket
from tickets.queries import visible_tickets

#: The customer page shows at most this many tickets.
MAX_TICKETS = 50


def customer_tickets(session: Session, actor: User, customer_id: int, *,
                     limit: int = MAX_TICKETS) -> list[Ticket]:
    """The customer's tickets ``actor`` may see, open ones first, then newest first."""
    return list(session.scalars(
        select(Ticket).where(Ticket.customer_id == customer_id, visible_tickets(actor))
        .order_by(Ticket.status.in_(list(OPEN_STATUSES)).desc(), Ticket.id.desc())
        .limit(limit)))


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def ticket_events(tickets: list[Ticket]) -> list[dict[str, Any]]:
    """Each ticket's moments: ``{"at", "event": opened|resolved|closed, "ticket"}``."""
    events = []
    for ticket in tickets:
        for event, at in (("opened", ticket.created_at), ("resolved", ticket.resolved_at),
                          ("closed", ticket.closed_at)):
            if at is not None:
                events.append({"at": _aware(at), "event": event, "ticket": ticket})
    return events


def is_open(ticket: Ticket) -> bool:
    return ticket.status in OPEN_STATUSES


__all__ = ["customer_tickets", "is_open", "ticket_events"]
