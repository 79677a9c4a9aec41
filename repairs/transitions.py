"""Moving a repair order through its states.

    diagnosis → dispatched → repairing → inspection → settlement → closed
    inspection → repairing        (inspection failed: a note is required)
    any state before settlement → cancelled   (a reason, in ``note``, is required)

    dispatched, repairing → dispatched   (re-dispatch: another technician or time)

Who may: every move needs ``repair.write``, except closing a settled order, which is
after-sales finance's act and needs ``repair.settle`` alone (``move_permission``);
dispatching and re-dispatching ``repair.dispatch`` as well (and a ``technician_id``: an
active user with the technician role; a station and a scheduled time are optional); the
inspection's result (inspection → settlement: passed, inspection → repairing: failed)
``repair.inspect``. Entering settlement freezes the charges, bill-to and payer
(``repairs.settlement.freeze``). A re-dispatch keeps the parts issued and the findings
recorded; the job leaves the first technician's phone at its next sync.

Each move is a compare-and-swap on the version (``repair.stale_version``, 409) and the
caller holds the order's row lock (``repairs.queries.get_order(for_update=True)``), so of
parallel moves exactly one wins. A move the state machine refuses is a 422 with the
code ``repair.transition_refused``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from callcenter.config import Settings
from callcenter.core.errors import Problem, ValidationError
from callcenter.core.fields import as_id, text_problem
from callcenter.core.versions import check_version, claim
from callcenter.customers.services import require
from callcenter.db import utcnow
from callcenter.users.models import Role, User
from callcenter.users.permissions import Permission
from repairs import history, settlement
from repairs.models import InspectionResult, RepairOrder, RepairStatus, Station
from repairs.orders import LIMITS, STALE
from repairs.signals import repair_order_closed
from tickets.history import SETTLEMENT_FROZEN, system_note

S = RepairStatus
#: Allowed moves: from -> {to: the permission it needs besides repair.write}.
MOVES: dict[RepairStatus, dict[RepairStatus, Permission | None]] = {
    S.DIAGNOSIS: {S.DISPATCHED: Permission.REPAIR_DISPATCH, S.CANCELLED: None},
    S.DISPATCHED: {S.REPAIRING: None, S.DISPATCHED: Permission.REPAIR_DISPATCH,
                   S.CANCELLED: None},
    S.REPAIRING: {S.INSPECTION: None, S.DISPATCHED: Permission.REPAIR_DISPATCH,
                  S.CANCELLED: None},
    S.INSPECTION: {S.SETTLEMENT: Permission.REPAIR_INSPECT,
                   S.REPAIRING: Permission.REPAIR_INSPECT, S.CANCELLED: None},
    S.SETTLEMENT: {S.CLOSED: None},
    S.CLOSED: {},
    S.CANCELLED: {},
}


class TransitionRefused(ValidationError):
    """The state machine does not allow this move (422)."""

    code = "repair.transition_refused"


def can_move(old: RepairStatus, to: RepairStatus) -> bool:
    return to in MOVES.get(old, {})


def move_permission(to: Any) -> Permission:
    """What any move to ``to`` needs first (before the order is even looked up): closing
    is finance's (``repair.settle``), everything else is working the order."""
    return Permission.REPAIR_SETTLE if to == S.CLOSED.value else Permission.REPAIR_WRITE


def _technician(session: Session, technician_id: Any) -> User:
    uid = as_id(technician_id)
    user = session.get(User, uid) if uid is not None else None
    if user is None or not user.active or user.role != Role.TECHNICIAN:
        raise ValidationError({"technician_id": Problem("repair.technician_unknown",
                                                        {"id": str(technician_id)[:20]})})
    return user


def _station(session: Session, station_id: Any) -> Station:
    sid = as_id(station_id)
    station = session.get(Station, sid) if sid is not None else None
    if station is None or not station.active:
        raise ValidationError({"station_id": Problem("repair.station_unknown",
                                                     {"id": str(station_id)[:20]})})
    return station


def _only_when_dispatching(to: RepairStatus, **given: Any) -> None:
    for name, value in given.items():
        if value is not None and to != S.DISPATCHED:
            raise ValidationError({name: Problem("repair.only_when_dispatching")})


def move_order(session: Session, actor: User, order: RepairOrder, *, to: Any, version: int,
               technician_id: Any = None, station_id: Any = None,
               scheduled_at: datetime | None = None, note: Any = "",
               settings: Settings, now: datetime | None = None) -> RepairOrder:
    """Move ``order`` to ``to``; ``order`` is locked by the caller (get_order with
    ``for_update``). TransitionRefused, StaleVersion or ValidationError otherwise, with
    nothing changed."""
    require(actor, move_permission(to))
    now = now or utcnow()
    try:
        to = RepairStatus(to)
    except ValueError:
        raise ValidationError({"to": Problem("choice", {"choices": ", ".join(
            s.value for s in RepairStatus)})}) from None
    text, problem = text_problem(note if note is not None else "", LIMITS["note"],
                                 multiline=True)
    if problem is not None:
        raise ValidationError({"note": problem})
    _only_when_dispatching(to, technician_id=technician_id, station_id=station_id,
                           scheduled_at=scheduled_at)
    check_version(order, version, STALE)
    old = RepairStatus(order.status)
    if not can_move(old, to):
        raise TransitionRefused({"to": Problem("repair.transition_refused",
                                               {"from": old.value, "to": to.value})})
    needed = MOVES[old][to]
    if needed is not None:
        require(actor, needed)
    changes: dict[str, tuple[Any, Any]] = {}
    if to == S.DISPATCHED:
        if technician_id is None:
            raise ValidationError({"technician_id": Problem("required")})
        technician = _technician(session, technician_id)
        changes["technician_id"] = (order.technician_id, technician.id)
        if station_id is not None:
            changes["station_id"] = (order.station_id, _station(session, station_id).id)
        if scheduled_at is not None:
            if scheduled_at.tzinfo is None:
                scheduled_at = scheduled_at.replace(tzinfo=settings.locality.zone)
            changes["scheduled_at"] = (order.scheduled_at, scheduled_at)
    elif to == S.CANCELLED:
        if not text:
            raise ValidationError({"note": Problem("repair.reason_required")})
        changes["cancel_reason"] = (order.cancel_reason, text)
    elif old == S.INSPECTION and to in (S.SETTLEMENT, S.REPAIRING):
        failed = to == S.REPAIRING
        if failed and not text:
            raise ValidationError({"note": Problem("repair.note_required")})
        result = InspectionResult.FAIL if failed else InspectionResult.PASS
        changes["inspection_result"] = (order.inspection_result, result)
        changes["inspector_id"] = (order.inspector_id, actor.id)
        changes["inspection_note"] = (order.inspection_note, text)
    elif to == S.CLOSED:
        changes["closed_at"] = (order.closed_at, now)

    claim(session, order, version, STALE)
    order.status = to
    for field, (_old, new) in changes.items():
        setattr(order, field, new)
    order.updated_at = now
    history.record(session, order.id, actor, "status", old, to, note=text, at=now)
    history.record_changes(session, order.id, actor,
                           {k: v for k, v in changes.items() if v[0] != v[1]}, at=now)
    session.flush()
    if to == S.SETTLEMENT:
        frozen = settlement.freeze(session, order, settings, now=now)
        history.record(session, order.id, actor, "settlement", None, frozen.total,
                       system_note=system_note(
                           SETTLEMENT_FROZEN, payable_by_customer=str(frozen.payable_by_customer),
                           bill_to_id=frozen.bill_to_id, payer_id=frozen.payer_id), at=now)
        session.flush()
    if to == S.CLOSED:
        repair_order_closed.send(session, order=order, actor=actor)
    return order
