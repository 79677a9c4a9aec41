"""Customer master data: the business rules. Routes, API, CLI and jobs call these.

Every function takes the session and the acting user; none commits (the caller's
unit of work does). Reads go through ``customers_query`` so the user's scope is
always applied in SQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, exists, select, union
from sqlalchemy.orm import Session

from callcenter.core.errors import NotFound, PermissionDenied, Problem, ValidationError
from callcenter.core.fields import (
    MAX_ID,
    choice_problem,
    has_control_chars,
    is_email_address,
    text_problem,
)
from callcenter.core.versions import check_version, claim
from callcenter.customers.history import record_changes
from callcenter.customers.models import (
    Contact,
    Customer,
    Lifecycle,
    Phone,
    Tier,
    customer_related_users,
)
from callcenter.customers.name_search import customers_named
from callcenter.customers.names import name_key
from callcenter.customers.phone_lists import (
    clean_phones,
    phone_key,
    phone_keys,
    replace_phones,
)
from callcenter.customers.phones import InvalidPhone, normalise_phone, try_normalise_phone
from callcenter.customers.schemas import (
    CONTACT_LIMITS,
    CUSTOMER_LIMITS,
)
from callcenter.products.models import InstalledProduct
from callcenter.users.models import Department, User
from callcenter.users.permissions import Permission, has_permission
from callcenter.users.scopes import scope_clause

#: Longest accepted value per free-text field: the schema's (``CUSTOMER_LIMITS``).
FIELD_LIMITS = CUSTOMER_LIMITS

#: Fields a caller may set through create/update (the identity fields are not among them).
EDITABLE_FIELDS = ("name", "region", "industry", "lifecycle", "tier", "tax_id", "email",
                   "notes", "is_placeholder", "responsible_id", "department_id",
                   "ship_to_id", "bill_to_id", "payer_id")


#: The codes of a stale ``version`` (409), per record kind.
STALE_CUSTOMER = "customer.stale_version"
STALE_CONTACT = "contact.stale_version"


class CustomerNotFound(NotFound):
    """No such customer, or not within the asking user's scope (the two look the same)."""

    entity = "customer"


def require(user: User, permission: Permission) -> None:
    if not has_permission(user.role, permission):
        raise PermissionDenied(permission.value, user.role.value)


def visible_to(user: User):
    """SQL clause: customers ``user`` may see (scope, and never merged-away records)."""
    related = lambda uid: exists().where(  # noqa: E731
        customer_related_users.c.customer_id == Customer.id,
        customer_related_users.c.user_id == uid)
    return scope_clause(user, responsible_col=Customer.responsible_id,
                        department_col=Customer.department_id, related_to=related)


def customers_query(
    user: User,
    *,
    q: str | None = None,
    phone: str | None = None,
    serial: str | None = None,
    tier: str | None = None,
    lifecycle: str | None = None,
    region: str | None = None,
    industry: str | None = None,
    region_code: str | None = None,
) -> Select[tuple[Customer]]:
    """SELECT of the customers ``user`` may see, filtered; ValidationError on bad filters.

    ``region_code`` (the configured ``Locality.region``) reads phone numbers without a
    country code; the ``phone`` and ``q`` filters need it."""
    if (phone or q) and region_code is None:
        raise TypeError("customers_query: a phone or text search needs the phone region")
    stmt = select(Customer).where(Customer.merged_into_id.is_(None), visible_to(user))
    if phone:
        try:
            e164 = normalise_phone(phone, region_code).e164
        except InvalidPhone as exc:
            raise ValidationError({"phone": exc.problem}) from exc
        stmt = stmt.where(Customer.id.in_(select(Phone.customer_id).where(Phone.e164 == e164)))
    if serial:
        stmt = stmt.where(Customer.id.in_(
            select(InstalledProduct.customer_id)
            .where(InstalledProduct.serial_number == serial.strip())))
    if q:
        # Each way of naming a customer is an indexed lookup; the union of their ids is
        # one semi-join (an OR of them would scan every customer).
        text = q.strip()[:200]
        found: list[Select] = [
            select(InstalledProduct.customer_id).where(InstalledProduct.serial_number == text),
            select(Customer.id).where(Customer.tax_id == text)]
        named = customers_named(text)
        if named is not None:
            found.append(named)
        number = try_normalise_phone(text, region_code)
        if number:
            found.append(select(Phone.customer_id).where(Phone.e164 == number.e164))
        stmt = stmt.where(Customer.id.in_(union(*found)))
    for column, value, enum in ((Customer.tier, tier, Tier),
                                (Customer.lifecycle, lifecycle, Lifecycle)):
        if value:
            try:
                stmt = stmt.where(column == enum(value))
            except ValueError as exc:
                raise ValidationError({column.key: choice_problem(enum)}) from exc
    if region:
        stmt = stmt.where(Customer.region == region)
    if industry:
        stmt = stmt.where(Customer.industry == industry)
    return stmt.order_by(Customer.id)


def get_customer(session: Session, user: User, customer_id: int) -> Customer:
    """The customer, if it exists and ``user`` may see it; else CustomerNotFound."""
    customer = session.scalar(
        select(Customer).where(Customer.id == customer_id, visible_to(user)))
    if customer is None:
        raise CustomerNotFound(customer_id)
    return customer


def find_customer_by_phone(session: Session, number: str, *,
                           region: str) -> Customer | None:
    """The customer whose (or whose contact's) phone is ``number``, in any format.

    This is the caller-ID lookup the telephony bridge calls on every ringing call: one
    indexed equality on ``phones.e164``. Unusable caller IDs ('anonymous', '<unknown>',
    garbage) find nothing. When several customers share a number, a customer's own
    phone wins over a contact's, and then the oldest record (duplicates are merged into
    the oldest, see ``merge_customers``).
    """
    normalised = try_normalise_phone(number, region)
    if normalised is None:
        return None
    stmt = (select(Customer)
            .join(Phone, Phone.customer_id == Customer.id)
            .where(Phone.e164 == normalised.e164, Customer.merged_into_id.is_(None))
            .order_by(Phone.contact_id.is_not(None), Customer.id)
            .limit(1))
    return session.scalar(stmt)


# --- validation -------------------------------------------------------------------

def _clean(data: dict[str, Any], session: Session, *, creating: bool,
           customer: Customer | None = None, actor: User | None = None) -> dict[str, Any]:
    errors: dict[str, Problem] = {}
    out: dict[str, Any] = {}
    unknown = set(data) - set(EDITABLE_FIELDS) - {"phones", "external_id", "related_user_ids"}
    for field in sorted(unknown):
        if field in ("id", "created_at", "updated_at", "merged_into_id"):
            errors[field] = Problem("read_only")
    for field, limit in FIELD_LIMITS.items():
        if field not in data or data[field] is None:
            continue
        value = data[field]
        if not isinstance(value, str):
            errors[field] = Problem("not_text")
            continue
        value = value.strip()
        if len(value) > limit:
            errors[field] = Problem("too_long", {"max": limit})
            continue
        if has_control_chars(value, allow_newlines=field == "notes"):
            errors[field] = Problem("control_chars")
            continue
        if field == "email" and value and not is_email_address(value):
            errors[field] = Problem("email")
            continue
        out[field] = value
    if "external_id" in out and not creating:
        if customer is not None and customer.external_id not in (None, out["external_id"]):
            errors["external_id"] = Problem("identity")
    if creating and not out.get("name") and "name" not in errors:
        errors["name"] = Problem("required")
    elif "name" in data and not out.get("name") and "name" not in errors:
        errors["name"] = Problem("required")
    if "tax_id" in out and out["tax_id"] == "":
        out["tax_id"] = None
    for field, enum in (("tier", Tier), ("lifecycle", Lifecycle)):
        if data.get(field) is not None:
            try:
                out[field] = enum(data[field])
            except ValueError:
                errors[field] = choice_problem(enum)
    if "is_placeholder" in data:
        if not isinstance(data["is_placeholder"], bool):
            errors["is_placeholder"] = Problem("not_boolean")
        else:
            out["is_placeholder"] = data["is_placeholder"]
    _clean_references(data, session, out, errors, customer, actor)
    if errors:
        raise ValidationError(errors)
    return out


def _as_id(value: Any) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise ValueError
    number = int(value)
    if not 0 < number <= MAX_ID:  # ids are 32-bit columns; a bigger one cannot exist
        raise ValueError
    return number


def _partner_visible(session: Session, actor: User | None, customer_id: int) -> bool:
    """A live customer the actor may see (any live one for the command line's None)."""
    stmt = select(Customer.id).where(Customer.id == customer_id,
                                     Customer.merged_into_id.is_(None))
    if actor is not None:
        stmt = stmt.where(visible_to(actor))
    return session.scalar(stmt) is not None


def _clean_references(data, session, out, errors, customer, actor) -> None:
    """Check the ids of other records. A partner customer outside the actor's scope is
    refused exactly like one that does not exist (same code, same words): an id is no
    way to learn that a hidden customer exists. Keeping the current partner is allowed."""
    refs = {"responsible_id": User, "department_id": Department,
            "ship_to_id": Customer, "bill_to_id": Customer, "payer_id": Customer}
    for field, model in refs.items():
        if field not in data:
            continue
        try:
            ref = _as_id(data[field])
        except (TypeError, ValueError, OverflowError):
            errors[field] = Problem("not_id")
            continue
        if customer is not None and model is Customer and ref == customer.id:
            ref = None  # the sold-to itself is the default partner
        unchanged = customer is not None and getattr(customer, field) == ref
        if ref is not None and model is Customer and not unchanged:
            if not _partner_visible(session, actor, ref):
                errors[field] = Problem("customer.unknown", {"id": ref})
                continue
        elif ref is not None and model is not Customer and session.get(model, ref) is None:
            errors[field] = Problem(f"{model.__name__.lower()}.unknown", {"id": ref})
            continue
        out[field] = ref
    # Finance rule: payer must equal bill-to. Setting only bill-to moves the payer with it.
    if "bill_to_id" in out and "payer_id" not in data:
        out["payer_id"] = out["bill_to_id"]
    if "payer_id" in out and "bill_to_id" not in data:
        if out["payer_id"] != (customer.bill_to_id if customer is not None else None):
            errors["payer_id"] = Problem("customer.payer_not_bill_to")
    if "payer_id" in out and "bill_to_id" in out and out["payer_id"] != out["bill_to_id"]:
        errors["payer_id"] = Problem("customer.payer_not_bill_to")
    if "related_user_ids" in data:
        ids = data["related_user_ids"]
        try:
            ids = sorted({_as_id(i) for i in (ids or [])})
            if None in ids:
                raise ValueError
        except (TypeError, ValueError, OverflowError):
            errors["related_user_ids"] = Problem("users.not_list")
        else:
            found = set(session.scalars(select(User.id).where(User.id.in_(ids))))
            if set(ids) - found:
                errors["related_user_ids"] = Problem("users.unknown",
                                                     {"ids": sorted(set(ids) - found)})
            out["related_user_ids"] = ids


# --- writes -------------------------------------------------------------------------

def create_customer(session: Session, actor: User, data: dict[str, Any], *,
                    region: str) -> Customer:
    """A new customer in the creator's scope. ``region``: where phone numbers without a
    country code are dialled; the edges pass the configured one (``Locality.region``)."""
    require(actor, Permission.CUSTOMER_CREATE)
    phones = clean_phones(data.get("phones") or [], region)
    values = _clean(data, session, creating=True, actor=actor)
    related = values.pop("related_user_ids", None)
    if values.get("external_id") and session.scalar(
            select(Customer.id).where(Customer.external_id == values["external_id"])):
        raise ValidationError({"external_id": Problem("customer.external_id_taken")})
    # New customers start in their creator's scope: responsible = creator, their department.
    values.setdefault("responsible_id", actor.id)
    values.setdefault("department_id", actor.department_id)
    customer = Customer(name_key=name_key(values["name"]), **values)
    session.add(customer)
    session.flush()
    if related:
        customer.related_users = list(session.scalars(select(User).where(User.id.in_(related))))
    for phone in phones:
        session.add(Phone(customer_id=customer.id, **phone))
    record_changes(session, customer.id, actor, "customer", customer.id,
                   {"created": (None, customer.name)})
    session.flush()
    return customer


def update_customer(session: Session, actor: User, customer: Customer,
                    data: dict[str, Any], *, region: str) -> Customer:
    """Apply ``data`` to ``customer`` (already scope-checked), recording every changed field.

    ``data["version"]`` (optional) is the version the client read: when it is no longer
    current nothing changes and StaleVersion (409) says which one is. A real change bumps
    the version (``callcenter.core.versions.claim``), also without one given."""
    require(actor, Permission.CUSTOMER_UPDATE)
    data = dict(data)
    version = data.pop("version", None)
    check_version(customer, version, STALE_CUSTOMER)
    # Every check before the first change: a rejected update leaves the record as it was.
    phones: list[dict] | None = None
    errors: dict[str, Problem] = {}
    try:
        values = _clean(data, session, creating=False, customer=customer, actor=actor)
    except ValidationError as exc:
        errors.update(exc.errors)
    if "phones" in data:
        try:
            phones = clean_phones(data["phones"], region)
        except ValidationError as exc:
            errors.update(exc.errors)
    if errors:
        raise ValidationError(errors)
    related = values.pop("related_user_ids", None)
    values.pop("external_id", None)
    changes = {field: (getattr(customer, field), new) for field, new in values.items()
               if getattr(customer, field) != new}
    old_ids = [u.id for u in customer.related_users] if related is not None else None
    if related is not None and old_ids != related:
        changes["related_user_ids"] = (old_ids, related)
    phone_change = phones is not None and phone_keys(session, customer) != \
        [phone_key(p["e164"], p["extension"]) for p in phones]
    if not changes and not phone_change:
        return customer
    claim(session, customer, version, STALE_CUSTOMER)
    for field, (_old, new) in changes.items():
        if field != "related_user_ids":
            setattr(customer, field, new)
    if "name" in changes:
        customer.name_key = name_key(customer.name)
    if "related_user_ids" in changes:
        customer.related_users = list(
            session.scalars(select(User).where(User.id.in_(related))))
    if phones is not None:
        changes.update(replace_phones(session, customer, phones))
    record_changes(session, customer.id, actor, "customer", customer.id, changes)
    session.flush()
    return customer


def add_contact(session: Session, actor: User, customer: Customer, data: dict[str, Any], *,
                region: str, reporter: bool = False) -> Contact:
    """Add a person who calls in for ``customer`` (e.g. whoever reported a repair).

    ``reporter``: the person is being recorded because they reported something (a
    ticket's reporter): domain.md makes every reporter a contact, so anyone who may
    read the customer adds them (a technician at the site), not only those who may
    edit customers. The addition is in the customer's change history either way."""
    require(actor, Permission.CUSTOMER_READ if reporter else Permission.CUSTOMER_UPDATE)
    errors: dict[str, Problem] = {}
    values: dict[str, Any] = {}
    for field, limit in CONTACT_LIMITS.items():
        value, problem = text_problem(data.get(field), limit, required=field == "name")
        if problem is None and field == "email" and value and not is_email_address(value):
            problem = Problem("email")
        if problem is not None:
            errors[field] = problem
        else:
            values[field] = value or ""
    phones: list[dict] = []
    try:
        phones = clean_phones(data.get("phones") or [], region)
    except ValidationError as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationError(errors)
    contact = Contact(customer_id=customer.id, name=values["name"],
                      position=values["position"], email=values["email"],
                      external_id=values["external_id"] or None)
    session.add(contact)
    session.flush()
    for phone in phones:
        session.add(Phone(customer_id=customer.id, contact_id=contact.id, **phone))
    record_changes(session, customer.id, actor, "contact", contact.id,
                   {"added": (None, contact.name)})
    session.flush()
    return contact
