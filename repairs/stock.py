"""Stock per service station: receipts, issues to a repair order and returns from one,
transfers between stations, adjustments with a reason.

**Stock never goes negative, also under concurrent writers.** A station's quantity of a
part (``station_stock``) is only ever changed by one SQL statement per movement:

* a decrease is a conditional ``UPDATE station_stock SET quantity = quantity - :n
  WHERE station_id = :s AND part_id = :p AND quantity >= :n RETURNING quantity``: no row
  back means too few (``InsufficientStock``, 409). On PostgreSQL a second writer waits
  for the first's row lock and re-checks the condition on the new quantity; on SQLite
  writers are serialised. Never a read-then-write.
* an increase is an ``INSERT ... ON CONFLICT (station_id, part_id) DO UPDATE SET
  quantity = quantity + :n RETURNING quantity`` (the row is made on the first receipt).

``balance_after`` of the movement is what that statement returned. The CHECK
``quantity >= 0`` on the table is the last line of defence, not the mechanism.

**Idempotency.** A movement may carry a client's key (``idempotency_key``; a retried
request or the technician's offline sync sends the same one again). A key already used
returns the movement it made and changes nothing. The movement row is written *first*,
with ``INSERT ... ON CONFLICT (idempotency_key) DO NOTHING``: of two requests with one
key arriving together the second waits for the first (PostgreSQL's unique index;
SQLite's write lock) and then finds the key taken, so the stock moves once. (No
savepoint and no caught IntegrityError: rolling a savepoint back would also drop the
unit of work's ``after_commit`` callbacks, see ``callcenter.db``.) A key used for a
different movement is a 409 (``stock.key_reused``). A transfer's two movements are keyed
``<key>`` (out) and ``<key>/in``; client keys cannot contain ``/``.

Every service checks its input before it writes, checks the actor's permission, and only
flushes: the request (job, command) commits.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from callcenter.config import Settings
from callcenter.core.errors import Conflict, Problem, ValidationError
from callcenter.core.fields import as_id
from callcenter.customers.services import require
from callcenter.db import utcnow
from callcenter.users.models import User
from callcenter.users.permissions import Permission
from repairs.models import (
    MovementKind,
    Part,
    RepairOrder,
    RepairStatus,
    Station,
    StationStock,
    StockMovement,
)
from repairs.stock_notices import announce_low
from repairs.stock_reads import PartLine, available, issued_net, money, parts_on_order

__all__ = ["InsufficientStock", "PartLine", "adjust", "available", "issue_to_order", "money",
           "parts_on_order", "receive", "return_from_order", "set_low_threshold", "transfer"]

#: Most units one movement may move (a larger number is a typing error, 422).
MAX_QUANTITY = 1_000_000
#: Most units of one part a station may hold (keeps the sum inside a 32-bit integer).
MAX_STOCK = 1_000_000_000
#: Longest reason text.
MAX_REASON = 500
#: A client's idempotency key: 1-64 of letters, digits and ``. _ : -`` (no ``/``: a
#: transfer's incoming movement is keyed ``<key>/in``).
KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
_KEY = re.compile(KEY_PATTERN)
#: Orders that take no more parts and give none back (their parts are settled).
FINISHED = frozenset({RepairStatus.SETTLEMENT, RepairStatus.CLOSED, RepairStatus.CANCELLED})
#: How often a decrease is tried when a receipt lands between its refusal and its read.
_DECREASE_ATTEMPTS = 3

_STOCK = StationStock.__table__
_MOVES = StockMovement.__table__


class InsufficientStock(Conflict):
    """The station holds fewer than asked for: 409, with ``available`` and ``requested``."""

    code = "stock.insufficient"

    def __init__(self, *, available: int, requested: int):
        super().__init__(available=available, requested=requested)
        self.available = available
        self.requested = requested


# --- checks ---------------------------------------------------------------------------

def _station(session: Session, station_id: Any, field: str = "station_id") -> Station:
    sid = as_id(station_id) if not isinstance(station_id, bool) else None
    station = session.get(Station, sid) if sid is not None else None
    if station is None:
        raise ValidationError({field: Problem("station.unknown", {"id": station_id})})
    if not station.active:
        raise ValidationError({field: Problem("station.inactive", {"id": station.id})})
    return station


def _part(session: Session, part_id: Any) -> Part:
    pid = as_id(part_id) if not isinstance(part_id, bool) else None
    part = session.get(Part, pid) if pid is not None else None
    if part is None:
        raise ValidationError({"part_id": Problem("part.unknown", {"id": part_id})})
    return part


def _usable(part: Part) -> None:
    """A part withdrawn from the catalogue (``active`` off: superseded, recalled) is no
    longer received nor fitted; what a station still holds can be transferred, returned
    or written off by an adjustment."""
    if not part.active:
        raise ValidationError({"part_id": Problem("part.inactive", {"sku": part.sku})})


def _quantity(value: Any, *, signed: bool = False) -> int:
    """A whole number from 1 to MAX_QUANTITY (``signed``: also down to -MAX_QUANTITY, not 0)."""
    ok = isinstance(value, int) and not isinstance(value, bool) and (
        (-MAX_QUANTITY <= value <= MAX_QUANTITY and value != 0) if signed
        else 1 <= value <= MAX_QUANTITY)
    if not ok:
        if signed:
            raise ValidationError({"quantity": Problem(
                "stock.adjustment_quantity", {"min": -MAX_QUANTITY, "max": MAX_QUANTITY})})
        raise ValidationError({"quantity": Problem("whole_number",
                                                   {"min": 1, "max": MAX_QUANTITY})})
    return value


def _reason(value: Any, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError({"reason": Problem("not_text")})
    value = value.strip()
    if required and not value:
        raise ValidationError({"reason": Problem("required")})
    if len(value) > MAX_REASON:
        raise ValidationError({"reason": Problem("too_long", {"max": MAX_REASON})})
    if "\x00" in value:
        raise ValidationError({"reason": Problem("nul_char")})
    return value


def _key(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _KEY.match(value):
        raise ValidationError({"idempotency_key": Problem("stock.idempotency_key")})
    return value


def _open_order(order: RepairOrder) -> None:
    if order.status in FINISHED:
        raise Conflict("stock.order_finished", id=order.id, status=order.status.value)


# --- the statements -------------------------------------------------------------------

def _insert(session: Session, table):
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def _existing(session: Session, key: str | None, **expect: Any) -> StockMovement | None:
    """The movement made with ``key`` (the same request again), or None. A key used for a
    different movement is a 409."""
    if key is None:
        return None
    found = session.scalar(select(StockMovement).where(StockMovement.idempotency_key == key))
    if found is None:
        return None
    if any(getattr(found, name) != value for name, value in expect.items()):
        raise Conflict("stock.key_reused")
    return found


def _claim(session: Session, actor: User, key: str | None, **values: Any) -> int | None:
    """Write the movement (balance still unknown); its id, or None when another request
    holds ``key`` (it committed first: that one is the movement)."""
    stmt = _insert(session, _MOVES).values(balance_after=0, actor_id=actor.id,
                                           idempotency_key=key, created_at=utcnow(),
                                           **values)
    if key is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=[_MOVES.c.idempotency_key])
    return session.execute(stmt.returning(_MOVES.c.id)).scalar()


def _take(session: Session, station_id: int, part_id: int, n: int, movement_id: int):
    """The conditional UPDATE; on PostgreSQL the movement's balance is written and the
    movement loaded by the same statement (a CTE), so the stock row's lock is held for
    one round trip less. (movement, low threshold), or None when too few."""
    taken = (update(_STOCK)
             .where(_STOCK.c.station_id == station_id, _STOCK.c.part_id == part_id,
                    _STOCK.c.quantity >= n)
             .values(quantity=_STOCK.c.quantity - n, updated_at=utcnow())
             .returning(_STOCK.c.quantity, _STOCK.c.low_threshold, _STOCK.c.part_id))
    if session.get_bind().dialect.name == "postgresql":
        cte = taken.cte("taken")
        return session.execute(
            update(StockMovement)
            .where(StockMovement.id == movement_id, StockMovement.part_id == cte.c.part_id)
            .values(balance_after=cte.c.quantity).returning(StockMovement, cte.c.low_threshold),
            execution_options={"synchronize_session": False}).first()
    row = session.execute(taken).first()
    return None if row is None else (_settle(session, movement_id, row[0]), row[1])


def _decrease(session: Session, station_id: int, part_id: int, n: int,
              movement_id: int) -> tuple[StockMovement, int]:
    """Take ``n`` off in one conditional UPDATE: (the movement with its balance, the low
    threshold), or InsufficientStock (nothing changed) carrying the quantity read after
    the refusal. Should that read find enough (a receipt committed in between), the
    UPDATE is tried again: a refusal reports a shortage that was there when answered."""
    for _attempt in range(_DECREASE_ATTEMPTS):
        row = _take(session, station_id, part_id, n, movement_id)
        if row is not None:
            return row[0], row[1]
        available = session.scalar(select(_STOCK.c.quantity).where(
            _STOCK.c.station_id == station_id, _STOCK.c.part_id == part_id)) or 0
        if available < n:
            break
    raise InsufficientStock(available=available, requested=n)


def _increase(session: Session, station_id: int, part_id: int, n: int) -> int:
    """Add ``n`` in one upsert; the quantity after it."""
    stmt = _insert(session, _STOCK).values(station_id=station_id, part_id=part_id,
                                           quantity=n, low_threshold=0, updated_at=utcnow())
    stmt = stmt.on_conflict_do_update(
        index_elements=[_STOCK.c.station_id, _STOCK.c.part_id],
        set_={"quantity": _STOCK.c.quantity + stmt.excluded.quantity,
              "updated_at": stmt.excluded.updated_at},
        where=_STOCK.c.quantity <= MAX_STOCK - stmt.excluded.quantity)
    after = session.execute(stmt.returning(_STOCK.c.quantity)).scalar()
    if after is None:
        raise ValidationError({"quantity": Problem("stock.too_much", {"max": MAX_STOCK})})
    return after


def _settle(session: Session, movement_id: int, balance: int) -> StockMovement:
    # One round trip: the balance written and the movement loaded (the stock row is
    # locked until the commit on PostgreSQL, so nothing more happens in between).
    return session.scalars(
        update(StockMovement).where(StockMovement.id == movement_id)
        .values(balance_after=balance).returning(StockMovement),
        execution_options={"synchronize_session": False}).one()


def _move(session: Session, actor: User, key: str | None, *, station: Station, part: Part,
          kind: MovementKind, quantity: int, settings: Settings | None = None,
          **extra: Any) -> StockMovement:
    """One movement of ``quantity`` (signed) and its stock change, keyed or not."""
    existing = _existing(session, key, station_id=station.id, part_id=part.id, kind=kind,
                         quantity=quantity)
    if existing is not None:
        return existing
    movement_id = _claim(session, actor, key, station_id=station.id, part_id=part.id,
                         kind=kind, quantity=quantity, **extra)
    if movement_id is None:  # the same key, committed meanwhile by another request
        return _existing(session, key, station_id=station.id, part_id=part.id, kind=kind,
                         quantity=quantity)
    if quantity > 0:
        return _settle(session, movement_id, _increase(session, station.id, part.id,
                                                       quantity))
    try:
        movement, threshold = _decrease(session, station.id, part.id, -quantity, movement_id)
    except InsufficientStock:
        session.execute(delete(_MOVES).where(_MOVES.c.id == movement_id))
        raise
    after = movement.balance_after
    if threshold > 0 and after < threshold <= after - quantity:
        announce_low(session, settings, station=station, part=part, quantity=after,
                     threshold=threshold)
    return movement


# --- the services ---------------------------------------------------------------------

def receive(session: Session, actor: User, *, station_id: int, part_id: int, quantity: int,
            reason: str = "", idempotency_key: str | None = None) -> StockMovement:
    """Goods in at a station (from the warehouse or a supplier)."""
    require(actor, Permission.STOCK_MOVE)
    quantity, reason, key = _quantity(quantity), _reason(reason), _key(idempotency_key)
    station, part = _station(session, station_id), _part(session, part_id)
    _usable(part)
    return _move(session, actor, key, station=station, part=part,
                 kind=MovementKind.RECEIPT, quantity=quantity, reason=reason)


def adjust(session: Session, actor: User, *, station_id: int, part_id: int, quantity: int,
           reason: str, idempotency_key: str | None = None,
           settings: Settings | None = None) -> StockMovement:
    """A count that differed: ``quantity`` signed (not 0), with a reason. One that would
    take the stock below zero is InsufficientStock."""
    require(actor, Permission.STOCK_MOVE)
    quantity = _quantity(quantity, signed=True)
    reason, key = _reason(reason, required=True), _key(idempotency_key)
    station, part = _station(session, station_id), _part(session, part_id)
    return _move(session, actor, key, station=station, part=part,
                 kind=MovementKind.ADJUSTMENT, quantity=quantity, reason=reason,
                 settings=settings)


def transfer(session: Session, actor: User, *, from_station_id: int, to_station_id: int,
             part_id: int, quantity: int, reason: str = "",
             idempotency_key: str | None = None, settings: Settings | None = None
             ) -> tuple[StockMovement, StockMovement]:
    """From one station to another: (out of the first, into the second)."""
    require(actor, Permission.STOCK_MOVE)
    quantity, reason, key = _quantity(quantity), _reason(reason), _key(idempotency_key)
    source = _station(session, from_station_id, "station_id")
    target = _station(session, to_station_id, "to_station_id")
    if source.id == target.id:
        raise ValidationError({"to_station_id": Problem("stock.same_station")})
    part = _part(session, part_id)
    out = _move(session, actor, key, station=source, part=part,
                kind=MovementKind.TRANSFER_OUT, quantity=-quantity, reason=reason,
                other_station_id=target.id, settings=settings)
    into = _move(session, actor, f"{key}/in" if key else None, station=target, part=part,
                 kind=MovementKind.TRANSFER_IN, quantity=quantity, reason=reason,
                 other_station_id=source.id)
    return out, into


def issue_to_order(session: Session, actor: User, order: RepairOrder, *, station_id: int,
                   part_id: int, quantity: int, idempotency_key: str | None = None,
                   settings: Settings | None = None) -> StockMovement:
    """Parts out of a station's stock for a repair order, at the part's price now (what
    settlement charges: ``parts_on_order``). ``order``: one the actor may see
    (``repairs.queries.get_order``). Too few: InsufficientStock, nothing changed.
    ``settings``: for the low-stock live notice (none is sent without)."""
    require(actor, Permission.REPAIR_WRITE)
    quantity, key = _quantity(quantity), _key(idempotency_key)
    station, part = _station(session, station_id), _part(session, part_id)
    existing = _existing(session, key, station_id=station.id, part_id=part.id,
                         kind=MovementKind.ISSUE, quantity=-quantity,
                         repair_order_id=order.id)
    if existing is not None:
        return existing
    _open_order(order)
    _usable(part)
    return _move(session, actor, key, station=station, part=part, kind=MovementKind.ISSUE,
                 quantity=-quantity, repair_order_id=order.id, unit_price=part.unit_price,
                 settings=settings)


def return_from_order(session: Session, actor: User, order: RepairOrder, *,
                      station_id: int, part_id: int, quantity: int,
                      idempotency_key: str | None = None) -> StockMovement:
    """Unused parts back from a repair order into a station's stock: at most what was
    issued to the order, net of earlier returns (``stock.return_exceeds`` otherwise)."""
    require(actor, Permission.REPAIR_WRITE)
    quantity, key = _quantity(quantity), _key(idempotency_key)
    station, part = _station(session, station_id), _part(session, part_id)
    expect = {"station_id": station.id, "part_id": part.id, "kind": MovementKind.RETURN,
              "quantity": quantity, "repair_order_id": order.id}
    existing = _existing(session, key, **expect)
    if existing is not None:
        return existing
    _open_order(order)
    movement_id = _claim(session, actor, key, station_id=station.id, part_id=part.id,
                         kind=MovementKind.RETURN, quantity=quantity,
                         repair_order_id=order.id)
    if movement_id is None:
        return _existing(session, key, **expect)
    # Returns to one order are serialised by the order's row lock (SQLite: the write
    # lock the INSERT above took), so two at once cannot both pass the check below.
    session.execute(select(RepairOrder.id).where(RepairOrder.id == order.id)
                    .with_for_update(key_share=True))
    net, price = issued_net(session, order.id, part.id, excluding=movement_id)
    if quantity > net:
        session.execute(delete(_MOVES).where(_MOVES.c.id == movement_id))
        raise ValidationError({"quantity": Problem("stock.return_exceeds",
                                                   {"issued": net, "requested": quantity})})
    session.execute(update(_MOVES).where(_MOVES.c.id == movement_id)
                    .values(unit_price=price))
    return _settle(session, movement_id, _increase(session, station.id, part.id, quantity))


def set_low_threshold(session: Session, actor: User, *, station_id: int, part_id: int,
                      low_threshold: int) -> StationStock:
    """Below how many units of the part the station is warned (0: never)."""
    require(actor, Permission.STOCK_MOVE)
    if not (isinstance(low_threshold, int) and not isinstance(low_threshold, bool)
            and 0 <= low_threshold <= MAX_STOCK):
        raise ValidationError({"low_threshold": Problem("whole_number",
                                                        {"min": 0, "max": MAX_STOCK})})
    station, part = _station(session, station_id), _part(session, part_id)
    stmt = _insert(session, _STOCK).values(station_id=station.id, part_id=part.id,
                                           quantity=0, low_threshold=low_threshold,
                                           updated_at=utcnow())
    session.execute(stmt.on_conflict_do_update(
        index_elements=[_STOCK.c.station_id, _STOCK.c.part_id],
        set_={"low_threshold": stmt.excluded.low_threshold}))
    row = session.get(StationStock, (station.id, part.id))
    session.refresh(row)
    return row

