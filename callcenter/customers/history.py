"""Change history of customer data: who changed which field when, old and new value."""

from __future__ import annotations

import enum
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import Session, selectinload

from callcenter.customers.models import Address, ChangeRecord, Contact, Customer
from callcenter.products.models import InstalledProduct
from callcenter.users.models import Department, User


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def record_changes(session: Session, customer_id: int, actor, entity: str,
                   entity_id: int | None, changes: dict[str, tuple[Any, Any]]) -> None:
    """Store one ChangeRecord per changed field. ``changes`` maps field -> (old, new)."""
    user_id = getattr(actor, "id", None)
    for field, (old, new) in changes.items():
        session.add(ChangeRecord(customer_id=customer_id, user_id=user_id, entity=entity,
                                 entity_id=entity_id, field=field,
                                 old_value=_as_text(old), new_value=_as_text(new)))


def history_query(customer_id: int) -> Select[tuple[ChangeRecord]]:
    """SELECT of the customer's changes, newest first. Includes the history of records
    merged into this one (their rows keep the merged record's id in ``customer_id``, see
    customers/merge.py). The caller checks scope."""
    merged = select(Customer.id).where(Customer.merged_into_id == customer_id)
    return (select(ChangeRecord).where(or_(ChangeRecord.customer_id == customer_id,
                                           ChangeRecord.customer_id.in_(merged)))
            .order_by(ChangeRecord.changed_at.desc(), ChangeRecord.id.desc()))


def customer_history(session: Session, customer_id: int, limit: int = 200) -> list[ChangeRecord]:
    """Newest first, with who made each change (loaded at once, not per row); see
    ``history_query``."""
    return list(session.scalars(history_query(customer_id)
                                .options(selectinload(ChangeRecord.user)).limit(limit)))


# --- names for the ids a change record holds -------------------------------------------

#: Fields whose stored values are ids, and of what. A product's move keeps the product's
#: label on one side and the other customer's id on the other (``stored_ids`` tells).
ID_FIELDS: dict[str, str] = {
    "responsible_id": "user", "related_user_ids": "user", "department_id": "department",
    "related_user": "user",     # a leaver's link handed on (customers.ownership)
    "ship_to_id": "customer", "bill_to_id": "customer", "payer_id": "customer",
    "moved_to_customer": "customer", "assigned_from_customer": "customer"}
#: Entities whose ``entity_id`` is a record of that kind (the history names it).
NAMED_ENTITIES: dict[str, str] = {"customer": "customer", "contact": "contact",
                                  "address": "address", "product": "product"}


class RefState(enum.Enum):
    SHOWN = "shown"      # the record is there and the reader may see its name
    HIDDEN = "hidden"    # a customer outside the reader's scope: its id only
    GONE = "gone"        # deleted meanwhile, or an id nothing ever had


@dataclass(frozen=True)
class Ref:
    """One id of the history as the reader may see it."""

    kind: str
    id: int
    name: str | None
    state: RefState


def stored_ids(value: str | None) -> list[int] | None:
    """The ids a stored value holds (``"9"``, ``"[3, 9]"``, ``"[]"``); None when it holds
    none (a product's label on the other side of a move, an empty value)."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit() and len(text) < 19:
        return [int(text)]
    if not text.startswith("["):
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    if isinstance(parsed, list) and all(type(i) is int for i in parsed):
        return parsed
    return None


class HistoryNames:
    """The names behind the ids of some change records; ``ref(kind, id)``."""

    def __init__(self, found: dict[str, dict[int, Ref]]) -> None:
        self._found = found

    def ref(self, kind: str, ref_id: int) -> Ref:
        return self._found.get(kind, {}).get(ref_id) or Ref(kind, ref_id, None, RefState.GONE)

    def refs(self, kind: str, ids: list[int]) -> list[Ref]:
        return [self.ref(kind, i) for i in ids]


def referenced_ids(records: list[ChangeRecord]) -> dict[str, set[int]]:
    """``{kind: ids}`` the records refer to, in their values and their ``entity_id``."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for record in records:
        kind = ID_FIELDS.get(record.field)
        if kind is not None:
            for value in (record.old_value, record.new_value):
                wanted[kind].update(stored_ids(value) or ())
        entity_kind = NAMED_ENTITIES.get(record.entity)
        if entity_kind is not None and record.entity_id is not None:
            wanted[entity_kind].add(record.entity_id)
    return wanted


def history_names(session: Session, reader: User, records: list[ChangeRecord]) -> HistoryNames:
    """Names for every id in ``records`` (``names_of``)."""
    return names_of(session, reader, referenced_ids(records))


def names_of(session: Session, reader: User, wanted: Mapping[str, Iterable[int]]) -> HistoryNames:
    """Names for ``{kind: ids}`` (kinds: user, department, customer, contact, address,
    product): one query per kind, however many ids. The one resolver of the ids a
    history holds, the customers' and other domains' (tickets, repair orders) alike.

    Users, departments, contacts, addresses and products are named for anyone who may
    read the history that holds them; a customer (a partner, where a product went) only
    when ``reader`` may see it: otherwise its number, as the 360° page does."""
    wanted = {kind: set(ids) for kind, ids in wanted.items()}
    found: dict[str, dict[int, Ref]] = {}

    def shown(kind: str, rows) -> None:
        found[kind] = {i: Ref(kind, i, name, RefState.SHOWN) for i, name in rows}

    def fetch(kind: str, stmt) -> None:
        ids = sorted(wanted.get(kind, ()))
        if ids:
            shown(kind, session.execute(stmt(ids)))

    fetch("user", lambda ids: select(User.id, func.coalesce(
        func.nullif(User.display_name, ""), User.username)).where(User.id.in_(ids)))
    fetch("department", lambda ids: select(Department.id, Department.name)
          .where(Department.id.in_(ids)))
    fetch("contact", lambda ids: select(Contact.id, Contact.name).where(Contact.id.in_(ids)))
    fetch("product", lambda ids: select(
        InstalledProduct.id, InstalledProduct.model + " " + InstalledProduct.serial_number)
        .where(InstalledProduct.id.in_(ids)))
    addresses = sorted(wanted.get("address", ()))
    if addresses:
        found["address"] = {
            a.id: Ref("address", a.id, " ".join(p for p in (a.province, a.city, a.line) if p),
                      RefState.SHOWN)
            for a in session.scalars(select(Address).where(Address.id.in_(addresses)))}
    customers = sorted(wanted.get("customer", ()))
    if customers:
        from callcenter.customers.services import visible_to  # services records through us

        # One query: every asked-for customer that exists, and whether the reader may see it.
        rows = session.execute(select(Customer.id, Customer.name,
                                      case((visible_to(reader), True), else_=False))
                               .where(Customer.id.in_(customers)))
        found["customer"] = {
            i: Ref("customer", i, name, RefState.SHOWN) if visible
            else Ref("customer", i, None, RefState.HIDDEN)
            for i, name, visible in rows}
    return HistoryNames(found)
