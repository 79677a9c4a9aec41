"""The stations' pages for supervisors and after-sales finance: the stations, a
station's stock (low stock marked) with its movement history, and the form for goods
in, transfers and adjustments. Thin shells over ``repairs.stock``; every rule (never
below zero, a reason for an adjustment, permissions) is the service's."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from callcenter.auth import permission_required
from callcenter.core.errors import AppError, ValidationError
from callcenter.core.messages import describe, error_message
from callcenter.core.pagination import fetch_page
from callcenter.db import db_session
from callcenter.users.models import Department, User
from callcenter.users.permissions import Permission, has_permission
from repairs.models import MovementKind, Part, Station, StationStock
from repairs.stock import adjust, receive, set_low_threshold, transfer
from repairs.stock_reads import movements_query, station_stock
from repairs.views import repairs_bp

REJECTED = 422
MOVE_KINDS = {"receipt": _l("Goods in"), "transfer": _l("Transfer to another station"),
              "adjustment": _l("Adjustment (a count that differed)")}
KIND_LABELS = {MovementKind.RECEIPT: _l("Goods in"), MovementKind.ISSUE: _l("Issued to order"),
               MovementKind.RETURN: _l("Returned from order"),
               MovementKind.TRANSFER_OUT: _l("Transferred out"),
               MovementKind.TRANSFER_IN: _l("Transferred in"),
               MovementKind.ADJUSTMENT: _l("Adjustment")}


def _stock_reader():
    if not (has_permission(current_user.role, Permission.STOCK_READ)
            or has_permission(current_user.role, Permission.STATION_MANAGE)):
        abort(403)


@repairs_bp.route("/stations/")
def stations():
    _stock_reader()
    dbs = db_session()
    rows = dbs.scalars(select(Station).order_by(Station.active.desc(), Station.name)).all()
    low = dict(dbs.execute(
        select(StationStock.station_id, func.count())
        .where(StationStock.low_threshold > 0,
               StationStock.quantity < StationStock.low_threshold)
        .group_by(StationStock.station_id)).all())
    departments = dict(dbs.execute(select(Department.id, Department.name)).all())
    return render_template("repairs/stations.html", stations=rows, low=low,
                           departments=departments)


def _int(name: str) -> int | None:
    value = (request.form.get(name) or request.args.get(name) or "").strip()
    return int(value) if value.lstrip("-").isdigit() and abs(int(value)) < 2**31 else None


def _station_or_404(station_id: int) -> Station:
    station = db_session().get(Station, station_id)
    if station is None:
        abort(404)
    return station


def _stock_page(station: Station, *, status: int = 200, problem: str | None = None,
                errors: dict | None = None, values: dict | None = None):
    dbs = db_session()
    result = fetch_page(dbs, movements_query(station.id, part_id=_int("part")),
                        page=request.args.get("page", 1, type=int), per_page=30, clamp=True)
    moves = result.items
    parts = {p.id: p for p in dbs.scalars(select(Part).order_by(Part.sku))}
    names = dict(dbs.execute(select(User.id, func.coalesce(User.display_name, User.username))
                             .where(User.id.in_({m.actor_id for m in moves if m.actor_id})))
                 .all())
    all_stations = dbs.scalars(select(Station).where(Station.active.is_(True))
                               .order_by(Station.name)).all()
    return render_template(
        "repairs/station_stock.html", station=station, lines=station_stock(dbs, station.id),
        result=result, parts=parts, names=names, stations=all_stations,
        station_names={s.id: s.name for s in all_stations}, kind_labels=KIND_LABELS,
        move_kinds=MOVE_KINDS, problem=problem, errors=errors or {}, values=values or {},
        can_move=has_permission(current_user.role, Permission.STOCK_MOVE)), status


@repairs_bp.route("/stations/<int:station_id>/stock")
def station_stock_page(station_id: int):
    _stock_reader()
    return _stock_page(_station_or_404(station_id))


@repairs_bp.route("/stations/<int:station_id>/movements", methods=["POST"])
@permission_required(Permission.STOCK_MOVE)
def station_movement(station_id: int):
    station = _station_or_404(station_id)
    dbs = db_session()
    kind = request.form.get("kind", "")
    part_id, quantity = _int("part_id"), _int("quantity")
    reason = (request.form.get("reason") or "").strip()
    values = {"kind": kind, "part_id": part_id, "quantity": request.form.get("quantity", ""),
              "reason": reason, "to_station_id": _int("to_station_id")}
    settings = current_app.config["SETTINGS"]
    try:
        if kind == "receipt":
            receive(dbs, current_user, station_id=station.id, part_id=part_id,
                    quantity=quantity, reason=reason)
        elif kind == "adjustment":
            adjust(dbs, current_user, station_id=station.id, part_id=part_id,
                   quantity=quantity, reason=reason, settings=settings)
        elif kind == "transfer":
            transfer(dbs, current_user, from_station_id=station.id,
                     to_station_id=values["to_station_id"], part_id=part_id,
                     quantity=quantity, reason=reason, settings=settings)
        else:
            raise ValidationError({"kind": _problem("required")})
    except ValidationError as exc:
        dbs.rollback()
        return _stock_page(station, status=REJECTED, values=values,
                           errors={k: describe(p) for k, p in exc.errors.items()},
                           problem=error_message(exc))
    except AppError as exc:
        dbs.rollback()
        return _stock_page(station, status=409 if exc.status == 409 else REJECTED,
                           values=values, problem=error_message(exc))
    flash(_("Stock movement saved."), "success")
    return redirect(url_for("repairs.station_stock_page", station_id=station.id))


@repairs_bp.route("/stations/<int:station_id>/thresholds", methods=["POST"])
@permission_required(Permission.STOCK_MOVE)
def station_threshold(station_id: int):
    station = _station_or_404(station_id)
    dbs = db_session()
    try:
        set_low_threshold(dbs, current_user, station_id=station.id,
                          part_id=_int("part_id"), low_threshold=_int("low_threshold"))
    except AppError as exc:
        dbs.rollback()
        return _stock_page(station, status=REJECTED, problem=error_message(exc))
    flash(_("Low-stock threshold saved."), "success")
    return redirect(url_for("repairs.station_stock_page", station_id=station.id))


def _problem(code: str):
    from callcenter.core.errors import Problem
    return Problem(code)
