"""The forms on an order's page and what posting them does: each a thin shell over the
orders and stock services (``repairs.transitions.move_order``, ``repairs.orders.
record_work``, ``repairs.warranty.override_warranty``, ``repairs.stock.issue_to_order``).

Every form carries the version it was rendered from; a stale one re-renders the order
as it is now with "changed meanwhile" (409) instead of overwriting. A refused move or
bad input is the order's page with the service's words (422); too few parts at the
station is a 409 with the quantity available. Errors roll the unit of work back first,
so nothing half-done is committed with the page."""

from __future__ import annotations

from datetime import datetime

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.auth import permission_required
from callcenter.core.errors import AppError, StaleVersion, ValidationError
from callcenter.core.messages import describe, error_message
from callcenter.db import db_session
from callcenter.users.models import Role, User
from callcenter.users.permissions import Permission, has_permission
from kb.codes import describe_codes
from repairs.models import Part, RepairOrder, RepairStatus, Station
from repairs.presenters import TRANSITION_LABELS
from repairs.queries import get_order
from repairs.views import detail_context, repairs_bp

S = RepairStatus
REJECTED = 422
#: Moves that are a plain button (dispatch, inspection and cancel have their own forms).
PLAIN = {(S.DISPATCHED, S.REPAIRING), (S.REPAIRING, S.INSPECTION), (S.SETTLEMENT, S.CLOSED)}


def _may(permission: Permission | None) -> bool:
    return permission is None or has_permission(current_user.role, permission)


def action_forms(session: Session, order: RepairOrder) -> dict:
    """What the order's page offers the current user, from the state machine and the
    user's permissions (the services check again)."""
    from repairs.transitions import MOVES, move_permission
    status = S(order.status)
    moves = {to: need for to, need in MOVES.get(status, {}).items()
             if _may(move_permission(to.value)) and _may(need)}
    actions: dict = {"plain": [(to.value, str(TRANSITION_LABELS[to])) for to in moves
                               if (status, to) in PLAIN]}
    if not has_permission(current_user.role, Permission.REPAIR_WRITE):
        # Finance: closing a settled order is all it does here.
        return {"actions": {name: form for name, form in actions.items() if form}}
    if S.DISPATCHED in moves:
        actions["dispatch"] = {
            "technicians": session.execute(
                select(User.id, User.display_name, User.username)
                .where(User.role == Role.TECHNICIAN, User.active.is_(True))
                .order_by(User.display_name, User.username)).all(),
            "stations": session.execute(select(Station.id, Station.name)
                                        .where(Station.active.is_(True))
                                        .order_by(Station.name)).all()}
    if status == S.INSPECTION and (S.SETTLEMENT in moves or S.REPAIRING in moves):
        actions["inspect"] = True
    if S.CANCELLED in moves:
        actions["cancel"] = True
    open_ = status not in (S.SETTLEMENT, S.CLOSED, S.CANCELLED)
    if open_:
        # The defect library's codes to choose from (kb.codes); free text stays possible.
        actions["work"] = {"codes": list(describe_codes(session).values())}
        if has_permission(current_user.role, Permission.WARRANTY_OVERRIDE):
            actions["warranty"] = True
        actions["issue"] = {
            "stations": session.execute(select(Station.id, Station.name)
                                        .where(Station.active.is_(True))
                                        .order_by(Station.name)).all(),
            "parts": session.execute(select(Part.id, Part.sku, Part.name)
                                     .where(Part.active.is_(True))
                                     .order_by(Part.sku)).all()}
    return {"actions": {name: form for name, form in actions.items() if form}}


def _version() -> int:
    raw = request.form.get("version", "")
    return int(raw) if raw.isdigit() and int(raw) < 2**31 else 0


def _page(order_id: int, status: int, **extra):
    return render_template("repairs/detail.html", **detail_context(order_id), **extra), status


def _run(order_id: int, do, done: str, anchor: str = ""):
    """Lock the order, run ``do(order)``, and answer with the page or a redirect."""
    dbs = db_session()
    order = get_order(dbs, current_user, order_id, for_update=True)
    try:
        do(dbs, order)
    except StaleVersion:
        dbs.rollback()
        return _page(order_id, 409, stale=True)
    except ValidationError as exc:
        dbs.rollback()
        words = " ".join(describe(p) for p in exc.errors.values()) or error_message(exc)
        return _page(order_id, REJECTED, problem=words)
    except AppError as exc:
        dbs.rollback()
        if exc.status == 404:
            raise
        return _page(order_id, 409 if exc.status == 409 else REJECTED,
                     problem=error_message(exc))
    flash(done, "success")
    return redirect(url_for("repairs.detail", order_id=order_id, _anchor=anchor))


def _settings():
    return current_app.config["SETTINGS"]


def _local_time(raw: str) -> datetime | None:
    """``<input type=datetime-local>``: the call center's wall-clock time."""
    try:
        return datetime.fromisoformat(raw) if raw else None
    except ValueError:
        raise ValidationError({"scheduled_at": _problem("invalid_datetime")}) from None


def _problem(code: str):
    from callcenter.core.errors import Problem
    return Problem(code)


@repairs_bp.route("/<int:order_id>/move", methods=["POST"])
@permission_required(Permission.REPAIR_READ)
def move(order_id: int):
    from repairs.transitions import move_order, move_permission
    to = request.form.get("to", "")
    if not has_permission(current_user.role, move_permission(to)):
        abort(403)
    form = request.form

    def do(dbs, order):
        extra = {}
        if to == S.DISPATCHED.value:
            extra = {"technician_id": int(form["technician_id"])
                     if form.get("technician_id", "").isdigit() else None,
                     "station_id": int(form["station_id"])
                     if form.get("station_id", "").isdigit() else None,
                     "scheduled_at": _local_time(form.get("scheduled_at", ""))}
        move_order(dbs, current_user, order, to=to, version=_version(),
                   note=(form.get("note") or "").strip(), settings=_settings(), **extra)
    label = TRANSITION_LABELS.get(S(to)) if to in S._value2member_map_ else None
    return _run(order_id, do, _("Done: %(what)s.", what=label or to))


@repairs_bp.route("/<int:order_id>/work", methods=["POST"])
@permission_required(Permission.REPAIR_WRITE)
def work(order_id: int):
    from repairs.orders import record_work
    form = request.form

    def do(dbs, order):
        record_work(dbs, current_user, order, version=_version(),
                    diagnosis=form.get("diagnosis"), findings=form.get("findings"),
                    defect_code=(form.get("defect_code") or "").strip() or None,
                    service_type=(form.get("service_type") or "").strip() or None,
                    labour_hours=(form.get("labour_hours") or "").strip() or None)
    return _run(order_id, do, _("Diagnosis and findings saved."))


@repairs_bp.route("/<int:order_id>/warranty", methods=["POST"])
@permission_required(Permission.WARRANTY_OVERRIDE)
def warranty(order_id: int):
    from repairs.warranty import override_warranty
    choice = request.form.get("in_warranty", "")

    def do(dbs, order):
        if choice not in ("1", "0"):
            raise ValidationError({"in_warranty": _problem("required")})
        override_warranty(dbs, current_user, order, in_warranty=choice == "1",
                          reason=(request.form.get("reason") or "").strip(),
                          version=_version())
    return _run(order_id, do, _("Warranty decision overridden."))


@repairs_bp.route("/<int:order_id>/parts", methods=["POST"])
@permission_required(Permission.REPAIR_WRITE)
def issue_part(order_id: int):
    from repairs.stock import issue_to_order
    form = request.form

    def number(name: str) -> int | None:
        raw = (form.get(name) or "").strip()
        return int(raw) if raw.isdigit() and int(raw) < 2**31 else None

    def do(dbs, order):
        issue_to_order(dbs, current_user, order, station_id=number("station_id"),
                       part_id=number("part_id"), quantity=number("quantity"),
                       settings=_settings())
    return _run(order_id, do, _("Part issued to the order."), anchor="parts-title")
