"""Customer pages: likely duplicates, and merging one record into another.

Registered on ``customers_bp`` (see views.py); permission first (403), then the scope
of both records (404).
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from callcenter.auth import permission_required
from callcenter.core.errors import ValidationError
from callcenter.core.messages import describe, render
from callcenter.customers import duplicates, merge
from callcenter.customers.forms import MergeForm
from callcenter.customers.models import Customer
from callcenter.customers.services import customers_query
from callcenter.customers.views import customers_bp, load_customer
from callcenter.db import db_session
from callcenter.users.models import User
from callcenter.users.permissions import Permission

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
            errors = [describe(p) for p in exc.errors.values()]
        else:
            flash(_("%(merged)s was merged into %(survivor)s.", merged=merged.name,
                    survivor=survivor.name), "success")
            return redirect(url_for("customers.detail", customer_id=survivor.id))
    elif survivor.id == merged.id:
        errors = [render("merge.into_itself")]
    records = [{"customer": c, "contacts": len(c.contacts), "products": len(c.products),
                "addresses": len(c.addresses)} for c in (survivor, merged)]
    status = 422 if errors else 200
    return render_template("customers/merge.html", survivor=survivor, merged=merged,
                           records=records, form=form, errors=errors), status
