"""Addresses of a customer (main, ship-to 运达地址, bill-to 开票地址, ...), with history."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callcenter.core.errors import NotFound, Problem, ValidationError
from callcenter.core.fields import MISSING, as_id, choice_problem, clean_text
from callcenter.customers.history import record_changes
from callcenter.customers.models import Address, Customer
from callcenter.customers.schemas import ADDRESS_LIMITS, ADDRESS_PURPOSES
from callcenter.customers.services import require, visible_to
from callcenter.users.models import User
from callcenter.users.permissions import Permission

ADDRESS_FIELDS = ("purpose", "line", "city", "province", "postcode", "country")
_TEXT_LIMITS = {field: ADDRESS_LIMITS[field] for field in ("line", "city", "province",
                                                           "postcode")}
#: A customer with more addresses than this is a data problem, not a customer.
MAX_ADDRESSES = 50
_COUNTRY = re.compile(r"[A-Z]{2}")
#: Country of an address given without one (the call center's own country).
DEFAULT_COUNTRY = "CN"


class AddressNotFound(NotFound):
    """No such address, or its customer is outside the asking user's scope."""

    entity = "address"


def get_address(session: Session, user: User, address_id: int | str) -> Address:
    """The address, if its customer is in ``user``'s scope; else AddressNotFound."""
    aid = as_id(address_id)
    address = aid and session.scalar(
        select(Address).join(Customer, Customer.id == Address.customer_id)
        .where(Address.id == aid, Customer.merged_into_id.is_(None), visible_to(user)))
    if not address:
        raise AddressNotFound(address_id)
    return address


def _clean(data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationError({"data": Problem("not_object")})
    errors: dict[str, Problem] = {}
    for field in sorted(set(data) - set(ADDRESS_FIELDS)):
        if field in ("id", "customer_id"):
            errors[field] = Problem("read_only")
    out: dict[str, Any] = {}
    for field, limit in _TEXT_LIMITS.items():
        value = clean_text(data, field, limit, errors,
                           required=field == "line" and (creating or field in data))
        if value is not MISSING and field not in errors:
            out[field] = value
    purpose = clean_text(data, "purpose", 20, errors)
    if purpose not in (MISSING, None):
        if purpose not in ADDRESS_PURPOSES:
            errors["purpose"] = choice_problem(ADDRESS_PURPOSES)
        else:
            out["purpose"] = purpose
    country = clean_text(data, "country", 2, errors)
    if country not in (MISSING, None):
        country = country.upper() or DEFAULT_COUNTRY
        if not _COUNTRY.fullmatch(country):
            errors["country"] = Problem("country_code")
        else:
            out["country"] = country
    if errors:
        raise ValidationError(errors)
    return out


def _require_live(customer: Customer) -> None:
    if customer.merged_into_id is not None:
        raise ValidationError({"customer_id": Problem(
            "customer.merged", {"id": customer.id, "into": customer.merged_into_id})})


def add_address(session: Session, actor: User, customer: Customer,
                data: dict[str, Any]) -> Address:
    """Add an address to ``customer`` (already scope-checked by the caller)."""
    require(actor, Permission.CUSTOMER_UPDATE)
    _require_live(customer)
    values = _clean(data, creating=True)
    count = session.scalar(select(func.count()).select_from(Address)
                           .where(Address.customer_id == customer.id))
    if count >= MAX_ADDRESSES:
        raise ValidationError({"addresses": Problem("address.too_many",
                                                    {"max": MAX_ADDRESSES})})
    address = Address(customer_id=customer.id, **values)
    session.add(address)
    session.flush()
    record_changes(session, customer.id, actor, "address", address.id,
                   {"added": (None, _describe(address))})
    session.flush()
    session.expire(customer, ["addresses"])
    return address


def update_address(session: Session, actor: User, address: Address,
                   data: dict[str, Any]) -> Address:
    """Change fields of ``address``; each changed field goes into the customer's history."""
    require(actor, Permission.CUSTOMER_UPDATE)
    values = _clean(data, creating=False)
    changes: dict[str, tuple[Any, Any]] = {}
    for field, new in values.items():
        old = getattr(address, field)
        if old != new:
            changes[field] = (old, new)
            setattr(address, field, new)
    if changes:
        record_changes(session, address.customer_id, actor, "address", address.id, changes)
        session.flush()
    return address


def remove_address(session: Session, actor: User, address: Address) -> None:
    """Delete ``address``; the history keeps what it said."""
    require(actor, Permission.CUSTOMER_UPDATE)
    customer_id = address.customer_id
    record_changes(session, customer_id, actor, "address", address.id,
                   {"removed": (_describe(address), None)})
    session.delete(address)
    session.flush()
    customer = session.get(Customer, customer_id)
    if customer is not None:
        session.expire(customer, ["addresses"])


def _describe(address: Address) -> str:
    parts = [address.line, address.city, address.province, address.postcode, address.country]
    return f"[{address.purpose}] " + ", ".join(p for p in parts if p)
