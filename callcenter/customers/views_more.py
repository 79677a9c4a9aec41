"""Customer pages, continued: addresses, installed products, duplicates and merging.

Registered on ``customers_bp`` (see views.py); the same rules apply: permission
first (403), then the scope of every record involved (404).
"""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.exceptions import NotFound

from callcenter.auth import permission_required
from callcenter.customers import addresses, duplicates, merge, products
from callcenter.customers.errors import (
    AddressNotFound,
    ContactNotFound,
    CustomerNotFound,
    ProductNotFound,
    ValidationError,
)
from callcenter.customers.forms import (
    AddressForm,
    AssignProductForm,
    MergeForm,
    ProductForm,
    apply_errors,
)
from callcenter.customers.messages import translate_error
from callcenter.customers.models import Customer, InstalledProduct
from callcenter.customers.services import customers_query
from callcenter.customers.views import (
    customers_bp,
    load_customer,
    region,
    rejected,
)
from callcenter.db import db_session
from callcenter.users.models import User
from callcenter.users.permissions import Permission
from callcenter.web import render_error

#: Warranty state -> (label, badge tone). The label is text: state never by colour alone.
WARRANTY_STATES = {
    products.WarrantyState.IN_WARRANTY: (_l("In warranty"), "ok"),
    products.WarrantyState.EXPIRING: (_l("Warranty ending soon"), "warn"),
    products.WarrantyState.EXPIRED: (_l("Warranty expired"), "danger"),
    products.WarrantyState.NONE: (_l("No warranty"), "muted"),
}


@customers_bp.errorhandler(ProductNotFound)
@customers_bp.errorhandler(AddressNotFound)
@customers_bp.errorhandler(ContactNotFound)
def _record_not_found(_exc):
    return render_error(NotFound())


def products_with_state(customer: Customer, today: date) -> list[dict]:
    """The customer's installed products with their warranty state, for the 360° page."""
    rows = []
    for product in customer.products:
        label, tone = WARRANTY_STATES[products.warranty_state(product, today)]
        rows.append({"product": product, "state": label, "tone": tone})
    return rows


#: Why two records look like one customer, in words.
DUPLICATE_REASONS = {
    duplicates.REASON_PHONE: _l("same phone number"),
    duplicates.REASON_TAX_ID: _l("same tax ID"),
    duplicates.REASON_NAME: _l("same name"),
    duplicates.REASON_SIMILAR_NAME: _l("similar name"),
}


def _reasons(candidate) -> list[str]:
    return [str(DUPLICATE_REASONS.get(r, r)) for r in candidate.reasons]


def _visible_by_id(session, user: User, ids) -> dict[int, Customer]:
    """The customers among ``ids`` that ``user`` may see, in one scoped query."""
    stmt = customers_query(user).where(Customer.id.in_(set(ids)))
    return {c.id: c for c in session.scalars(stmt)}


def possible_duplicates(session, user: User, customer: Customer) -> list[dict]:
    """Likely duplicates of ``customer`` that ``user`` may see, likeliest first."""
    found = duplicates.duplicates_of(session, user, customer, limit=10)
    others = {c: (c.other_id if c.customer_id == customer.id else c.customer_id)
              for c in found}
    visible = _visible_by_id(session, user, others.values())
    return [{"customer": visible[others[c]], "reasons": _reasons(c), "score": c.score}
            for c in found if others[c] in visible]


# --- addresses ------------------------------------------------------------------------

@customers_bp.route("/<int:customer_id>/addresses/new", methods=["GET", "POST"])
@permission_required(Permission.CUSTOMER_UPDATE)
def new_address(customer_id: int):
    customer = load_customer(customer_id, live=True)
    form = AddressForm()
    if form.validate_on_submit():
        try:
            addresses.add_address(db_session(), current_user, customer, {
                "purpose": form.purpose.data, "line": form.line.data,
                "city": form.city.data or "", "province": form.province.data or "",
                "postcode": form.postcode.data or "", "country": form.country.data.upper()})
        except ValidationError as exc:
            leftover = apply_errors(form, exc.errors, translate_error)
        else:
            flash(_("Address added."), "success")
            return redirect(url_for("customers.detail", customer_id=customer.id,
                                    _anchor="addresses"))
        return rejected("customers/address_form.html", form=form, customer=customer,
                        errors=leftover)
    if request.method == "POST":
        return rejected("customers/address_form.html", form=form, customer=customer, errors=[])
    return render_template("customers/address_form.html", form=form, customer=customer,
                           errors=[])


# --- installed products ---------------------------------------------------------------

@customers_bp.route("/<int:customer_id>/products/new", methods=["GET", "POST"])
@permission_required(Permission.PRODUCT_WRITE)
def new_product(customer_id: int):
    customer = load_customer(customer_id, live=True)
    form = ProductForm()
    if form.validate_on_submit():
        try:
            product = products.register_product(db_session(), current_user, customer, {
                "model": form.model.data, "serial_number": form.serial_number.data,
                "warranty_type": form.warranty_type.data,
                "warranty_end": form.warranty_end.data,
                "installed_on": form.installed_on.data})
        except ValidationError as exc:
            leftover = apply_errors(form, exc.errors, translate_error)
        else:
            flash(_("Product %(serial)s registered.", serial=product.serial_number), "success")
            return redirect(url_for("customers.detail", customer_id=customer.id,
                                    _anchor="products"))
        return rejected("customers/product_form.html", form=form, customer=customer,
                        errors=leftover)
    if request.method == "POST":
        return rejected("customers/product_form.html", form=form, customer=customer, errors=[])
    return render_template("customers/product_form.html", form=form, customer=customer,
                           errors=[])


def _owned_product(customer: Customer, product_id: int) -> InstalledProduct:
    product = products.get_product(db_session(), current_user, product_id)
    if product.customer_id != customer.id:
        abort(404)
    return product


@customers_bp.route("/<int:customer_id>/products/<int:product_id>/assign",
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
            form.new_customer_id.errors.append(translate_error(
                f"no such customer {form.new_customer_id.data}"))
        else:
            try:
                products.assign_product(db_session(), current_user, product, target)
            except ValidationError as exc:
                form.new_customer_id.errors.extend(translate_error(m)
                                                   for m in exc.errors.values())
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
    return render_template("customers/assign_product.html", customer=customer,
                           product=product, form=form, q=q, candidates=candidates), status


# --- duplicates and merging -------------------------------------------------------------

@customers_bp.route("/duplicates", endpoint="duplicates")
@permission_required(Permission.CUSTOMER_MERGE)
def duplicates_list():
    dbs = db_session()
    pairs = duplicates.find_duplicate_pairs(dbs, current_user, limit=200)
    visible = _visible_by_id(dbs, current_user,
                             [i for p in pairs for i in (p.customer_id, p.other_id)])
    rows = [{"a": visible[p.customer_id], "b": visible[p.other_id], "reasons": _reasons(p),
             "score": p.score}
            for p in pairs if p.customer_id in visible and p.other_id in visible]
    return render_template("customers/duplicates.html", rows=rows)


@customers_bp.route("/merge", methods=["GET", "POST"], endpoint="merge")
@permission_required(Permission.CUSTOMER_MERGE)
def merge_confirm():
    """Compare two records side by side; on confirmation fold ``merged`` into ``survivor``."""
    form = MergeForm(request.form if request.method == "POST" else request.args)
    if not form.survivor_id.validate(form) or not form.merged_id.validate(form):
        abort(404)
    survivor = load_customer(form.survivor_id.data)
    merged = load_customer(form.merged_id.data)
    errors: list[str] = []
    if request.method == "POST" and form.validate_on_submit():
        try:
            merge.merge_customers(db_session(), current_user, survivor, merged)
        except ValidationError as exc:
            errors = [translate_error(m) for m in exc.errors.values()]
        else:
            flash(_("%(merged)s was merged into %(survivor)s.", merged=merged.name,
                    survivor=survivor.name), "success")
            return redirect(url_for("customers.detail", customer_id=survivor.id))
    elif survivor.id == merged.id:
        errors = [_("A customer cannot be merged into itself.")]
    records = [{"customer": c, "contacts": len(c.contacts), "products": len(c.products),
                "addresses": len(c.addresses)} for c in (survivor, merged)]
    status = 422 if errors else 200
    return render_template("customers/merge.html", survivor=survivor, merged=merged,
                           records=records, form=form, errors=errors), status
