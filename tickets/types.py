"""Ticket types: the four of the seeds (inquiry, complaint, suggestion, service request)
and those editors add. A type is named by its code (what the API, the SLA policies and
the reports use) and shown by its Chinese or English name. Types are never deleted:
tickets keep theirs; a type no longer wanted is deactivated, and new tickets can't take
it. The four built-in ones can be renamed, not deactivated.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from callcenter.core.errors import Conflict, NotFound, PermissionDenied, Problem, ValidationError
from callcenter.users.models import User
from callcenter.users.permissions import Permission, has_permission
from tickets.models import TicketType


class TicketTypeNotFound(NotFound):
    entity = "ticket_type"


def _require(actor: User) -> None:
    if not has_permission(actor.role, Permission.TICKET_TYPE_MANAGE):
        raise PermissionDenied(Permission.TICKET_TYPE_MANAGE.value, actor.role.value)


def list_types(session: Session, *, active_only: bool = False) -> list[TicketType]:
    """Every type, built-in ones first, then by code."""
    stmt = select(TicketType).order_by(TicketType.builtin.desc(), TicketType.code)
    if active_only:
        stmt = stmt.where(TicketType.active.is_(True))
    return list(session.scalars(stmt))


def get_type(session: Session, code: str) -> TicketType:
    found = session.scalar(select(TicketType).where(TicketType.code == code))
    if found is None:
        raise TicketTypeNotFound(code)
    return found


def type_label(row: TicketType, locale: str) -> str:
    """The name to show a user of ``locale`` (zh_CN or en)."""
    return row.name_zh if str(locale).startswith("zh") else row.name_en


def create_type(session: Session, actor: User, data: dict[str, Any]) -> TicketType:
    """A new active type (``data`` as ``TicketTypeCreate`` checked it)."""
    _require(actor)
    code = data["code"]
    if session.scalar(select(TicketType.id).where(TicketType.code == code)) is not None:
        raise ValidationError({"code": Problem("ticket.type_taken", {"code": code})})
    row = TicketType(code=code, name_zh=data["name_zh"].strip(),
                     name_en=data["name_en"].strip(), builtin=False, active=True)
    _check_names(row)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # another editor added the same code a moment ago
        raise Conflict("ticket.type_taken", code=code) from None
    return row


def update_type(session: Session, actor: User, code: str, data: dict[str, Any]) -> TicketType:
    """Rename a type or (not a built-in one) switch it on or off."""
    _require(actor)
    row = get_type(session, code)
    for field in ("name_zh", "name_en"):
        if field in data:
            setattr(row, field, data[field].strip())
    if "active" in data:
        if row.builtin and not data["active"]:
            raise ValidationError({"active": Problem("ticket.type_builtin")})
        row.active = bool(data["active"])
    _check_names(row)
    session.flush()
    return row


def _check_names(row: TicketType) -> None:
    errors = {field: Problem("required") for field in ("name_zh", "name_en")
              if not getattr(row, field)}
    if errors:
        raise ValidationError(errors)
