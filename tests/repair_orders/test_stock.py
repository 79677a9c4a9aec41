"""The stock services (repairs.stock) on both backends: receipts, issues, returns,
transfers, adjustments, idempotency keys, the low-stock notice, and the parts on an
order. The parallel HTTP tests are in test_stock_concurrency.py."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select
from stock_support import make_order, make_part, make_station

from callcenter.core.errors import Conflict, PermissionDenied, ValidationError
from repairs import stock
from repairs.models import MovementKind, RepairStatus, StationStock, StockMovement
from repairs.stock import InsufficientStock


@pytest.fixture
def admin(make_user):
    return make_user("admin", scope="all")


@pytest.fixture
def world(session, admin):
    station, other, part = make_station(session), make_station(session), make_part(session)
    return {"station": station, "other": other, "part": part,
            "order": make_order(session, admin)}


def qty(session, station, part) -> int:
    return stock.available(session, station.id, part.id)


def moves(session) -> int:
    return session.scalar(select(func.count()).select_from(StockMovement))


def test_receipt_creates_then_adds_to_the_stock_row(session, admin, world):
    s, p = world["station"], world["part"]
    m1 = stock.receive(session, admin, station_id=s.id, part_id=p.id, quantity=5)
    m2 = stock.receive(session, admin, station_id=s.id, part_id=p.id, quantity=3,
                       reason="delivery 42")
    assert (m1.kind, m1.quantity, m1.balance_after) == (MovementKind.RECEIPT, 5, 5)
    assert (m2.quantity, m2.balance_after, m2.reason) == (3, 8, "delivery 42")
    assert m2.actor_id == admin.id
    assert qty(session, s, p) == 8


def test_issue_records_price_and_order_and_never_goes_below_zero(session, admin, world):
    s, p, order = world["station"], world["part"], world["order"]
    stock.receive(session, admin, station_id=s.id, part_id=p.id, quantity=2)
    m = stock.issue_to_order(session, admin, order, station_id=s.id, part_id=p.id, quantity=2)
    assert (m.kind, m.quantity, m.balance_after) == (MovementKind.ISSUE, -2, 0)
    assert (m.repair_order_id, m.unit_price) == (order.id, Decimal("12.50"))
    before = moves(session)
    with pytest.raises(InsufficientStock) as caught:
        stock.issue_to_order(session, admin, order, station_id=s.id, part_id=p.id, quantity=1)
    assert (caught.value.available, caught.value.requested) == (0, 1)
    assert caught.value.code == "stock.insufficient" and caught.value.status == 409
    assert isinstance(caught.value, Conflict)
    assert moves(session) == before  # the refused movement left no row
    assert qty(session, s, p) == 0


def test_issue_from_a_station_that_never_had_the_part(session, admin, world):
    with pytest.raises(InsufficientStock) as caught:
        stock.issue_to_order(session, admin, world["order"], station_id=world["other"].id,
                             part_id=world["part"].id, quantity=3)
    assert (caught.value.available, caught.value.requested) == (0, 3)


def test_returns_are_limited_to_what_was_issued_net(session, admin, world):
    s, p, order = world["station"], world["part"], world["order"]
    stock.receive(session, admin, station_id=s.id, part_id=p.id, quantity=10)
    stock.issue_to_order(session, admin, order, station_id=s.id, part_id=p.id, quantity=3)
    r = stock.return_from_order(session, admin, order, station_id=s.id, part_id=p.id,
                                quantity=2)
    assert (r.kind, r.quantity, r.balance_after, r.unit_price) == \
        (MovementKind.RETURN, 2, 9, Decimal("12.50"))
    with pytest.raises(ValidationError) as caught:
        stock.return_from_order(session, admin, order, station_id=s.id, part_id=p.id,
                                quantity=2)
    problem = caught.value.errors["quantity"]
    assert (problem.code, problem.params) == ("stock.return_exceeds",
                                              {"issued": 1, "requested": 2})
    other_order = make_order(session, admin)
    with pytest.raises(ValidationError):
        stock.return_from_order(session, admin, other_order, station_id=s.id,
                                part_id=p.id, quantity=1)
    assert qty(session, s, p) == 9


def test_parts_on_order_net_of_returns_at_the_price_of_issue(session, admin, world):
    s, p, order = world["station"], world["part"], world["order"]
    cheap = make_part(session, price="0.10")
    stock.receive(session, admin, station_id=s.id, part_id=p.id, quantity=10)
    stock.receive(session, admin, station_id=s.id, part_id=cheap.id, quantity=10)
    stock.issue_to_order(session, admin, order, station_id=s.id, part_id=p.id, quantity=2)
    p.unit_price = Decimal("20.00")  # the price changes between two issues
    session.flush()
    stock.issue_to_order(session, admin, order, station_id=s.id, part_id=p.id, quantity=1)
    stock.issue_to_order(session, admin, order, station_id=s.id, part_id=cheap.id, quantity=3)
    stock.return_from_order(session, admin, order, station_id=s.id, part_id=cheap.id,
                            quantity=3)
    lines = stock.parts_on_order(session, order.id)
    assert len(lines) == 1  # the cheap part went back in full
    line = lines[0]
    assert (line.part_id, line.sku, line.quantity) == (p.id, p.sku, 3)
    assert line.amount == Decimal("45.00")          # 2 x 12.50 + 1 x 20.00
    assert line.unit_price == Decimal("15.00")
    # A return takes back the latest issued first: the one at 20.00.
    stock.return_from_order(session, admin, order, station_id=s.id, part_id=p.id, quantity=1)
    line = stock.parts_on_order(session, order.id)[0]
    assert (line.quantity, line.unit_price, line.amount) == (2, Decimal("12.50"),
                                                             Decimal("25.00"))
    assert isinstance(line.amount, Decimal)
    assert stock.parts_on_order(session, make_order(session, admin).id) == []


def test_transfer_moves_between_stations_with_two_movements(session, admin, world):
    s, o, p = world["station"], world["other"], world["part"]
    stock.receive(session, admin, station_id=s.id, part_id=p.id, quantity=4)
    out, into = stock.transfer(session, admin, from_station_id=s.id, to_station_id=o.id,
                               part_id=p.id, quantity=3, reason="rebalance")
    assert (out.kind, out.quantity, out.balance_after, out.other_station_id) == \
        (MovementKind.TRANSFER_OUT, -3, 1, o.id)
    assert (into.kind, into.quantity, into.balance_after, into.other_station_id) == \
        (MovementKind.TRANSFER_IN, 3, 3, s.id)
    with pytest.raises(InsufficientStock):
        stock.transfer(session, admin, from_station_id=s.id, to_station_id=o.id,
                       part_id=p.id, quantity=2)
    assert (qty(session, s, p), qty(session, o, p)) == (1, 3)
    with pytest.raises(ValidationError) as caught:
        stock.transfer(session, admin, from_station_id=s.id, to_station_id=s.id,
                       part_id=p.id, quantity=1)
    assert caught.value.errors["to_station_id"].code == "stock.same_station"


def test_adjustment_is_signed_with_a_reason(session, admin, world):
    s, p = world["station"], world["part"]
    stock.receive(session, admin, station_id=s.id, part_id=p.id, quantity=5)
    m = stock.adjust(session, admin, station_id=s.id, part_id=p.id, quantity=-2,
                     reason="count")
    assert (m.kind, m.quantity, m.balance_after) == (MovementKind.ADJUSTMENT, -2, 3)
    with pytest.raises(InsufficientStock):
        stock.adjust(session, admin, station_id=s.id, part_id=p.id, quantity=-4,
                     reason="count")
    with pytest.raises(ValidationError) as caught:
        stock.adjust(session, admin, station_id=s.id, part_id=p.id, quantity=1, reason=" ")
    assert caught.value.errors["reason"].code == "required"
    with pytest.raises(ValidationError) as caught:
        stock.adjust(session, admin, station_id=s.id, part_id=p.id, quantity=0, reason="x")
    assert caught.value.errors["quantity"].code == "stock.adjustment_quantity"


@pytest.mark.parametrize("bad", [0, -1, 1_000_001, 2**40, True, "3", 1.5, None])
def test_bad_quantities_are_refused_before_anything_changes(session, admin, world, bad):
    before = moves(session)
    with pytest.raises(ValidationError) as caught:
        stock.receive(session, admin, station_id=world["station"].id,
                      part_id=world["part"].id, quantity=bad)
    assert caught.value.errors["quantity"].code == "whole_number"
    assert moves(session) == before


def test_unknown_or_inactive_station_and_unknown_part(session, admin, world):
    s, p = world["station"], world["part"]
    for station_id, code in ((999_999, "station.unknown"), ("x", "station.unknown"),
                             (make_station(session, active=False).id, "station.inactive")):
        with pytest.raises(ValidationError) as caught:
            stock.receive(session, admin, station_id=station_id, part_id=p.id, quantity=1)
        assert caught.value.errors["station_id"].code == code
    with pytest.raises(ValidationError) as caught:
        stock.receive(session, admin, station_id=s.id, part_id=999_999, quantity=1)
    assert caught.value.errors["part_id"].code == "part.unknown"


def test_permissions(session, make_user, world):
    technician, agent = make_user("technician"), make_user("agent")
    s, p = world["station"], world["part"]
    with pytest.raises(PermissionDenied):
        stock.receive(session, technician, station_id=s.id, part_id=p.id, quantity=1)
    with pytest.raises(PermissionDenied):
        stock.set_low_threshold(session, agent, station_id=s.id, part_id=p.id,
                                low_threshold=1)
    stock.receive(session, make_user("supervisor"), station_id=s.id, part_id=p.id,
                  quantity=1)
    # Technicians draw parts for their repair orders.
    m = stock.issue_to_order(session, technician, world["order"], station_id=s.id,
                             part_id=p.id, quantity=1)
    assert m.balance_after == 0


def test_an_idempotency_key_moves_the_stock_once(session, admin, world):
    s, p, order = world["station"], world["part"], world["order"]
    first = stock.receive(session, admin, station_id=s.id, part_id=p.id, quantity=5,
                          idempotency_key="rcpt-1")
    again = stock.receive(session, admin, station_id=s.id, part_id=p.id, quantity=5,
                          idempotency_key="rcpt-1")
    assert again.id == first.id and qty(session, s, p) == 5
    i1 = stock.issue_to_order(session, admin, order, station_id=s.id, part_id=p.id,
                              quantity=2, idempotency_key="sync:abc-1")
    i2 = stock.issue_to_order(session, admin, order, station_id=s.id, part_id=p.id,
                              quantity=2, idempotency_key="sync:abc-1")
    assert i1.id == i2.id and qty(session, s, p) == 3
    t1 = stock.transfer(session, admin, from_station_id=s.id, to_station_id=world["other"].id,
                        part_id=p.id, quantity=1, idempotency_key="tr-1")
    t2 = stock.transfer(session, admin, from_station_id=s.id, to_station_id=world["other"].id,
                        part_id=p.id, quantity=1, idempotency_key="tr-1")
    assert [m.id for m in t1] == [m.id for m in t2] and qty(session, s, p) == 2
    assert t1[1].idempotency_key == "tr-1/in"
    with pytest.raises(Conflict) as caught:  # the same key for another movement
        stock.receive(session, admin, station_id=s.id, part_id=p.id, quantity=6,
                      idempotency_key="rcpt-1")
    assert caught.value.code == "stock.key_reused"
    for bad in ("", "a/b", "x" * 65, "-lead", "space d", 12):
        with pytest.raises(ValidationError) as caught:
            stock.receive(session, admin, station_id=s.id, part_id=p.id, quantity=1,
                          idempotency_key=bad)
        assert caught.value.errors["idempotency_key"].code == "stock.idempotency_key"


def test_finished_orders_take_no_parts(session, admin, world):
    s, p, order = world["station"], world["part"], world["order"]
    stock.receive(session, admin, station_id=s.id, part_id=p.id, quantity=5)
    order.status = RepairStatus.CLOSED
    session.flush()
    with pytest.raises(Conflict) as caught:
        stock.issue_to_order(session, admin, order, station_id=s.id, part_id=p.id,
                             quantity=1)
    assert caught.value.code == "stock.order_finished"


def test_low_threshold_and_the_live_notice_after_commit(session, admin, world, settings,
                                                        monkeypatch):
    from callcenter.users.services import ensure_department
    from repairs import stock_notices

    sent = []
    monkeypatch.setattr(stock_notices, "publish",
                        lambda event, to, payload, _settings: sent.append((event, to, payload)))
    s, p, order = world["station"], world["part"], world["order"]
    s.department_id = ensure_department(session, "Aftersales/Depot").id
    session.flush()
    row = stock.set_low_threshold(session, admin, station_id=s.id, part_id=p.id,
                                  low_threshold=3)
    assert isinstance(row, StationStock) and (row.quantity, row.low_threshold) == (0, 3)
    stock.receive(session, admin, station_id=s.id, part_id=p.id, quantity=5)
    stock.issue_to_order(session, admin, order, station_id=s.id, part_id=p.id, quantity=2,
                         settings=settings)  # 5 -> 3: not below
    stock.issue_to_order(session, admin, order, station_id=s.id, part_id=p.id, quantity=1,
                         settings=settings)  # 3 -> 2: below
    stock.issue_to_order(session, admin, order, station_id=s.id, part_id=p.id, quantity=1,
                         settings=settings)  # 2 -> 1: already below, no second notice
    assert sent == []  # nothing before the commit
    # What the commit runs (a real commit would end the test's outer transaction).
    for callback in session.info.pop("after_commit", []):
        callback()
    assert [(e, to, pl["quantity"], pl["low_threshold"], pl["part_id"]) for e, to, pl in sent] \
        == [("stock.low", s.department_id, 2, 3, p.id)]
    with pytest.raises(ValidationError):
        stock.set_low_threshold(session, admin, station_id=s.id, part_id=p.id,
                                low_threshold=-1)


def test_the_stock_row_refuses_a_negative_quantity_itself(session, world, admin):
    from sqlalchemy import update
    from sqlalchemy.exc import IntegrityError
    stock.receive(session, admin, station_id=world["station"].id,
                  part_id=world["part"].id, quantity=1)
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(update(StationStock).values(quantity=-1))


def test_a_withdrawn_part_is_neither_received_nor_fitted_but_can_leave(session, admin,
                                                                      world):
    """A part taken out of the catalogue (superseded, recalled) is not received or issued
    any more; what a station still holds can be returned, transferred or written off."""
    s, other, p, order = world["station"], world["other"], world["part"], world["order"]
    stock.receive(session, admin, station_id=s.id, part_id=p.id, quantity=4)
    stock.issue_to_order(session, admin, order, station_id=s.id, part_id=p.id, quantity=2,
                         idempotency_key="fit-before-withdrawal")
    p.active = False
    session.flush()
    before = moves(session)
    for attempt in (
            lambda: stock.receive(session, admin, station_id=s.id, part_id=p.id, quantity=1),
            lambda: stock.issue_to_order(session, admin, order, station_id=s.id,
                                         part_id=p.id, quantity=1)):
        with pytest.raises(ValidationError) as exc:
            attempt()
        assert exc.value.errors["part_id"].code == "part.inactive"
        assert dict(exc.value.errors["part_id"].params) == {"sku": p.sku}
    assert moves(session) == before and qty(session, s, p) == 2
    # The issue made before, sent again with its key, is still the same one (no 422).
    again = stock.issue_to_order(session, admin, order, station_id=s.id, part_id=p.id,
                                 quantity=2, idempotency_key="fit-before-withdrawal")
    assert again.quantity == -2 and moves(session) == before
    stock.return_from_order(session, admin, order, station_id=s.id, part_id=p.id,
                            quantity=1)
    stock.transfer(session, admin, from_station_id=s.id, to_station_id=other.id,
                   part_id=p.id, quantity=1)
    stock.adjust(session, admin, station_id=s.id, part_id=p.id, quantity=-2,
                 reason="recalled batch scrapped")
    assert (qty(session, s, p), qty(session, other, p)) == (0, 1)
