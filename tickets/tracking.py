"""Keeping a ticket's SLA figures and escalation timer true after every change.

Services call ``track_ticket`` once they changed a ticket (created it, moved its status,
answered the customer, changed its priority...) and flushed its history: it recomputes
the SLA from the policy snapshot and the history (``tickets.sla.refresh_sla``), then
points ``next_escalation_at`` at the next ladder step not fired yet and arms its timer
after the commit (``tickets.escalation.rearm_escalation``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from callcenter.config import Settings
from tickets.calendar import load_calendar
from tickets.escalation import ladder_for, rearm_escalation
from tickets.models import Ticket
from tickets.sla import refresh_sla


def track_ticket(session: Session, ticket: Ticket, settings: Settings, *,
                 now: datetime, calendar=None):
    """Refresh the ticket's SLA columns and its escalation timer; returns the snapshot.

    ``calendar``: the working calendar when the caller has it already (a batch)."""
    if calendar is None:
        calendar = load_calendar(session, settings)
    snapshot = refresh_sla(session, ticket, calendar, now=now)
    rearm_escalation(session, ticket, snapshot, now=now, ladder=ladder_for(settings),
                     settings=settings)
    return snapshot
