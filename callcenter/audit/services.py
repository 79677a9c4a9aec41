"""Writing and reading the audit log. Writers call ``record`` inside their own unit of
work (the row commits or rolls back with the access it records)."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from callcenter.audit.models import AuditEntry
from callcenter.core.fields import clean_printable
from callcenter.users.models import User

#: The actions written today, with their wording on the admin page (callcenter.audit.views).
ACTIONS = ("customer.viewed_via_call", "call.wrapped_up_via_call",
           "customer.popped_via_call", "agent.monitored")


def record(session: Session, user: User, action: str, *, entity: str,
           entity_id: int | None, call_id: str | None = None,
           detail: str = "") -> AuditEntry:
    """Add one audit row (flushed, not committed)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    entry = AuditEntry(user_id=user.id, action=action, entity=entity, entity_id=entity_id,
                       call_id=clean_printable(call_id, 64) or None if call_id else None,
                       detail=clean_printable(detail, 500))
    session.add(entry)
    session.flush()
    return entry


def complete(session: Session, entry_id: int, *, detail: str,
             call_id: str | None = None) -> None:
    """Say how an audited action went, on the row written before it was tried (flushed)."""
    entry = session.get(AuditEntry, entry_id)
    if entry is None:
        raise ValueError(f"no audit entry {entry_id}")
    entry.detail = clean_printable(detail, 500)
    if call_id:
        entry.call_id = clean_printable(call_id, 64) or None
    session.flush()


def audit_query(*, user_id: int | None = None, entity: str | None = None,
                entity_id: int | None = None) -> Select[tuple[AuditEntry]]:
    """The log, newest first, optionally for one user or one record."""
    stmt = select(AuditEntry).options(selectinload(AuditEntry.user))
    if user_id is not None:
        stmt = stmt.where(AuditEntry.user_id == user_id)
    if entity is not None:
        stmt = stmt.where(AuditEntry.entity == entity)
    if entity_id is not None:
        stmt = stmt.where(AuditEntry.entity_id == entity_id)
    return stmt.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
