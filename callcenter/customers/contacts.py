"""Contact persons: finding one within the user's scope and correcting its data.

Adding a contact is ``services.add_contact``; a contact is visible exactly when its
customer is.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.core.errors import NotFound, Problem, ValidationError
from callcenter.core.fields import is_email_address, text_problem
from callcenter.core.versions import check_version, claim
from callcenter.customers.history import record_changes
from callcenter.customers.models import Contact, Customer
from callcenter.customers.services import (
    CONTACT_LIMITS,
    STALE_CONTACT,
    clean_phones,
    phone_key,
    phone_keys,
    replace_phones,
    require,
    visible_to,
)
from callcenter.users.models import User
from callcenter.users.permissions import Permission

#: The fields a correction may change, and their longest values.
CONTACT_FIELDS = {k: v for k, v in CONTACT_LIMITS.items() if k != "external_id"}


class ContactNotFound(NotFound):
    """No such contact, or its customer is outside the asking user's scope."""

    entity = "contact"


def contacts_query(user: User, customer_id: int):
    """SELECT of the contacts of ``customer_id`` (already scope-checked by the caller)."""
    return (select(Contact).where(Contact.customer_id == customer_id,
                                  Contact.customer_id.in_(
                                      select(Customer.id).where(visible_to(user))))
            .order_by(Contact.id))


def get_contact(session: Session, user: User, contact_id: int) -> Contact:
    """The contact, if its customer is in ``user``'s scope; else ContactNotFound."""
    contact = session.scalar(
        select(Contact).join(Customer, Customer.id == Contact.customer_id)
        .where(Contact.id == contact_id, visible_to(user)))
    if contact is None:
        raise ContactNotFound(contact_id)
    return contact


def update_contact(session: Session, actor: User, contact: Contact, data: dict[str, Any], *,
                   region: str) -> Contact:
    """Correct a contact's name, position, e-mail or phones; each change is recorded.

    ``data["version"]`` (optional): the version the client read; stale: StaleVersion
    (409) and nothing changes. A real change bumps the version."""
    require(actor, Permission.CUSTOMER_UPDATE)
    data = dict(data)
    version = data.pop("version", None)
    check_version(contact, version, STALE_CONTACT)
    errors: dict[str, Problem] = {}
    for field in sorted(set(data) - set(CONTACT_FIELDS) - {"phones", "external_id"}):
        errors[field] = Problem("read_only" if field in ("id", "customer_id", "created_at")
                                else "unknown_field")
    if "external_id" in data and data["external_id"] != contact.external_id:
        errors["external_id"] = Problem("identity")
    values: dict[str, str] = {}
    for field, limit in CONTACT_FIELDS.items():
        if field not in data:
            continue
        value = data[field]
        if value is None and field != "name":
            value = ""
        value, problem = text_problem(value, limit, required=field == "name")
        if problem is None and field == "email" and value and not is_email_address(value):
            problem = Problem("email")
        if problem is not None:
            errors[field] = problem
        else:
            values[field] = value
    phones = None
    if "phones" in data:
        try:
            phones = clean_phones(data["phones"] or [], region)
        except ValidationError as exc:
            errors.update(exc.errors)
    if errors:
        raise ValidationError(errors)
    changes = {field: (getattr(contact, field), new) for field, new in values.items()
               if getattr(contact, field) != new}
    customer = session.get(Customer, contact.customer_id)
    if phones is not None and phone_keys(session, customer, contact) == [
            phone_key(p["e164"], p["extension"]) for p in phones]:
        phones = None
    if not changes and phones is None:
        return contact
    claim(session, contact, version, STALE_CONTACT)
    for field, (_old, new) in changes.items():
        setattr(contact, field, new)
    record_changes(session, contact.customer_id, actor, "contact", contact.id, changes)
    if phones is not None:
        phone_changes = replace_phones(session, customer, phones, contact=contact)
        record_changes(session, contact.customer_id, actor, "contact", contact.id,
                       phone_changes)
        session.expire(contact, ["phones"])
    session.flush()
    return contact
