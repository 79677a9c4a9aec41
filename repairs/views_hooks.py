"""Where the repairs show on other domains' pages, through template hooks (an
``{% include ... ignore missing %}`` in their templates and a template global here, so
those templates need nothing else): the repair orders of a ticket with "Raise a repair
order", and a customer's products' repair history with the repeat-repair flag. Also the
raise form itself (``/repairs/new?ticket_id=``), a thin shell over
``repairs.orders.raise_repair_order``."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from callcenter.auth import permission_required
from callcenter.core.errors import AppError, NotFound, ValidationError
from callcenter.core.messages import describe, error_message
from callcenter.db import db_session
from callcenter.products.models import InstalledProduct
from callcenter.users.permissions import Permission, has_permission
from repairs.models import RepairOrder
from repairs.queries import visible_orders
from repairs.views import repairs_bp
from tickets.queries import get_ticket

REJECTED = 422


def _products_of(ticket) -> list[InstalledProduct]:
    """The ticket's product first, then the customer's other products."""
    rows = db_session().scalars(select(InstalledProduct)
                                .where(InstalledProduct.customer_id == ticket.customer_id)
                                .order_by(InstalledProduct.model, InstalledProduct.id)).all()
    if ticket.installed_product_id and all(p.id != ticket.installed_product_id for p in rows):
        own = db_session().get(InstalledProduct, ticket.installed_product_id)
        rows = [own, *rows] if own else rows
    return sorted(rows, key=lambda p: p.id != ticket.installed_product_id)


@repairs_bp.app_template_global()
def ticket_repairs(ticket) -> dict[str, Any]:
    """For the ticket's page: its repair orders the user may see, and whether (and for
    which products) the user may raise one."""
    if not (current_user.is_authenticated
            and has_permission(current_user.role, Permission.REPAIR_READ)):
        return {"show": False}
    orders = db_session().scalars(select(RepairOrder).where(
        RepairOrder.ticket_id == ticket.id, visible_orders(current_user))
        .order_by(RepairOrder.id)).all()
    can_raise = (has_permission(current_user.role, Permission.REPAIR_WRITE)
                 and ticket.status.value != "closed" and bool(_products_of(ticket)))
    return {"show": bool(orders) or can_raise, "orders": orders, "can_raise": can_raise}


@repairs_bp.app_template_global()
def product_repairs(products: list) -> dict[int, list[RepairOrder]]:
    """For the customer's page: product id -> its repair orders, oldest first
    (``repairs.orders.repair_history_of_product``: the product is the gate)."""
    if not (current_user.is_authenticated
            and has_permission(current_user.role, Permission.REPAIR_READ)):
        return {}
    from repairs.orders import repair_history_of_product
    out = {}
    for product in products:
        if isinstance(product, dict):  # the customer page's rows: {"product": ..., ...}
            product = product["product"]
        pid = product.id
        try:
            out[pid] = repair_history_of_product(db_session(), current_user, pid)
        except NotFound:
            continue
    return out


@repairs_bp.route("/new", methods=["GET", "POST"])
@permission_required(Permission.REPAIR_WRITE)
def new():
    """Raise a repair order from a ticket: which product, the fault in the reporter's
    words (the ticket's description to start with)."""
    from repairs.orders import raise_repair_order
    raw = request.values.get("ticket_id", "")
    ticket = get_ticket(db_session(), current_user, int(raw) if raw.isdigit() else raw)
    products = _products_of(ticket)
    values = {"product_id": ticket.installed_product_id or (products[0].id if products else None),
              "fault_description": ticket.description or ticket.subject}
    errors: dict[str, str] = {}
    problem = None
    if request.method == "POST":
        product_raw = request.form.get("product_id", "")
        values = {"product_id": int(product_raw) if product_raw.isdigit() else None,
                  "fault_description": (request.form.get("fault_description") or "").strip()}
        try:
            order = raise_repair_order(
                db_session(), current_user, ticket_id=ticket.id,
                product_id=values["product_id"],
                fault_description=values["fault_description"],
                reporter_contact_id=ticket.contact_id,
                settings=current_app.config["SETTINGS"])
        except ValidationError as exc:
            db_session().rollback()
            errors = {k: describe(p) for k, p in exc.errors.items()}
            problem = error_message(exc)
        except AppError as exc:
            db_session().rollback()
            if exc.status == 404:
                raise
            problem = error_message(exc)
        else:
            from repairs.sheet import order_number
            flash(_("Repair order %(no)s raised.", no=order_number(order)), "success")
            return redirect(url_for("repairs.detail", order_id=order.id))
    return render_template("repairs/new.html", ticket=ticket, products=products,
                           values=values, errors=errors, problem=problem), \
        (REJECTED if problem else 200)
