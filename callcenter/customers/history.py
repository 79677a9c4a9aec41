"""Change history of customer data: who changed which field when, old and new value."""

from __future__ import annotations

import enum
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.customers.models import ChangeRecord


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


def customer_history(session: Session, customer_id: int, limit: int = 200) -> list[ChangeRecord]:
    return list(session.scalars(
        select(ChangeRecord).where(ChangeRecord.customer_id == customer_id)
        .order_by(ChangeRecord.changed_at.desc(), ChangeRecord.id.desc()).limit(limit)))
