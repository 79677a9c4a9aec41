"""Tickets as JSON-ready dicts (the REST API, the desk, the caller card).

Times are ISO 8601 with the call center's offset (``+08:00``), never a bare ``Z``
or a naive time. The shapes are described in ``tickets.schemas``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.users.models import User
from tickets import schemas
from tickets.models import (
    SlaState,
    Ticket,
    TicketAttachment,
    TicketComment,
    TicketHistory,
    TicketLink,
    ticket_calls,
)


def local(value: datetime | None, tz: ZoneInfo) -> datetime | None:
    return value.astimezone(tz) if value is not None else None


def ticket_to_dict(session: Session, ticket: Ticket, tz: ZoneInfo) -> dict[str, Any]:
    call_ids = sorted(session.scalars(select(ticket_calls.c.call_id)
                                      .where(ticket_calls.c.ticket_id == ticket.id)))
    return schemas.Ticket(
        id=ticket.id, type=ticket.type_code, subject=ticket.subject,
        description=ticket.description or "", resolution=ticket.resolution or "",
        status=ticket.status, priority=ticket.priority, channel=ticket.channel,
        version=ticket.version, escalation_level=ticket.escalation_level or 0,
        customer_id=ticket.customer_id, contact_id=ticket.contact_id,
        installed_product_id=ticket.installed_product_id, creator_id=ticket.creator_id,
        assignee_id=ticket.assignee_id, department_id=ticket.department_id,
        merged_into_id=ticket.merged_into_id,
        related_user_ids=sorted(u.id for u in ticket.related_users), call_ids=call_ids,
        created_at=local(ticket.created_at, tz), updated_at=local(ticket.updated_at, tz),
        first_response_at=local(ticket.first_response_at, tz),
        resolved_at=local(ticket.resolved_at, tz), closed_at=local(ticket.closed_at, tz),
        sla=schemas.Sla(first_response_due_at=local(ticket.first_response_due_at, tz),
                        resolution_due_at=local(ticket.resolution_due_at, tz),
                        state=ticket.sla_state or SlaState.ON_TRACK),
    ).model_dump(mode="json")


def open_ticket_summary(ticket: Ticket, tz: ZoneInfo) -> dict[str, Any]:
    """What a caller card shows of an open ticket (calls.signals.open_tickets_asked)."""
    return {"id": ticket.id, "subject": ticket.subject, "type": ticket.type_code,
            "status": ticket.status.value, "priority": ticket.priority.value,
            "sla_state": (ticket.sla_state or SlaState.ON_TRACK).value,
            "created_at": local(ticket.created_at, tz).isoformat()}


def history_to_dicts(session: Session, rows: list[TicketHistory], tz: ZoneInfo,
                     display: Mapping[int, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """History rows (a ticket's or a repair order's) as the API gives them; ``display``:
    each row's words by its id (``tickets.presenters.history_row_words``,
    ``repairs.presenters.history_in_words``)."""
    ids = {r.user_id for r in rows if r.user_id is not None}
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))} \
        if ids else {}
    out = []
    for row in rows:
        user = users.get(row.user_id)
        out.append(schemas.HistoryItem(
            id=row.id, field=row.field, old_value=row.old_value, new_value=row.new_value,
            changed_at=local(row.changed_at, tz), note=row.note or "",
            system_note=_system_note(row),
            display={key: display[row.id][key]
                     for key in ("who", "what", "old", "new", "system_note")},
            user=schemas.UserRef(id=user.id, username=user.username,
                                 display_name=user.display_name or "") if user else None,
        ).model_dump(mode="json"))
    return out


def _system_note(row: TicketHistory) -> schemas.SystemNote | None:
    from tickets.history_words import row_note

    kept = row_note(row)
    return schemas.SystemNote(code=kept[0], params=kept[1]) if kept is not None else None


def comment_to_dict(comment: TicketComment, tz: ZoneInfo) -> dict[str, Any]:
    return schemas.Comment(id=comment.id, ticket_id=comment.ticket_id,
                           author_id=comment.author_id, body=comment.body,
                           internal=comment.internal,
                           created_at=local(comment.created_at, tz)).model_dump(mode="json")


def attachment_to_dict(row: TicketAttachment, tz: ZoneInfo, url: str) -> dict[str, Any]:
    return schemas.Attachment(id=row.id, ticket_id=row.ticket_id, filename=row.filename,
                              content_type=row.content_type, size=row.size,
                              sha256=row.sha256, uploaded_by_id=row.uploaded_by_id,
                              created_at=local(row.created_at, tz),
                              url=url).model_dump(mode="json")


def link_to_dict(link: TicketLink, tz: ZoneInfo) -> dict[str, Any]:
    return schemas.TicketLinkOut(id=link.id, ticket_id=link.ticket_id, other_id=link.other_id,
                                 kind=link.kind, created_at=local(link.created_at, tz)
                                 ).model_dump(mode="json")
