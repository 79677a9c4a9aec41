"""Keeping the name search keys (``customer_name_keys``) in step with the names, and
finding customers by them.

Every ORM write of a customer's or contact's name (or a contact moving to another
customer) rewrites that name's keys in the same flush; the import, which writes with
Core statements, calls ``write_name_keys`` itself. A search is one range scan of the
keys' index per question, like the caller-ID lookup's equality on ``phones.e164``.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, Select, delete, event, insert, inspect, or_, select
from sqlalchemy.orm import Session

from callcenter.customers.models import Contact, Customer, NameSearchKey
from callcenter.customers.names import query_key, search_keys

keys_t = NameSearchKey.__table__
#: Above every character a key can hold: a prefix's range ends here.
_TOP = "\U0010ffff"


def write_name_keys(conn: Connection | Session, *, customers: dict[int, str] | None = None,
                    contacts: dict[int, tuple[int, str]] | None = None,
                    removed_contacts: Iterable[int] = ()) -> None:
    """The keys of these customers' own names ({id: name}) and of these contacts'
    ({id: (customer id, name)}) written anew; removed contacts' keys deleted."""
    customers, contacts = customers or {}, contacts or {}
    gone = [*contacts, *removed_contacts]
    conditions = []
    if customers:
        conditions.append(keys_t.c.customer_id.in_(list(customers))
                          & keys_t.c.contact_id.is_(None))
    if gone:
        conditions.append(keys_t.c.contact_id.in_(gone))
    if not conditions:
        return
    conn.execute(delete(keys_t).where(or_(*conditions)))
    rows = [{"customer_id": cid, "contact_id": None, "key": key}
            for cid, name in customers.items() for key in sorted(search_keys(name))]
    rows += [{"customer_id": cid, "contact_id": contact_id, "key": key}
             for contact_id, (cid, name) in contacts.items()
             for key in sorted(search_keys(name))]
    if rows:
        conn.execute(insert(keys_t), rows)


def _changed(obj: object, *names: str) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


@event.listens_for(Session, "after_flush")
def _keep_name_keys(session: Session, _context) -> None:
    customers: dict[int, str] = {}
    contacts: dict[int, tuple[int, str]] = {}
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, Customer) and (obj in session.new or _changed(obj, "name")):
            customers[obj.id] = obj.name
        elif isinstance(obj, Contact) and (obj in session.new
                                           or _changed(obj, "name", "customer_id")):
            contacts[obj.id] = (obj.customer_id, obj.name)
    removed = [obj.id for obj in session.deleted if isinstance(obj, Contact)]
    if customers or contacts or removed:
        write_name_keys(session.connection(), customers=customers, contacts=contacts,
                        removed_contacts=removed)


def customers_named(question: str) -> Select | None:
    """SELECT of the ids of customers whose name, or a contact's, starts a key with the
    question (see ``names.search_keys``); None when the question is too short."""
    key = query_key(question)
    if key is None:
        return None
    return (select(keys_t.c.customer_id)
            .where(keys_t.c.key >= key, keys_t.c.key < key + _TOP))
