"""Installed products (设备): registration, correction, assignment to the real end user,
warranty state and the warranty-expiry reminder list.

A product is visible to a user exactly when its owning customer is: every read goes
through ``products_query``, which applies the customer scope in SQL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from callcenter.core.errors import NotFound, Problem, ValidationError
from callcenter.core.fields import (
    MISSING,
    as_id,
    choice_problem,
    clean_choice,
    clean_date,
    clean_text,
)
from callcenter.core.versions import check_version, claim
from callcenter.customers.history import record_changes
from callcenter.customers.models import Customer
from callcenter.customers.services import CustomerNotFound, require, visible_to
from callcenter.products.models import InstalledProduct, WarrantyType
from callcenter.products.schemas import LIMITS
from callcenter.products.warranty import (
    EXPIRING_DAYS,
    WarrantyState,
    warranty_clause,
    warranty_state,
)
from callcenter.users.models import User
from callcenter.users.permissions import Permission

#: Longest reminder horizon a caller may ask for.
MAX_WITHIN_DAYS = 3660

PRODUCT_FIELDS = ("model", "serial_number", "warranty_type", "warranty_end", "installed_on",
                  "external_id")
_TEXT_LIMITS = {field: LIMITS[field] for field in ("model", "serial_number", "external_id")}


#: The code of a stale ``version`` (409).
STALE_PRODUCT = "product.stale_version"


class ProductNotFound(NotFound):
    """No such installed product, or its owner is outside the asking user's scope."""

    entity = "product"


def _visible_customer_ids(user: User):
    return select(Customer.id).where(Customer.merged_into_id.is_(None), visible_to(user))


def products_query(user: User, *, serial: str | None = None, model: str | None = None,
                   customer_id: int | str | None = None, warranty: str | None = None,
                   today: date | None = None) -> Select[tuple[InstalledProduct]]:
    """SELECT of the products whose owner ``user`` may see; ValidationError on bad filters.

    ``today`` (the call center's date, ``Locality.today()``) is needed for ``warranty``."""
    stmt = select(InstalledProduct).where(
        InstalledProduct.customer_id.in_(_visible_customer_ids(user)))
    if serial:
        if not isinstance(serial, str):
            raise ValidationError({"serial": Problem("not_text")})
        stmt = stmt.where(InstalledProduct.serial_number == serial.strip()[:80])
    if model:
        if not isinstance(model, str):
            raise ValidationError({"model": Problem("not_text")})
        stmt = stmt.where(InstalledProduct.model == model.strip()[:120])
    if customer_id not in (None, ""):
        cid = as_id(customer_id)
        if cid is None:
            raise ValidationError({"customer_id": Problem("not_id")})
        stmt = stmt.where(InstalledProduct.customer_id == cid)
    if warranty:
        try:
            state = WarrantyState(warranty)
        except ValueError as exc:
            raise ValidationError({"warranty": choice_problem(WarrantyState)}) from exc
        if today is None:
            raise TypeError("products_query: a warranty filter needs today's date")
        stmt = stmt.where(warranty_clause(state, today))
    return stmt.order_by(InstalledProduct.id)


def get_product(session: Session, user: User, product_id: int | str) -> InstalledProduct:
    """The product, if it exists and its owner is in ``user``'s scope; else ProductNotFound."""
    pid = as_id(product_id)
    if pid is None:
        raise ProductNotFound(product_id)
    product = session.scalar(products_query(user).where(InstalledProduct.id == pid))
    if product is None:
        raise ProductNotFound(product_id)
    return product


def _clean(session: Session, data: dict[str, Any], *,
           product: InstalledProduct | None = None) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationError({"data": Problem("not_object")})
    errors: dict[str, Problem] = {}
    for field in sorted(set(data) - set(PRODUCT_FIELDS)):
        if field in ("customer_id", "customer"):
            errors[field] = Problem("product.use_assign")
        elif field in ("id", "created_at"):
            errors[field] = Problem("read_only")
    creating = product is None
    out: dict[str, Any] = {}
    for field, limit in _TEXT_LIMITS.items():
        value = clean_text(data, field, limit, errors,
                           required=field in ("model", "serial_number")
                           and (creating or field in data))
        if value is not MISSING and field not in errors:
            out[field] = value
    for field in ("warranty_end", "installed_on"):
        value = clean_date(data, field, errors)
        if value is not MISSING and field not in errors:
            out[field] = value
    warranty_type = clean_choice(data, "warranty_type", WarrantyType, errors)
    if warranty_type is not MISSING and "warranty_type" not in errors:
        out["warranty_type"] = warranty_type
    if out.get("external_id") == "":
        out["external_id"] = None
    if not creating and out.get("external_id") != product.external_id \
            and "external_id" in out and product.external_id is not None:
        errors["external_id"] = Problem("identity")
    end = out.get("warranty_end", None if creating else product.warranty_end)
    start = out.get("installed_on", None if creating else product.installed_on)
    if end and start and end < start and "warranty_end" not in errors:
        errors["warranty_end"] = Problem("product.ends_before_install")
    own_id = product.id if product is not None else None
    for field in ("serial_number", "external_id"):
        if out.get(field) and field not in errors and session.scalar(
                select(InstalledProduct.id).where(getattr(InstalledProduct, field) == out[field],
                                                  InstalledProduct.id != own_id)):
            errors[field] = Problem("product.taken", {"value": out[field]})
    if errors:
        raise ValidationError(errors)
    return out


def _write_unique(session: Session, apply: Callable[[], None]) -> None:
    """Apply and flush inside a savepoint: a unique-key race lost to a concurrent writer
    becomes a ValidationError and leaves the session (and the product) as it was."""
    try:
        with session.begin_nested():
            apply()
            session.flush()
    except IntegrityError as exc:
        field = "external_id" if "external_id" in str(exc.orig) else "serial_number"
        raise ValidationError({field: Problem("product.taken_race")}) from exc


def _require_live(customer: Customer, field: str = "customer_id") -> None:
    if customer.merged_into_id is not None:
        raise ValidationError({field: Problem(
            "customer.merged", {"id": customer.id, "into": customer.merged_into_id})})


def register_product(session: Session, actor: User, customer: Customer,
                     data: dict[str, Any]) -> InstalledProduct:
    """Record a product sold to (or found at) ``customer``, already scope-checked."""
    require(actor, Permission.PRODUCT_WRITE)
    _require_live(customer)
    values = _clean(session, data)
    values.setdefault("warranty_type", WarrantyType.STANDARD)
    product = InstalledProduct(customer_id=customer.id, **values)
    _write_unique(session, lambda: session.add(product))
    record_changes(session, customer.id, actor, "product", product.id,
                   {"registered": (None, f"{product.model} {product.serial_number}")})
    session.flush()
    session.expire(customer, ["products"])
    return product


def update_product(session: Session, actor: User, product: InstalledProduct,
                   data: dict[str, Any]) -> InstalledProduct:
    """Correct a product's data. The serial number may be corrected (typos happen on
    site) but stays unique; every changed field is recorded on the owner's history.
    ``data["version"]`` (optional): the version the client read; stale: StaleVersion
    (409) and nothing changes. A real change bumps the version."""
    require(actor, Permission.PRODUCT_WRITE)
    data = dict(data)
    version = data.pop("version", None)
    check_version(product, version, STALE_PRODUCT)
    values = _clean(session, data, product=product)
    changes = {field: (getattr(product, field), new) for field, new in values.items()
               if getattr(product, field) != new}
    if changes:
        claim(session, product, version, STALE_PRODUCT)

        def apply() -> None:
            for field, (_old, new) in changes.items():
                setattr(product, field, new)
        _write_unique(session, apply)
        record_changes(session, product.customer_id, actor, "product", product.id, changes)
        session.flush()
    return product


def assign_product(session: Session, actor: User, product: InstalledProduct,
                   new_customer: Customer) -> InstalledProduct:
    """Move equipment to its real end user (typically from a placeholder owner).

    ``new_customer`` must be in the actor's scope too: otherwise CustomerNotFound, as if
    it did not exist. The move is recorded on both customers' histories.
    """
    require(actor, Permission.PRODUCT_WRITE)
    _require_live(new_customer)
    if not session.scalar(select(Customer.id).where(Customer.id == new_customer.id,
                                                    visible_to(actor))):
        raise CustomerNotFound(new_customer.id)
    old_id = product.customer_id
    if old_id == new_customer.id:
        return product
    claim(session, product, None, STALE_PRODUCT)
    product.customer_id = new_customer.id
    session.flush()
    label = f"{product.model} {product.serial_number}"
    record_changes(session, old_id, actor, "product", product.id,
                   {"moved_to_customer": (label, new_customer.id)})
    record_changes(session, new_customer.id, actor, "product", product.id,
                   {"assigned_from_customer": (old_id, label)})
    session.flush()
    session.expire(product, ["customer"])
    session.expire(new_customer, ["products"])
    old = session.get(Customer, old_id)
    if old is not None:
        session.expire(old, ["products"])
    return product


def expiring_warranties(session: Session, user: User, *, today: date,
                        within_days: int = EXPIRING_DAYS) -> list[InstalledProduct]:
    """Products in ``user``'s scope whose warranty or service contract ends within
    ``within_days`` days (today included), soonest first: the reminder list."""
    if isinstance(within_days, bool) or not isinstance(within_days, int) \
            or not 0 <= within_days <= MAX_WITHIN_DAYS:
        raise ValidationError({"within_days": Problem("whole_number",
                                                      {"min": 0, "max": MAX_WITHIN_DAYS})})
    stmt = (products_query(user)
            .where(InstalledProduct.warranty_type != WarrantyType.NONE,
                   InstalledProduct.warranty_end >= today,
                   InstalledProduct.warranty_end <= today + timedelta(days=within_days))
            .order_by(None)
            .order_by(InstalledProduct.warranty_end, InstalledProduct.id))
    return list(session.scalars(stmt))


def products_by_state(products: list[InstalledProduct],
                      today: date) -> dict[WarrantyState, list[InstalledProduct]]:
    """Group already-loaded products by warranty state (for the 360° page)."""
    groups: dict[WarrantyState, list[InstalledProduct]] = {s: [] for s in WarrantyState}
    for product in products:
        groups[warranty_state(product, today)].append(product)
    return groups

