"""Repair orders as JSON-ready dicts (the REST API, the office pages, the phone).

Times carry the call center's offset; amounts are decimal strings. Shapes:
``repairs.schemas``."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from callcenter.config import Settings
from callcenter.products.models import InstalledProduct
from repairs import schemas, settlement
from repairs.models import RepairOrder, StockMovement
from repairs.stock import parts_on_order


def local(value: datetime | None, tz: ZoneInfo) -> datetime | None:
    return value.astimezone(tz) if value is not None else None


def order_to_dict(session: Session, order: RepairOrder, settings: Settings, *,
                  history_url: str) -> dict[str, Any]:
    tz = settings.locality.zone
    product = session.get(InstalledProduct, order.product_id)
    used = parts_on_order(session, order.id)
    summary = settlement.summary(session, order, settings, parts=used)
    parts = [schemas.PartOnOrder(part_id=p.part_id, sku=p.sku, name=p.name, unit=p.unit,
                                 quantity=p.quantity, unit_price=str(p.unit_price),
                                 amount=str(p.amount))
             for p in used]
    return schemas.RepairOrder(
        id=order.id, status=order.status, version=order.version,
        in_warranty=order.in_warranty, warranty_basis=dict(order.warranty_basis or {}),
        ticket_id=order.ticket_id, product_id=order.product_id,
        serial_number=product.serial_number if product else "",
        model=product.model if product else "", customer_id=order.customer_id,
        reporter_contact_id=order.reporter_contact_id,
        fault_description=order.fault_description, reported_on=order.reported_on,
        defect_code=order.defect_code, diagnosis=order.diagnosis or "",
        station_id=order.station_id, technician_id=order.technician_id,
        scheduled_at=local(order.scheduled_at, tz), findings=order.findings or "",
        inspector_id=order.inspector_id, inspection_result=order.inspection_result,
        inspection_note=order.inspection_note or "", service_type=order.service_type,
        labour_hours=None if order.labour_hours is None else str(order.labour_hours),
        repeat=order.repeat_of_id is not None, repeat_of_id=order.repeat_of_id,
        cancel_reason=order.cancel_reason or "", created_by_id=order.created_by_id,
        created_at=local(order.created_at, tz), updated_at=local(order.updated_at, tz),
        closed_at=local(order.closed_at, tz),
        settlement=schemas.Settlement(**{**summary.as_dict(),
                                            "settled_at": local(summary.settled_at, tz)}),
        parts=parts,
        history_url=history_url,
    ).model_dump(mode="json")


def movement_to_dict(movement: StockMovement) -> dict[str, Any]:
    return schemas.PartIssued(
        movement_id=movement.id, order_id=movement.repair_order_id,
        part_id=movement.part_id, station_id=movement.station_id,
        quantity=-movement.quantity, balance_after=movement.balance_after,
        unit_price=None if movement.unit_price is None else
        str(settlement.cents(movement.unit_price))).model_dump(mode="json")
