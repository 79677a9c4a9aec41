"""The spare-parts catalogue: SKU (unique), name, unit, price (a decimal, never a float)
and the product models a part fits (``part_fits``)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Select, delete, func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from callcenter.core.errors import NotFound, Problem, ValidationError
from callcenter.core.fields import as_id, text_problem
from callcenter.core.versions import check_version, claim
from callcenter.customers.services import require
from callcenter.users.models import User
from callcenter.users.permissions import Permission
from repairs.models import Part, part_fits
from repairs.schemas_stock import MAX_FITS, MAX_PRICE, MODEL_LIMIT, PART_LIMITS

STALE_PART = "part.stale_version"
_TEXT = ("sku", "name", "unit")


class PartNotFound(NotFound):
    entity = "part"


def get_part(session: Session, part_id: Any) -> Part:
    pid = as_id(part_id)
    part = session.get(Part, pid) if pid is not None else None
    if part is None:
        raise PartNotFound(part_id)
    return part


def parts_query(*, q: str | None = None, fits: str | None = None,
                active: bool | None = None) -> Select:
    """Parts by SKU; ``q``: part of the SKU or the name; ``fits``: a product model."""
    stmt = select(Part).order_by(Part.sku)
    if q:
        needle = q.lower()
        stmt = stmt.where(or_(func.lower(Part.sku).contains(needle, autoescape=True),
                              func.lower(Part.name).contains(needle, autoescape=True)))
    if fits:
        stmt = stmt.where(Part.id.in_(select(part_fits.c.part_id)
                                      .where(part_fits.c.model == fits)))
    if active is not None:
        stmt = stmt.where(Part.active.is_(active))
    return stmt


def fits_of(session: Session, part_ids: list[int]) -> dict[int, list[str]]:
    """part id -> the models it fits (sorted), for a page of parts in one query."""
    out: dict[int, list[str]] = {pid: [] for pid in part_ids}
    if part_ids:
        for pid, model in session.execute(select(part_fits.c.part_id, part_fits.c.model)
                                          .where(part_fits.c.part_id.in_(part_ids))
                                          .order_by(part_fits.c.model)):
            out[pid].append(model)
    return out


def _price(value: Any) -> Decimal | None:
    try:
        price = Decimal(value if isinstance(value, str) else repr(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    if isinstance(value, bool) or not price.is_finite() or price < 0 or price > MAX_PRICE \
            or price != price.quantize(Decimal("0.01")):
        return None
    return price.quantize(Decimal("0.01"))


def _clean(session: Session, data: dict[str, Any], part: Part | None = None
           ) -> tuple[dict[str, Any], list[str] | None]:
    errors: dict[str, Problem] = {}
    values: dict[str, Any] = {}
    for field in _TEXT:
        if field in data and data[field] is not None:
            value, problem = text_problem(data[field], PART_LIMITS[field], required=True)
            if problem:
                errors[field] = problem
            else:
                values[field] = value
    if data.get("unit_price") is not None:
        price = _price(data["unit_price"])
        if price is None:
            errors["unit_price"] = Problem("part.price")
        values["unit_price"] = price
    if data.get("active") is not None:
        if not isinstance(data["active"], bool):
            errors["active"] = Problem("not_boolean")
        values["active"] = data["active"]
    fits = None
    if data.get("fits") is not None:
        fits = _models(data["fits"], errors)
    if errors:
        raise ValidationError(errors)
    sku = values.get("sku")
    if sku is not None and session.scalar(select(Part.id).where(
            Part.sku == sku, Part.id != (part.id if part else 0))):
        raise ValidationError({"sku": Problem("part.sku_taken", {"sku": sku})})
    return values, fits


def _models(value: Any, errors: dict[str, Problem]) -> list[str] | None:
    if not isinstance(value, list):
        errors["fits"] = Problem("not_list")
        return None
    if len(value) > MAX_FITS:
        errors["fits"] = Problem("too_many", {"max": MAX_FITS})
        return None
    models: list[str] = []
    for i, item in enumerate(value):
        text, problem = text_problem(item, MODEL_LIMIT, required=True)
        if problem:
            errors[f"fits[{i}]"] = problem
        elif text not in models:
            models.append(text)
    return models


def _set_fits(session: Session, part_id: int, models: list[str]) -> None:
    session.execute(delete(part_fits).where(part_fits.c.part_id == part_id))
    if models:
        session.execute(insert(part_fits), [{"part_id": part_id, "model": m} for m in models])


def _write_unique(session: Session, apply: Callable[[], None], sku: str) -> None:
    try:
        with session.begin_nested():
            apply()
            session.flush()
    except IntegrityError as exc:
        raise ValidationError({"sku": Problem("part.sku_taken", {"sku": sku})}) from exc


def create_part(session: Session, actor: User, data: dict[str, Any]) -> Part:
    """A new catalogue entry from the fields of ``PartCreate``."""
    require(actor, Permission.PART_MANAGE)
    missing = {f: Problem("required") for f in ("sku", "name", "unit_price")
               if data.get(f) is None}
    if missing:
        raise ValidationError(missing)
    values, fits = _clean(session, data)
    part = Part(**values)
    _write_unique(session, lambda: session.add(part), values["sku"])
    _set_fits(session, part.id, fits or [])
    return part


def update_part(session: Session, actor: User, part: Part, data: dict[str, Any]) -> Part:
    """Change the fields given (``fits`` replaces the list); ``data["version"]``
    (optional) as read: stale is StaleVersion (409) and nothing changes. A price change
    does not touch parts already issued (they keep the price they were issued at)."""
    require(actor, Permission.PART_MANAGE)
    data = dict(data)
    version = data.pop("version", None)
    check_version(part, version, STALE_PART)
    values, fits = _clean(session, data, part)
    changes = {k: v for k, v in values.items() if getattr(part, k) != v}
    fits_changed = fits is not None and fits != fits_of(session, [part.id])[part.id]
    if changes or fits_changed:
        claim(session, part, version, STALE_PART)

        def apply() -> None:
            for field, value in changes.items():
                setattr(part, field, value)
        _write_unique(session, apply, changes.get("sku", part.sku))
        if fits_changed:
            _set_fits(session, part.id, fits)
    return part
