"""The change history in words (registered on ``customers_bp``, see views.py): the page
``/customers/<id>/history`` and the ``change_what`` filter the 360° page uses too.

A change record stores its values as text, ids included (``[] → [9]``); here each value
becomes what a reader understands: a person's, department's or customer's name, a label
for a code, a phone number or a date (left to the template's ``|phone`` and
``|dateformat`` filters, so the page shows them as every other page does). The names
come from ``history.history_names``: one query per kind of record, not one per row.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any, NamedTuple

from flask import render_template
from flask_babel import gettext as _
from flask_login import current_user

from callcenter.auth import permission_required
from callcenter.customers.forms import (
    ADDRESS_PURPOSES,
    CHANGE_ENTITIES,
    CHANGE_FIELDS,
    LIFECYCLE_LABELS,
    TIER_LABELS,
)
from callcenter.customers.history import (
    ID_FIELDS,
    NAMED_ENTITIES,
    HistoryNames,
    customer_history,
    history_names,
    stored_ids,
)
from callcenter.customers.models import ChangeRecord, Lifecycle, Tier
from callcenter.customers.views import customers_bp, load_customer
from callcenter.db import db_session
from callcenter.users.permissions import Permission

#: Rows on the history page.
HISTORY_ROWS = 500
#: A contact's phone list is recorded under the contact's own field name.
_CONTACT_PHONES = re.compile(r"contact\[\d+\]\.phones")


class ShownPhone(NamedTuple):
    """A recorded phone number for the ``|phone`` filter (which reads these two)."""

    e164: str
    extension: str


def field_key(field: str) -> str:
    return "phones" if _CONTACT_PHONES.fullmatch(field) else field


@customers_bp.app_template_filter("change_what")
def change_what(record: ChangeRecord) -> str:
    """A change record's entity and field in words ("Contact · added")."""
    entity = CHANGE_ENTITIES.get(record.entity)
    field = CHANGE_FIELDS.get(field_key(record.field))
    return f"{entity or record.entity} · {field or record.field}"


def _labelled(field: str, value: str) -> Any:
    from callcenter.products.forms import WARRANTY_LABELS
    from callcenter.products.models import WarrantyType

    if field == "tier":
        return TIER_LABELS[Tier(value)]
    if field == "lifecycle":
        return LIFECYCLE_LABELS[Lifecycle(value)]
    if field == "warranty_type":
        return WARRANTY_LABELS[WarrantyType(value)]
    if field == "purpose":
        return ADDRESS_PURPOSES[value]
    if field == "is_placeholder":
        return {"True": _("Yes"), "False": _("No")}[value]
    raise KeyError(value)


def shown_value(field: str, value: str | None, names: HistoryNames) -> list[tuple[str, Any]]:
    """A stored value as parts for the template: ``[(kind, value)]`` with kind ``ref`` (a
    ``history.Ref``), ``phone`` (a ShownPhone), ``date``, ``label`` or ``text``. An empty
    list shows as "—"."""
    if value is None:
        return []
    field = field_key(field)
    kind = ID_FIELDS.get(field)
    ids = stored_ids(value) if kind else None
    if ids is not None:
        return [("ref", ref) for ref in names.refs(kind, ids)]
    if field == "phones":
        try:
            keys = json.loads(value)
        except ValueError:
            keys = None
        if isinstance(keys, list) and all(isinstance(k, str) for k in keys):
            return [("phone", ShownPhone(*(k.split(" x", 1) + [""])[:2])) for k in keys]
    if field in ("warranty_end", "installed_on"):
        try:
            return [("date", date.fromisoformat(value))]
        except ValueError:
            pass
    try:
        return [("label", _labelled(field, value))]
    except (KeyError, ValueError):
        pass
    return [("text", value)] if value != "" else []


def shown_changes(records: list[ChangeRecord], names: HistoryNames,
                  customer_id: int) -> list[dict[str, Any]]:
    """Each record with its subject (the contact, address or product it is about, or the
    merged-in customer: ``None`` for the customer itself) and its old and new values."""
    rows = []
    for record in records:
        kind = NAMED_ENTITIES.get(record.entity)
        subject = None
        if kind is not None and record.entity_id is not None \
                and not (kind == "customer" and record.entity_id == customer_id):
            subject = names.ref(kind, record.entity_id)
            if subject.name is not None and subject.name == record.new_value:
                subject = None          # "Contact · added: 张伟" says it once
        rows.append({"record": record, "subject": subject,
                     "old": shown_value(record.field, record.old_value, names),
                     "new": shown_value(record.field, record.new_value, names)})
    return rows


@customers_bp.route("/<int:customer_id>/history")
@permission_required(Permission.CUSTOMER_READ)
def history(customer_id: int):
    customer = load_customer(customer_id)
    dbs = db_session()
    records = customer_history(dbs, customer.id, limit=HISTORY_ROWS)
    names = history_names(dbs, current_user, records)
    return render_template("customers/history.html", customer=customer,
                           changes=shown_changes(records, names, customer.id))
