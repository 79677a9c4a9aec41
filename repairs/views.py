"""The office's repair-order pages: the list (my jobs, my stations', all I may see) and
an order's page. Thin shells: reading goes through ``repairs.queries`` (scope in SQL),
every change through the orders and stock services (``repairs.views_actions``). An
order outside the user's scope is "not found" (404)."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from callcenter.auth import permission_required
from callcenter.core.pagination import fetch_page
from callcenter.db import db_session
from callcenter.users.permissions import Permission
from callcenter.users.scopes import department_subtree_ids
from repairs import presenters as show
from repairs.models import RepairOrder, RepairStatus, Station
from repairs.queries import get_order, visible_orders
from repairs.sheet import issued_parts, order_number

repairs_bp = Blueprint("repairs", __name__, url_prefix="/repairs")

PER_PAGE = 25
VIEWS = {"mine": _l("My jobs"), "station": _l("My stations"), "all": _l("All I can see")}
OPEN = (RepairStatus.DIAGNOSIS, RepairStatus.DISPATCHED, RepairStatus.REPAIRING,
        RepairStatus.INSPECTION, RepairStatus.SETTLEMENT)


@repairs_bp.before_request
@login_required
def _require_login():
    """Every repair page needs a logged-in user."""


@repairs_bp.app_context_processor
def _labels() -> dict:
    return {"repair_status_labels": show.STATUS_LABELS,
            "repair_status_badges": show.STATUS_BADGES, "order_number": order_number}


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and 0 < int(value) < 2**31 else None


def orders_query(view: str, status: str | None, technician_id: int | None):
    stmt = select(RepairOrder).where(visible_orders(current_user))
    if view == "mine":
        stmt = stmt.where(RepairOrder.technician_id == current_user.id)
    elif view == "station":
        if current_user.department_id is None:
            stmt = stmt.where(RepairOrder.id.is_(None))
        else:
            stmt = stmt.where(RepairOrder.station_id.in_(
                select(Station.id).where(Station.department_id.in_(
                    department_subtree_ids(current_user.department_id)))))
    if status == "open":
        stmt = stmt.where(RepairOrder.status.in_(OPEN))
    elif status:
        stmt = stmt.where(RepairOrder.status == RepairStatus(status))
    if technician_id:
        stmt = stmt.where(RepairOrder.technician_id == technician_id)
    return stmt.order_by(RepairOrder.scheduled_at.is_(None), RepairOrder.scheduled_at,
                         RepairOrder.id.desc())


@repairs_bp.route("/")
@permission_required(Permission.REPAIR_READ)
def index():
    view = request.args.get("view", "mine")
    if view not in VIEWS:
        view = "mine"
    status = request.args.get("status", "open")
    if status not in {"open", ""} | {s.value for s in RepairStatus}:
        status = "open"
    technician_id = _int_arg("technician")
    dbs = db_session()
    result = fetch_page(dbs, orders_query(view, status or None, technician_id),
                        page=request.args.get("page", 1, type=int), per_page=PER_PAGE,
                        clamp=True)
    techs = dbs.scalars(select(RepairOrder.technician_id).distinct()
                        .where(visible_orders(current_user),
                               RepairOrder.technician_id.is_not(None))).all()
    items = result.items
    return render_template(
        "repairs/list.html", result=result, view=view, views=list(VIEWS.items()),
        status=status, technician_id=technician_id,
        technicians=sorted(show.user_names(dbs, set(techs)).items(), key=lambda kv: kv[1]),
        customer_names=show.customer_names(dbs, {o.customer_id for o in items}),
        user_names=show.user_names(dbs, {o.technician_id for o in items}),
        products=show.products(dbs, {o.product_id for o in items}),
        stations=show.station_names(dbs))


def detail_context(order_id: int) -> dict:
    """What the order's page shows (also under a refused or stale form)."""
    dbs = db_session()
    order = get_order(dbs, current_user, order_id)
    from flask import current_app

    from repairs.settlement import summary
    from repairs.views_actions import action_forms
    product = show.products(dbs, {order.product_id}).get(order.product_id)
    return {
        "order": order, "product": product,
        "customer_name": show.customer_names(dbs, {order.customer_id}).get(order.customer_id),
        "names": show.user_names(dbs, {order.technician_id, order.inspector_id,
                                       order.created_by_id,
                                       (order.warranty_basis or {}).get("overridden_by")}),
        "parts": issued_parts(dbs, order.id), "history": show.history(dbs, order, current_user),
        "charges": summary(dbs, order, current_app.config["SETTINGS"]),
        "rule_labels": show.RULE_LABELS, "warranty_labels": show.WARRANTY_LABELS,
        "repeat_of": (dbs.get(RepairOrder, order.repeat_of_id)
                      if order.repeat_of_id else None),
        **action_forms(dbs, order),
    }


@repairs_bp.route("/<int:order_id>")
@permission_required(Permission.REPAIR_READ)
def detail(order_id: int):
    return render_template("repairs/detail.html", **detail_context(order_id))
