"""A ticket's history: one row per change (who, when, field, old, new, note).

The history is the ticket's record: the SLA clock reads its ``status`` rows (time spent
pending), the escalation writes ``escalation_level`` rows, and the API lists it. Values
are stored as text: enums by their value, times in ISO 8601 with an offset, ids as digits.
What the system says about a change is a code with parameters (``system_note``), worded
where it is shown (``tickets.history_words``).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.db import utcnow
from callcenter.users.models import User
from tickets.models import TicketHistory

#: Codes of the system notes (their texts are in the catalogue, callcenter.core.messages).
CUSTOMERS_MERGED = "history.customers_merged"
ESCALATION = "ticket.escalation.{action}"        # action: warn, lead, up
RAISED_FROM_TICKET = "repair.history.from_ticket"
SETTLEMENT_FROZEN = "repair.history.settlement"
WARRANTY_RULE = "repair.rule.{outcome}"          # repairs.warranty.decide's outcome


def system_note(code: str, **params: Any) -> list[Any]:
    """A system note as a history row keeps it (JSON: ``[code, params]``)."""
    return [code, params]


def as_text(value: Any) -> str | None:
    """A value as the history keeps it."""
    if value is None:
        return None
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, set, frozenset)):
        return ",".join(str(v) for v in sorted(value))
    return str(value)


def record(session: Session, ticket_id: int, actor: User | None, field: str, old: Any,
           new: Any, *, note: str = "", system_note: list | None = None,
           at: datetime | None = None) -> TicketHistory:
    """Add one history row (flushed with the caller's unit of work). ``note``: a
    person's words; ``system_note``: the system's, as a code
    (``tickets.history_words.system_note``), never as a sentence."""
    row = TicketHistory(ticket_id=ticket_id, user_id=actor.id if actor else None,
                        changed_at=at or utcnow(), field=field, old_value=as_text(old),
                        new_value=as_text(new), note=note or "", system_note=system_note)
    session.add(row)
    return row


def record_changes(session: Session, ticket_id: int, actor: User | None,
                   changes: dict[str, tuple[Any, Any]], *, note: str = "",
                   at: datetime | None = None) -> None:
    """One row per changed field (``field -> (old, new)``), in a stable order."""
    for field in sorted(changes):
        old, new = changes[field]
        record(session, ticket_id, actor, field, old, new, note=note, at=at)


def ticket_history(session: Session, ticket_id: int) -> list[TicketHistory]:
    """Every row of the ticket's history, oldest first (ties: in the order written)."""
    return list(session.scalars(
        select(TicketHistory).where(TicketHistory.ticket_id == ticket_id)
        .order_by(TicketHistory.changed_at, TicketHistory.id)))
