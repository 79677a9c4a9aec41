"""Reading stock: a station's stock with its low flags, a station's movements, and the
parts on a repair order (what its settlement charges). Writes are in ``repairs.stock``."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from repairs.models import MovementKind, Part, StationStock, StockMovement

CENT = Decimal("0.01")


@dataclass(frozen=True)
class PartLine:
    """One part on a repair order: how many stayed in the repair (issued net of
    returns) and what they cost. ``unit_price`` is the price the units were issued at
    (the average, rounded to the cent, if the price changed between issues); ``amount``
    is exact: each issued unit at its own price, returns taking back the latest issued
    first."""

    part_id: int
    sku: str
    name: str
    unit: str
    quantity: int
    unit_price: Decimal
    amount: Decimal


def _layers(movements) -> dict[int, list[list]]:
    """part id -> [[price, quantity], ...] still on the order, oldest first: issues add
    a layer, returns take from the newest (last in, first out)."""
    layers: dict[int, list[list]] = {}
    for part_id, kind, quantity, price in movements:
        stack = layers.setdefault(part_id, [])
        if kind == MovementKind.ISSUE:
            stack.append([Decimal(price or 0), -quantity])
            continue
        left = quantity
        while left > 0 and stack:
            take = min(left, stack[-1][1])
            stack[-1][1] -= take
            left -= take
            if stack[-1][1] == 0:
                stack.pop()
    return layers


def _order_movements(session: Session, order_id: int, part_id: int | None = None,
                     excluding: int | None = None):
    stmt = (select(StockMovement.part_id, StockMovement.kind, StockMovement.quantity,
                   StockMovement.unit_price)
            .where(StockMovement.repair_order_id == order_id,
                   StockMovement.kind.in_([MovementKind.ISSUE, MovementKind.RETURN]))
            .order_by(StockMovement.id))
    if part_id is not None:
        stmt = stmt.where(StockMovement.part_id == part_id)
    if excluding is not None:
        stmt = stmt.where(StockMovement.id != excluding)
    return session.execute(stmt).all()


def issued_net(session: Session, order_id: int, part_id: int, *,
               excluding: int | None = None) -> tuple[int, Decimal | None]:
    """(units of the part issued to the order net of returns, the price of the newest
    units still on it: what a return takes back first)."""
    stack = _layers(_order_movements(session, order_id, part_id, excluding)).get(part_id, [])
    return sum(q for _, q in stack), (stack[-1][0] if stack else None)


def parts_on_order(session: Session, order_id: int) -> list[PartLine]:
    """The parts a repair order used, by part (SKU order); parts returned in full are
    left out. Settlement sums ``amount``."""
    layers = _layers(_order_movements(session, order_id))
    wanted = {pid: stack for pid, stack in layers.items() if sum(q for _, q in stack) > 0}
    if not wanted:
        return []
    parts = session.scalars(select(Part).where(Part.id.in_(wanted)).order_by(Part.sku))
    lines = []
    for part in parts:
        stack = wanted[part.id]
        quantity = sum(q for _, q in stack)
        amount = sum((price * q for price, q in stack), Decimal(0)).quantize(CENT)
        prices = {price for price, _ in stack}
        unit_price = prices.pop() if len(prices) == 1 else (amount / quantity)
        lines.append(PartLine(part_id=part.id, sku=part.sku, name=part.name, unit=part.unit,
                              quantity=quantity, unit_price=Decimal(unit_price).quantize(CENT),
                              amount=amount))
    return lines


@dataclass(frozen=True)
class StockLine:
    part_id: int
    sku: str
    name: str
    unit: str
    quantity: int
    low_threshold: int

    @property
    def low(self) -> bool:
        return self.low_threshold > 0 and self.quantity < self.low_threshold


def station_stock(session: Session, station_id: int) -> list[StockLine]:
    """Every part the station holds or has held (or has a threshold for), by SKU."""
    rows = session.execute(
        select(Part.id, Part.sku, Part.name, Part.unit, StationStock.quantity,
               StationStock.low_threshold)
        .join(StationStock, StationStock.part_id == Part.id)
        .where(StationStock.station_id == station_id).order_by(Part.sku))
    return [StockLine(*row) for row in rows]


def movements_query(station_id: int, *, part_id: int | None = None,
                    kind: MovementKind | None = None) -> Select:
    """A station's movements, newest first."""
    stmt = (select(StockMovement).where(StockMovement.station_id == station_id)
            .order_by(StockMovement.id.desc()))
    if part_id is not None:
        stmt = stmt.where(StockMovement.part_id == part_id)
    if kind is not None:
        stmt = stmt.where(StockMovement.kind == kind)
    return stmt


def available(session: Session, station_id: int, part_id: int) -> int:
    """The station's quantity of the part now (0 when it never had any)."""
    return session.scalar(select(StationStock.quantity).where(
        StationStock.station_id == station_id, StationStock.part_id == part_id)) or 0


def money(value: Decimal | None) -> str | None:
    """A decimal amount as the API writes it ("12.50")."""
    return None if value is None else str(Decimal(value).quantize(Decimal("0.01")))
