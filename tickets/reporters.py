"""The reporter of a ticket: a contact of the customer, found again by phone.

domain.md: every person who reports a repair is added as a contact of the customer.
A caller who reported before is found by their phone (normalised E.164, like the
caller-ID lookup) among the customer's contacts rather than added a second time. The
contact is tied to the equipment through the ticket (contact + installed product).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.core.errors import ValidationError
from callcenter.customers.models import Contact, Customer, Phone
from callcenter.customers.phones import InvalidPhone, normalise_phone
from callcenter.customers.services import add_contact
from callcenter.users.models import User


def find_or_add_reporter(session: Session, actor: User, customer: Customer,
                         reporter: dict[str, str], *, region: str) -> Contact:
    """The customer's contact with the reporter's phone, else a new contact (name and
    phone). ValidationError naming ``reporter.phone`` for a number that is no number."""
    phone = (reporter.get("phone") or "").strip()
    try:
        e164 = normalise_phone(phone, region).e164
    except InvalidPhone as exc:
        raise ValidationError({"reporter.phone": exc.problem}) from exc
    contact = session.scalar(
        select(Contact).join(Phone, Phone.contact_id == Contact.id)
        .where(Contact.customer_id == customer.id, Phone.customer_id == customer.id,
               Phone.e164 == e164)
        .order_by(Contact.id).limit(1))
    if contact is not None:
        return contact
    try:
        return add_contact(session, actor, customer,
                           {"name": reporter.get("name"), "phones": [phone]}, region=region,
                           reporter=True)
    except ValidationError as exc:
        # The contact's fields are the reporter's: name the problem where it was sent.
        raise ValidationError({f"reporter.{_reporter_field(k)}": p
                               for k, p in exc.errors.items()}) from exc


def _reporter_field(field: str) -> str:
    return "phone" if field.startswith("phones") else field


