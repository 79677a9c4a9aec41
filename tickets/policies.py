"""SLA policies: which targets a new ticket gets, and the calendar's admin overrides.

Choosing a policy: among the *active* policies whose every non-NULL field matches the
ticket (type, priority, customer tier; NULL matches anything), the most specific one
wins (the most non-NULL fields), ties going to the newest (``created_at``, then id).
Its targets are copied onto the ticket when it is created (``apply_policy``), so a
policy made or changed later applies to tickets created after it and to no other.

When no policy matches, the defaults below apply (``DEFAULT_TARGETS``; business
calendar, 480 business minutes = one working day with the default service hours):

=================  ================  =============================================
type               first response    resolution
=================  ================  =============================================
inquiry 咨询        10 min            480 min (one working day)
complaint 投诉      30 min            240 min (half a working day)
service_request     60 min            1440 min (three working days)
suggestion 建议     480 min           2400 min (five working days)
any other type      60 min            1440 min (as a service request)
=================  ================  =============================================

The domain's own numbers (domain.md §3) are the inquiry's 10 minutes and the
complaint's half working day; the rest are ours. The defaults depend on the type only:
faster targets for urgent tickets or VIP customers are what policies are for (and
escalation raises a late ticket's priority anyway).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from callcenter.core.errors import NotFound, PermissionDenied, Problem, ValidationError
from callcenter.core.fields import MISSING, as_id, clean_choice, clean_date, clean_text
from callcenter.customers.models import Tier
from callcenter.users.models import User
from callcenter.users.permissions import Permission, has_permission
from tickets.models import (
    CalendarDay,
    Priority,
    SlaCalendar,
    SlaPolicy,
    Ticket,
    TicketType,
)
from tickets.schemas_policies import DAY_LIMITS, MAX_TARGET_MINUTES, POLICY_LIMITS


@dataclass(frozen=True)
class Targets:
    first_response_minutes: int
    resolution_minutes: int
    calendar: SlaCalendar = SlaCalendar.BUSINESS


DEFAULT_TARGETS: dict[str, Targets] = {
    "inquiry": Targets(10, 480),
    "complaint": Targets(30, 240),
    "service_request": Targets(60, 1440),
    "suggestion": Targets(480, 2400),
}
#: For a type editors added and no policy names.
FALLBACK_TARGETS = Targets(60, 1440)


class CalendarDayNotFound(NotFound):
    entity = "calendar_day"


def _value(x: Any) -> str | None:
    return None if x is None else str(getattr(x, "value", x))


def _require(actor: User) -> None:
    if not has_permission(actor.role, Permission.SLA_MANAGE):
        raise PermissionDenied(Permission.SLA_MANAGE.value, actor.role.value)


# --- choosing ------------------------------------------------------------------------

def select_policy(session: Session, ticket_type: str, priority: Priority | str | None,
                  tier: Tier | str | None) -> SlaPolicy | None:
    """The most specific active policy for (type, priority, tier), ties to the newest."""
    wanted = (_value(ticket_type), _value(priority), _value(tier))
    best: tuple[tuple, SlaPolicy] | None = None
    for policy in session.scalars(select(SlaPolicy).where(SlaPolicy.active.is_(True))):
        fields = (policy.ticket_type, policy.priority, policy.customer_tier)
        if any(f is not None and f != w for f, w in zip(fields, wanted, strict=True)):
            continue
        specificity = sum(f is not None for f in fields)
        rank = (specificity, policy.created_at, policy.id)
        if best is None or rank > best[0]:
            best = (rank, policy)
    return best[1] if best else None


def default_targets(ticket_type: str) -> Targets:
    return DEFAULT_TARGETS.get(_value(ticket_type) or "", FALLBACK_TARGETS)


def apply_policy(session: Session, ticket: Ticket, tier: Tier | str | None
                 ) -> SlaPolicy | None:
    """Copy the targets of the policy for the new ``ticket`` (or the defaults) onto it.

    ``ticket.type_code`` and ``ticket.priority`` must be set; ``tier``: the customer's.
    Returns the policy, None when the defaults applied.
    """
    policy = select_policy(session, ticket.type_code, ticket.priority, tier)
    if policy is not None:
        targets = Targets(policy.first_response_minutes, policy.resolution_minutes,
                          SlaCalendar(policy.calendar))
    else:
        targets = default_targets(ticket.type_code)
    ticket.sla_policy_id = policy.id if policy is not None else None
    ticket.sla_calendar = targets.calendar
    ticket.first_response_minutes = targets.first_response_minutes
    ticket.resolution_minutes = targets.resolution_minutes
    return policy


# --- managing policies ---------------------------------------------------------------

def _minutes(data: dict[str, Any], field: str, errors: dict[str, Problem]) -> int | None:
    value = data.get(field)
    if value is None:
        errors[field] = Problem("required")
    elif isinstance(value, bool) or not isinstance(value, int) \
            or not 1 <= value <= MAX_TARGET_MINUTES:
        errors[field] = Problem("whole_number", {"min": 1, "max": MAX_TARGET_MINUTES})
    else:
        return value
    return None


def _clean_policy(session: Session, data: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationError({"data": Problem("not_object")})
    errors: dict[str, Problem] = {}
    out: dict[str, Any] = {"name": clean_text(data, "name", POLICY_LIMITS["name"], errors,
                                              required=True)}
    type_code = clean_text(data, "ticket_type", POLICY_LIMITS["ticket_type"], errors)
    if type_code is MISSING or type_code == "":
        out["ticket_type"] = None
    elif "ticket_type" not in errors:
        if session.scalar(select(TicketType.id).where(TicketType.code == type_code,
                                                      TicketType.active.is_(True))) is None:
            errors["ticket_type"] = Problem("sla.unknown_ticket_type", {"code": type_code})
        out["ticket_type"] = type_code
    for field, choices in (("priority", Priority), ("customer_tier", Tier)):
        value = clean_choice(data, field, choices, errors)
        out[field] = None if value is MISSING or value is None else value.value
    calendar = clean_choice(data, "calendar", SlaCalendar, errors)
    out["calendar"] = SlaCalendar.BUSINESS if calendar is MISSING else calendar
    for field in ("first_response_minutes", "resolution_minutes"):
        out[field] = _minutes(data, field, errors)
    if not errors and out["first_response_minutes"] > out["resolution_minutes"]:
        errors["first_response_minutes"] = Problem("sla.first_response_after_resolution")
    if errors:
        raise ValidationError(errors)
    return out


def create_policy(session: Session, actor: User, data: dict[str, Any], *,
                  now: datetime | None = None) -> SlaPolicy:
    """A new active policy (admins and supervisors). It applies to tickets created from
    now on; tickets already open keep the targets they were created with."""
    _require(actor)
    values = _clean_policy(session, data)
    policy = SlaPolicy(**values, active=True, created_by_id=actor.id)
    if now is not None:
        policy.created_at = now
    session.add(policy)
    session.flush()
    return policy


def list_policies(session: Session) -> list[SlaPolicy]:
    """Every policy, newest first (active or not)."""
    return list(session.scalars(select(SlaPolicy).order_by(SlaPolicy.created_at.desc(),
                                                           SlaPolicy.id.desc())))


# --- calendar overrides ---------------------------------------------------------------

def create_calendar_day(session: Session, actor: User, data: dict[str, Any]) -> CalendarDay:
    """Set a date apart from the Chinese calendar: a company day off or an extra working
    day. One row per date (another for the same date is refused: delete it first)."""
    _require(actor)
    if not isinstance(data, dict):
        raise ValidationError({"data": Problem("not_object")})
    errors: dict[str, Problem] = {}
    day = clean_date(data, "day", errors)
    if day is MISSING or (day is None and "day" not in errors):
        errors["day"] = Problem("required")
    workday = data.get("is_workday")
    if not isinstance(workday, bool):
        errors["is_workday"] = Problem("required" if workday is None else "not_boolean")
    name = clean_text(data, "name", DAY_LIMITS["name"], errors)
    if not errors and session.scalar(select(CalendarDay.id).where(CalendarDay.day == day)):
        errors["day"] = Problem("sla.calendar_day_taken", {"day": day.isoformat()})
    if errors:
        raise ValidationError(errors)
    row = CalendarDay(day=day, is_workday=workday, name="" if name is MISSING else name)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError as exc:  # a concurrent request took the date first
        raise ValidationError({"day": Problem("sla.calendar_day_taken",
                                              {"day": day.isoformat()})}) from exc
    return row


def list_calendar_days(session: Session, *, year: int | None = None) -> list[CalendarDay]:
    stmt = select(CalendarDay).order_by(CalendarDay.day)
    if year is not None:
        stmt = stmt.where(CalendarDay.day >= date(year, 1, 1),
                          CalendarDay.day <= date(year, 12, 31))
    return list(session.scalars(stmt))


def delete_calendar_day(session: Session, actor: User, day_id: int | str) -> None:
    _require(actor)
    row_id = as_id(day_id)
    row = session.get(CalendarDay, row_id) if row_id is not None else None
    if row is None:
        raise CalendarDayNotFound(day_id)
    session.delete(row)
    session.flush()
