"""Change history of customer data: who changed which field when, old and new value."""

from __future__ import annotations

import enum
import json
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from callcenter.customers.models import ChangeRecord, Customer


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def record_changes(session: Session, customer_id: int, actor, entity: str,
                   entity_id: int | None, changes: dict[str, tuple[Any, Any]]) -> None:
    """Store one ChangeRecord per changed field. ``changes`` maps field -> (old, new)."""
    user_id = getattr(actor, "id", None)
    for field, (old, new) in changes.items():
        session.add(ChangeRecord(customer_id=customer_id, user_id=user_id, entity=entity,
                                 entity_id=entity_id, field=field,
                                 old_value=_as_text(old), new_value=_as_text(new)))


def history_query(customer_id: int) -> Select[tuple[ChangeRecord]]:
    """SELECT of the customer's changes, newest first. Includes the history of records
    merged into this one (their rows keep the merged record's id in ``customer_id``, see
    customers/merge.py). The caller checks scope."""
    merged = select(Customer.id).where(Customer.merged_into_id == customer_id)
    return (select(ChangeRecord).where(or_(ChangeRecord.customer_id == customer_id,
                                           ChangeRecord.customer_id.in_(merged)))
            .order_by(ChangeRecord.changed_at.desc(), ChangeRecord.id.desc()))


def customer_history(session: Session, customer_id: int, limit: int = 200) -> list[ChangeRecord]:
    """Newest first; see ``history_query``."""
    return list(session.scalars(history_query(customer_id).limit(limit)))
