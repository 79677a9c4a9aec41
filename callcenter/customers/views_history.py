"""The change history page (registered on ``customers_bp``, see views.py):
``/customers/<id>/history`` and the ``change_what`` filter the 360° page uses too. The
words themselves are ``history_words``' (the API's ``display`` shows the same).
"""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from callcenter.auth import permission_required
from callcenter.customers import history_words
from callcenter.customers.history import customer_history, history_names
from callcenter.customers.history_words import shown_changes
from callcenter.customers.models import ChangeRecord
from callcenter.customers.views import customers_bp, load_customer
from callcenter.db import db_session
from callcenter.users.permissions import Permission

#: Rows on the history page.
HISTORY_ROWS = 500


@customers_bp.app_template_filter("change_what")
def change_what(record: ChangeRecord) -> str:
    """A change record's entity and field in words ("Contact · added")."""
    return history_words.change_what(record)


@customers_bp.route("/<int:customer_id>/history")
@permission_required(Permission.CUSTOMER_READ)
def history(customer_id: int):
    customer = load_customer(customer_id)
    dbs = db_session()
    records = customer_history(dbs, customer.id, limit=HISTORY_ROWS)
    names = history_names(dbs, current_user, records)
    return render_template("customers/history.html", customer=customer,
                           changes=shown_changes(records, names, customer.id))
