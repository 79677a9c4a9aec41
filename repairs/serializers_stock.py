"""Stations, parts, stock lines and movements as JSON-ready dicts, in the shapes of
``repairs.schemas_stock`` (the REST API; the office pages may use them too)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from repairs import schemas_stock as schemas
from repairs.models import Part, Station, StockMovement
from repairs.parts import fits_of
from repairs.stock import money
from repairs.stock_reads import StockLine


def station_to_dict(station: Station) -> dict[str, Any]:
    return schemas.Station(
        id=station.id, name=station.name, department_id=station.department_id,
        customer_id=station.customer_id, address=station.address or "",
        phone=station.phone or "", active=station.active, created_at=station.created_at,
        version=station.version).model_dump(mode="json")


def parts_to_dicts(session: Session, parts: list[Part]) -> list[dict[str, Any]]:
    fits = fits_of(session, [p.id for p in parts])
    return [schemas.Part(
        id=p.id, sku=p.sku, name=p.name, unit=p.unit, unit_price=money(p.unit_price),
        fits=fits[p.id], active=p.active, created_at=p.created_at, version=p.version,
    ).model_dump(mode="json") for p in parts]


def part_to_dict(session: Session, part: Part) -> dict[str, Any]:
    return parts_to_dicts(session, [part])[0]


def movement_to_dict(m: StockMovement, transfer_in: StockMovement | None = None
                     ) -> dict[str, Any]:
    return schemas.StockMovement(
        id=m.id, station_id=m.station_id, part_id=m.part_id, kind=m.kind.value,
        quantity=m.quantity, balance_after=m.balance_after,
        repair_order_id=m.repair_order_id, unit_price=money(m.unit_price),
        other_station_id=m.other_station_id, reason=m.reason or "",
        idempotency_key=m.idempotency_key, actor_id=m.actor_id, created_at=m.created_at,
        transfer_in_id=transfer_in.id if transfer_in is not None else None,
    ).model_dump(mode="json")


def stock_line_to_dict(line: StockLine) -> dict[str, Any]:
    return schemas.StockLine(part_id=line.part_id, sku=line.sku, name=line.name,
                             unit=line.unit, quantity=line.quantity,
                             low_threshold=line.low_threshold, low=line.low
                             ).model_dump(mode="json")
