"""The change history in words: what the history page and the API's ``display`` show.

A change record stores its values as text, ids included (``[] → [9]``); here each value
becomes what a reader understands: a person's, department's or customer's name, a label
for a code, a phone number or a date. The names come from ``history.history_names`` (one
query per kind of record, not one per row). The page gives the parts to its template
(``shown_changes``: the template formats phones and dates with its filters and marks a
deleted record); the API gets the same parts as text in the reader's language
(``change_words``). Other domains' histories (tickets, repair orders) name the ids they
hold through ``history.names_of`` and word them with ``ref_words``.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any, NamedTuple

from flask_babel import gettext as _

from callcenter.core.display import page_date, phone_label
from callcenter.core.lists import join_list
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
    Ref,
    RefState,
    stored_ids,
)
from callcenter.customers.models import ChangeRecord, Lifecycle, Tier

#: A contact's phone list is recorded under the contact's own field name.
_CONTACT_PHONES = re.compile(r"contact\[\d+\]\.phones")

#: A value as parts: ``[(kind, value)]``, kind ``ref`` (a ``history.Ref``), ``phone`` (a
#: ShownPhone), ``date``, ``label`` or ``text``; an empty list is "no value".
Parts = list[tuple[str, Any]]


class ShownPhone(NamedTuple):
    """A recorded phone number for the ``|phone`` filter (which reads these two)."""

    e164: str
    extension: str


def field_key(field: str) -> str:
    return "phones" if _CONTACT_PHONES.fullmatch(field) else field


def change_what(record: ChangeRecord) -> str:
    """A change record's entity and field in words ("Contact · added")."""
    entity = CHANGE_ENTITIES.get(record.entity)
    field = CHANGE_FIELDS.get(field_key(record.field))
    return f"{entity or record.entity} · {field or record.field}"


def ref_words(ref: Ref) -> str:
    """One id as the reader may see it: its name, the number of a customer outside the
    reader's scope, or the number of a record that is gone."""
    if ref.state is RefState.SHOWN and ref.name is not None:
        return ref.name
    if ref.state is RefState.HIDDEN:
        return _("Customer no. %(id)s (outside your access)", id=ref.id)
    return _("#%(id)s (deleted)", id=ref.id)


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


def shown_value(field: str, value: str | None, names: HistoryNames) -> Parts:
    """A stored value as parts (see ``Parts``)."""
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


def _subject(record: ChangeRecord, names: HistoryNames, customer_id: int) -> Ref | None:
    """The contact, address or product a record is about, or the merged-in customer;
    None for the customer itself, and when the new value already names it ("Contact ·
    added: 张伟" says it once)."""
    kind = NAMED_ENTITIES.get(record.entity)
    if kind is None or record.entity_id is None \
            or (kind == "customer" and record.entity_id == customer_id):
        return None
    subject = names.ref(kind, record.entity_id)
    if subject.name is not None and subject.name == record.new_value:
        return None
    return subject


def shown_changes(records: list[ChangeRecord], names: HistoryNames,
                  customer_id: int) -> list[dict[str, Any]]:
    """Each record with its subject (``_subject``) and its old and new values as parts,
    for the history page's template."""
    return [{"record": record, "subject": _subject(record, names, customer_id),
             "old": shown_value(record.field, record.old_value, names),
             "new": shown_value(record.field, record.new_value, names)}
            for record in records]


def parts_words(parts: Parts, region: str) -> str | None:
    """Parts as one run of text in the request's language (None: no value)."""
    if not parts:
        return None
    words = []
    for kind, value in parts:
        if kind == "ref":
            words.append(ref_words(value))
        elif kind == "phone":
            words.append(phone_label(value, region))
        elif kind == "date":
            words.append(page_date(value))
        else:
            words.append(str(value))
    return join_list(words)


def change_words(record: ChangeRecord, names: HistoryNames, customer_id: int,
                 region: str) -> dict[str, str | None]:
    """The API's ``display`` of one record: what changed, what it is about, the old and
    the new value, in the request's language."""
    subject = _subject(record, names, customer_id)
    return {"what": change_what(record),
            "subject": ref_words(subject) if subject is not None else None,
            "old": parts_words(shown_value(record.field, record.old_value, names), region),
            "new": parts_words(shown_value(record.field, record.new_value, names), region)}
