"""Service stations' master data (after-sales finance keeps it): create and change a
station. A station is a department (its technicians) and a customer record (the dealer
after-sales settles with); a customer outside the actor's scope is refused exactly like
one that does not exist (``customer.unknown``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from callcenter.core.errors import NotFound, Problem, ValidationError
from callcenter.core.fields import as_id, text_problem
from callcenter.core.versions import check_version, claim
from callcenter.customers.services import CustomerNotFound, get_customer, require
from callcenter.users.models import Department, User
from callcenter.users.permissions import Permission
from repairs.models import Station
from repairs.schemas_stock import STATION_LIMITS

STALE_STATION = "station.stale_version"
_TEXT = ("name", "address", "phone")


class StationNotFound(NotFound):
    entity = "station"


def get_station(session: Session, station_id: Any) -> Station:
    sid = as_id(station_id)
    station = session.get(Station, sid) if sid is not None else None
    if station is None:
        raise StationNotFound(station_id)
    return station


def stations_query(*, q: str | None = None, active: bool | None = None) -> Select:
    """Stations by name; ``q``: part of the name or the address."""
    stmt = select(Station).order_by(Station.name, Station.id)
    if q:
        needle = q.lower()
        stmt = stmt.where(or_(func.lower(Station.name).contains(needle, autoescape=True),
                              func.lower(Station.address).contains(needle, autoescape=True)))
    if active is not None:
        stmt = stmt.where(Station.active.is_(active))
    return stmt


def _clean(session: Session, actor: User, data: dict[str, Any],
           station: Station | None = None) -> dict[str, Any]:
    errors: dict[str, Problem] = {}
    values: dict[str, Any] = {}
    for field in _TEXT:
        if field in data and data[field] is not None:
            value, problem = text_problem(data[field], STATION_LIMITS[field],
                                          required=field == "name")
            if problem:
                errors[field] = problem
            else:
                values[field] = value
    if "active" in data and data["active"] is not None:
        if not isinstance(data["active"], bool):
            errors["active"] = Problem("not_boolean")
        else:
            values["active"] = data["active"]
    if errors:
        raise ValidationError(errors)
    if "department_id" in data:
        dept = data["department_id"]
        if dept is not None and (as_id(dept) is None
                                 or session.get(Department, as_id(dept)) is None):
            raise ValidationError({"department_id": Problem("department.unknown",
                                                            {"id": dept})})
        values["department_id"] = None if dept is None else as_id(dept)
    if "customer_id" in data:
        customer_id = data["customer_id"]
        customer = None
        if customer_id is not None:
            try:
                customer = get_customer(session, actor, as_id(customer_id) or 0)
            except CustomerNotFound:
                raise ValidationError({"customer_id": Problem(
                    "customer.unknown", {"id": customer_id})}) from None
            if customer.merged_into_id is not None:
                raise ValidationError({"customer_id": Problem(
                    "customer.merged", {"id": customer.id, "into": customer.merged_into_id})})
        values["customer_id"] = customer.id if customer is not None else None
    name = values.get("name")
    if name is not None and session.scalar(select(Station.id).where(
            Station.name == name, Station.id != (station.id if station else 0))):
        raise ValidationError({"name": Problem("station.name_taken", {"name": name})})
    return values


def _write_unique(session: Session, apply: Callable[[], None], name: str) -> None:
    """Flush inside a savepoint: a name taken meanwhile by a concurrent writer becomes a
    ValidationError and leaves the session as it was."""
    try:
        with session.begin_nested():
            apply()
            session.flush()
    except IntegrityError as exc:
        raise ValidationError({"name": Problem("station.name_taken", {"name": name})}) \
            from exc


def create_station(session: Session, actor: User, data: dict[str, Any]) -> Station:
    """A new station from the fields of ``StationCreate``."""
    require(actor, Permission.STATION_MANAGE)
    if data.get("name") is None:
        raise ValidationError({"name": Problem("required")})
    values = _clean(session, actor, data)
    station = Station(**values)
    _write_unique(session, lambda: session.add(station), values["name"])
    return station


def update_station(session: Session, actor: User, station: Station,
                   data: dict[str, Any]) -> Station:
    """Change the fields given; ``data["version"]`` (optional) as read: stale is
    StaleVersion (409) and nothing changes. A real change bumps the version."""
    require(actor, Permission.STATION_MANAGE)
    data = dict(data)
    version = data.pop("version", None)
    check_version(station, version, STALE_STATION)
    values = _clean(session, actor, data, station)
    changes = {k: v for k, v in values.items() if getattr(station, k) != v}
    if changes:
        claim(session, station, version, STALE_STATION)

        def apply() -> None:
            for field, value in changes.items():
                setattr(station, field, value)
        _write_unique(session, apply, changes.get("name", station.name))
    return station
