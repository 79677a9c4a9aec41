"""Installed-product pages: register a product at a customer, hand it to its real end user.

The pages live under the customer they belong to (``/customers/<id>/products/...``):
permission first (403), then the scope of the customer and the product (404).
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from callcenter.auth import permission_required
from callcenter.core.errors import Problem, ValidationError
from callcenter.core.messages import describe
from callcenter.customers.forms import apply_errors
from callcenter.customers.models import Customer
from callcenter.customers.services import CustomerNotFound, customers_query
from callcenter.customers.views import load_customer, region, rejected
from callcenter.db import db_session
from callcenter.products import services
from callcenter.products.forms import AssignProductForm, ProductForm
from callcenter.products.models import InstalledProduct
from callcenter.products.warranty import WarrantyState, warranty_state
from callcenter.users.permissions import Permission

products_bp = Blueprint("products", __name__, url_prefix="/customers")

#: Warranty state -> (label, badge tone). The label is text: state never by colour alone.
WARRANTY_STATES = {
    WarrantyState.IN_WARRANTY: (_l("In warranty"), "ok"),
    WarrantyState.EXPIRING: (_l("Warranty ending soon"), "warn"),
    WarrantyState.EXPIRED: (_l("Warranty expired"), "danger"),
    WarrantyState.NONE: (_l("No warranty"), "muted"),
}



@products_bp.before_request
@login_required
def _require_login():
    """Every product page needs a logged-in user."""


def products_with_state(customer: Customer, today: date) -> list[dict]:
    """The customer's installed products with their warranty state, for the 360° page."""
    rows = []
    for product in customer.products:
        label, tone = WARRANTY_STATES[warranty_state(product, today)]
        rows.append({"product": product, "state": label, "tone": tone})
    return rows


# --- installed products ---------------------------------------------------------------

@products_bp.route("/<int:customer_id>/products/new", methods=["GET", "POST"])
@permission_required(Permission.PRODUCT_WRITE)
def new_product(customer_id: int):
    customer = load_customer(customer_id, live=True)
    form = ProductForm()
    if form.validate_on_submit():
        try:
            product = services.register_product(db_session(), current_user, customer, {
                "model": form.model.data, "serial_number": form.serial_number.data,
                "warranty_type": form.warranty_type.data,
                "warranty_end": form.warranty_end.data,
                "installed_on": form.installed_on.data})
        except ValidationError as exc:
            leftover = apply_errors(form, exc.errors)
        else:
            flash(_("Product %(serial)s registered.", serial=product.serial_number), "success")
            return redirect(url_for("customers.detail", customer_id=customer.id,
                                    _anchor="products"))
        return rejected("products/product_form.html", form=form, customer=customer,
                        errors=leftover)
    if request.method == "POST":
        return rejected("products/product_form.html", form=form, customer=customer, errors=[])
    return render_template("products/product_form.html", form=form, customer=customer,
                           errors=[])


def _owned_product(customer: Customer, product_id: int) -> InstalledProduct:
    product = services.get_product(db_session(), current_user, product_id)
    if product.customer_id != customer.id:
        abort(404)
    return product


@products_bp.route("/<int:customer_id>/products/<int:product_id>/assign",
                    methods=["GET", "POST"])
@permission_required(Permission.PRODUCT_WRITE)
def assign_product(customer_id: int, product_id: int):
    """Hand equipment to its real end user, found by search or by customer number."""
    customer = load_customer(customer_id, live=True)
    product = _owned_product(customer, product_id)
    form = AssignProductForm()
    status = 200
    if form.validate_on_submit():
        try:
            target = load_customer(form.new_customer_id.data)
        except CustomerNotFound:
            form.new_customer_id.errors.append(describe(Problem(
                "customer.unknown", {"id": form.new_customer_id.data})))
        else:
            try:
                services.assign_product(db_session(), current_user, product, target)
            except ValidationError as exc:
                form.new_customer_id.errors.extend(describe(p) for p in exc.errors.values())
            else:
                flash(_("Product %(serial)s now belongs to %(name)s.",
                        serial=product.serial_number, name=target.name), "success")
                return redirect(url_for("customers.detail", customer_id=target.id,
                                        _anchor="products"))
        status = 422
    elif request.method == "POST":
        status = 422
    q = request.args.get("q", "").strip()[:200]
    candidates = []
    if q:
        stmt = customers_query(current_user, q=q, region_code=region()).where(
            Customer.id != customer.id).limit(20)
        candidates = list(db_session().scalars(stmt))
    return render_template("products/assign_product.html", customer=customer,
                           product=product, form=form, q=q, candidates=candidates), status
