"""Moving a ticket through its states (tickets.states): assign, work, pend, resolve,
close, reopen. Each move is a compare-and-swap on the version and a ``status`` history
row (the SLA clock reads those: time spent pending does not count)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from callcenter.config import Settings
from callcenter.core.errors import Problem, ValidationError
from callcenter.core.fields import text_problem
from callcenter.customers.services import require
from callcenter.db import utcnow
from callcenter.users.models import User
from callcenter.users.permissions import Permission
from tickets import history
from tickets.models import Ticket, TicketStatus
from tickets.schemas import LIMITS
from tickets.services import (
    StaleVersion,
    TransitionRefused,
    announce,
    check_assignee,
    claim,
    track,
)
from tickets.states import can_transition


def transition_ticket(session: Session, actor: User, ticket: Ticket, data: dict[str, Any], *,
                      settings: Settings, now: datetime | None = None) -> Ticket:
    """Move ``ticket`` to ``data["to"]`` (``TicketTransition``); TransitionRefused when
    the state machine does not allow it, StaleVersion when the version is not current."""
    require(actor, Permission.TICKET_WRITE)
    now = now or utcnow()
    to = TicketStatus(data["to"])
    old = TicketStatus(ticket.status)
    if data["version"] != ticket.version:
        raise StaleVersion(ticket.version)
    if not can_transition(old, to):
        raise TransitionRefused({"to": Problem("ticket.transition_refused",
                                               {"from": old.value, "to": to.value})})
    note, problem = text_problem(data.get("note") or "", LIMITS["note"], multiline=True)
    if problem is not None:
        raise ValidationError({"note": problem})
    changes: dict[str, tuple[Any, Any]] = {"status": (old, to)}
    assignee_id = data.get("assignee_id")
    if to == TicketStatus.ASSIGNED:
        if assignee_id is None:
            raise ValidationError({"assignee_id": Problem("required")})
        assignee = check_assignee(session, actor, assignee_id, ticket.customer_id)
        if assignee.id == ticket.assignee_id and old == TicketStatus.ASSIGNED:
            raise TransitionRefused({"assignee_id": Problem("ticket.same_assignee")})
        changes["assignee_id"] = (ticket.assignee_id, assignee.id)
    elif assignee_id is not None:
        raise ValidationError({"assignee_id": Problem("ticket.assignee_only_when_assigning")})
    elif to == TicketStatus.IN_PROGRESS and ticket.assignee_id is None:
        # Starting work on an unassigned ticket is taking it.
        changes["assignee_id"] = (None, actor.id)
    resolution = data.get("resolution")
    if resolution is not None:
        if to != TicketStatus.RESOLVED:
            raise ValidationError({"resolution": Problem("ticket.resolution_when_resolving")})
        resolution, problem = text_problem(resolution, LIMITS["resolution"], multiline=True)
        if problem is not None:
            raise ValidationError({"resolution": problem})
        if resolution != ticket.resolution:
            changes["resolution"] = (ticket.resolution, resolution)

    claim(session, ticket, data["version"], now)
    ticket.status = to
    if "assignee_id" in changes:
        ticket.assignee_id = changes["assignee_id"][1]
        if ticket.department_id is None:
            ticket.department_id = session.get(User, ticket.assignee_id).department_id
    if "resolution" in changes:
        ticket.resolution = resolution
    if to == TicketStatus.RESOLVED:
        changes["resolved_at"] = (ticket.resolved_at, now)
        ticket.resolved_at = now
    elif to == TicketStatus.CLOSED:
        changes["closed_at"] = (ticket.closed_at, now)
        ticket.closed_at = now
    elif old == TicketStatus.RESOLVED:  # reopened: no longer resolved
        changes["resolved_at"] = (ticket.resolved_at, None)
        ticket.resolved_at = None
    # The status row carries the note; the fields that moved with it are listed after.
    history.record(session, ticket.id, actor, "status", old, to, note=note or "", at=now)
    history.record_changes(session, ticket.id, actor,
                           {k: v for k, v in changes.items() if k != "status"}, at=now)
    session.flush()
    track(session, ticket, settings, now)
    announce(session, ticket, settings)
    return ticket
