"""A repair order's history: one row per change (who, when, field, old, new, note), as
``tickets.history`` keeps a ticket's. Values are stored as text the same way (enums by
value, dates ISO 8601, ids as digits); events that are no column (``created``,
``part_issued``, ``warranty_override``) are rows too. What the system says about a change
(a settlement's figures) is a code with parameters (``system_note``), worded where it is
shown (``tickets.history_words``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.db import utcnow
from callcenter.users.models import User
from repairs.models import RepairOrderHistory
from tickets.history import as_text


def record(session: Session, order_id: int, actor: User | None, field: str, old: Any,
           new: Any, *, note: str = "", system_note: list | None = None,
           at: datetime | None = None) -> RepairOrderHistory:
    """Add one history row (flushed with the caller's unit of work). ``note``: a
    person's words; ``system_note``: the system's, as a code
    (``tickets.history_words.system_note``), never as a sentence."""
    row = RepairOrderHistory(order_id=order_id, user_id=actor.id if actor else None,
                             changed_at=at or utcnow(), field=field, old_value=as_text(old),
                             new_value=as_text(new), note=note or "",
                             system_note=system_note)
    session.add(row)
    return row


def record_changes(session: Session, order_id: int, actor: User | None,
                   changes: dict[str, tuple[Any, Any]], *, note: str = "",
                   at: datetime | None = None) -> None:
    """One row per changed field (``field -> (old, new)``), in a stable order."""
    for field in sorted(changes):
        old, new = changes[field]
        record(session, order_id, actor, field, old, new, note=note, at=at)


def order_history(session: Session, order_id: int) -> list[RepairOrderHistory]:
    """Every row of the order's history, oldest first (ties: in the order written)."""
    return list(session.scalars(
        select(RepairOrderHistory).where(RepairOrderHistory.order_id == order_id)
        .order_by(RepairOrderHistory.changed_at, RepairOrderHistory.id)))
