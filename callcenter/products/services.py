"""Installed products (设备): registration, correction, assignment to the real end user,
warranty state and the warranty-expiry reminder list.

A product is visible to a user exactly when its owning customer is: every read goes
through ``products_query``, which applies the customer scope in SQL.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from callcenter.customers.errors import CustomerNotFound, ProductNotFound, ValidationError
from callcenter.customers.fields import MISSING, as_id, clean_choice, clean_date, clean_text
from callcenter.customers.history import record_changes
from callcenter.customers.models import Customer
from callcenter.customers.services import require, visible_to
from callcenter.products.models import InstalledProduct, WarrantyType
from callcenter.users.models import User
from callcenter.users.permissions import Permission

#: A warranty ending within this many days counts as "expiring" (the reminder horizon).
EXPIRING_DAYS = 30
#: Longest reminder horizon a caller may ask for.
MAX_WITHIN_DAYS = 3660

PRODUCT_FIELDS = ("model", "serial_number", "warranty_type", "warranty_end", "installed_on",
                  "external_id")
_TEXT_LIMITS = {"model": 120, "serial_number": 80, "external_id": 64}


class WarrantyState(enum.StrEnum):
    IN_WARRANTY = "in_warranty"
    EXPIRING = "expiring"   # ends within EXPIRING_DAYS: time to offer a service contract
    EXPIRED = "expired"
    NONE = "none"           # no warranty, or no end date known


def local_today() -> date:
    """Today in the call center's time zone (app config, else TIMEZONE, else Shanghai)."""
    tz = None
    try:
        from flask import current_app, has_app_context
        if has_app_context():
            tz = current_app.config.get("TIMEZONE")
    except ImportError:  # pragma: no cover - Flask is a hard dependency
        pass
    return datetime.now(ZoneInfo(tz or os.environ.get("TIMEZONE") or "Asia/Shanghai")).date()


def warranty_state(product: InstalledProduct, today: date) -> WarrantyState:
    """The warranty end date is the last covered day."""
    if product.warranty_type in (WarrantyType.NONE, None) or product.warranty_end is None:
        return WarrantyState.NONE
    if product.warranty_end < today:
        return WarrantyState.EXPIRED
    if product.warranty_end <= today + timedelta(days=EXPIRING_DAYS):
        return WarrantyState.EXPIRING
    return WarrantyState.IN_WARRANTY


def _warranty_clause(state: WarrantyState, today: date):
    """``warranty_state`` as SQL, so the filter runs in the database."""
    has_warranty = and_(InstalledProduct.warranty_type != WarrantyType.NONE,
                        InstalledProduct.warranty_end.is_not(None))
    horizon = today + timedelta(days=EXPIRING_DAYS)
    if state == WarrantyState.NONE:
        return ~has_warranty
    if state == WarrantyState.EXPIRED:
        return and_(has_warranty, InstalledProduct.warranty_end < today)
    if state == WarrantyState.EXPIRING:
        return and_(has_warranty, InstalledProduct.warranty_end >= today,
                    InstalledProduct.warranty_end <= horizon)
    return and_(has_warranty, InstalledProduct.warranty_end > horizon)


def _visible_customer_ids(user: User):
    return select(Customer.id).where(Customer.merged_into_id.is_(None), visible_to(user))


def products_query(user: User, *, serial: str | None = None, model: str | None = None,
                   customer_id: int | str | None = None, warranty: str | None = None,
                   today: date | None = None) -> Select[tuple[InstalledProduct]]:
    """SELECT of the products whose owner ``user`` may see; ValidationError on bad filters."""
    stmt = select(InstalledProduct).where(
        InstalledProduct.customer_id.in_(_visible_customer_ids(user)))
    if serial:
        if not isinstance(serial, str):
            raise ValidationError({"serial": "must be text"})
        stmt = stmt.where(InstalledProduct.serial_number == serial.strip()[:80])
    if model:
        if not isinstance(model, str):
            raise ValidationError({"model": "must be text"})
        stmt = stmt.where(InstalledProduct.model == model.strip()[:120])
    if customer_id not in (None, ""):
        cid = as_id(customer_id)
        if cid is None:
            raise ValidationError({"customer_id": "must be an id"})
        stmt = stmt.where(InstalledProduct.customer_id == cid)
    if warranty:
        try:
            state = WarrantyState(warranty)
        except ValueError as exc:
            allowed = ", ".join(s.value for s in WarrantyState)
            raise ValidationError({"warranty": f"must be one of {allowed}"}) from exc
        stmt = stmt.where(_warranty_clause(state, today or local_today()))
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
        raise ValidationError({"data": "must be an object"})
    errors: dict[str, str] = {}
    for field in sorted(set(data) - set(PRODUCT_FIELDS)):
        if field in ("customer_id", "customer"):
            errors[field] = "use assign to move a product to another customer"
        elif field in ("id", "created_at"):
            errors[field] = "cannot be changed"
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
        errors["external_id"] = "cannot be changed"
    end = out.get("warranty_end", None if creating else product.warranty_end)
    start = out.get("installed_on", None if creating else product.installed_on)
    if end and start and end < start and "warranty_end" not in errors:
        errors["warranty_end"] = "is before the installation date"
    own_id = product.id if product is not None else None
    for field in ("serial_number", "external_id"):
        if out.get(field) and field not in errors and session.scalar(
                select(InstalledProduct.id).where(getattr(InstalledProduct, field) == out[field],
                                                  InstalledProduct.id != own_id)):
            errors[field] = f"{out[field]!r} is already registered to another product"
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
        raise ValidationError({field: "already registered to another product"}) from exc


def _require_live(customer: Customer, field: str = "customer_id") -> None:
    if customer.merged_into_id is not None:
        raise ValidationError({field: f"customer {customer.id} was merged into "
                                      f"{customer.merged_into_id}"})


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
    site) but stays unique; every changed field is recorded on the owner's history."""
    require(actor, Permission.PRODUCT_WRITE)
    values = _clean(session, data, product=product)
    changes = {field: (getattr(product, field), new) for field, new in values.items()
               if getattr(product, field) != new}
    if changes:
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


def expiring_warranties(session: Session, user: User, *, within_days: int = EXPIRING_DAYS,
                        today: date | None = None) -> list[InstalledProduct]:
    """Products in ``user``'s scope whose warranty or service contract ends within
    ``within_days`` days (today included), soonest first: the reminder list."""
    if isinstance(within_days, bool) or not isinstance(within_days, int) \
            or not 0 <= within_days <= MAX_WITHIN_DAYS:
        raise ValidationError({"within_days": f"must be a whole number 0-{MAX_WITHIN_DAYS}"})
    today = today or local_today()
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

