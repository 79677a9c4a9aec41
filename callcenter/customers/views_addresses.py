"""Customer pages: adding an address (registered on ``customers_bp``, see views.py)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from callcenter.auth import permission_required
from callcenter.core.errors import ValidationError
from callcenter.customers import addresses
from callcenter.customers.forms import AddressForm, apply_errors
from callcenter.customers.views import customers_bp, load_customer, rejected
from callcenter.db import db_session
from callcenter.users.permissions import Permission

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
            leftover = apply_errors(form, exc.errors)
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
