"""Settlement (repairs.settlement) on both backends: warranty versus paid orders, labour
by hours x rate and by a flat fee per service type, parts at their issue price, rounding
half up to the cent, and bill-to / payer following the customer until settlement and
frozen then (with the amounts)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from orders_support import make_customer, make_product, make_ticket, put_in, raise_for
from stock_support import make_part, make_station

from callcenter.config import ConfigError, load_settings
from callcenter.customers.models import Customer
from repairs import settlement, stock
from repairs.models import RepairStatus
from repairs.orders import raise_repair_order, record_work
from repairs.transitions import move_order

S = RepairStatus


@pytest.fixture
def admin(make_user):
    return make_user("admin", scope="all")


@pytest.fixture
def rules(settings):
    return replace(settings, repair_labour_rate=Decimal("80.00"),
                   repair_flat_fees=(("onsite", Decimal("150.00")),))


def _with_parts(session, admin, order, *prices_and_qty):
    station = make_station(session)
    for price, qty in prices_and_qty:
        part = make_part(session, price=price)
        stock.receive(session, admin, station_id=station.id, part_id=part.id, quantity=10)
        stock.issue_to_order(session, admin, order, station_id=station.id, part_id=part.id,
                             quantity=qty)


def _to_settlement(session, admin, order, settings):
    put_in(session, order, S.INSPECTION)
    move_order(session, admin, order, to=S.SETTLEMENT, version=order.version,
               settings=settings)


@pytest.mark.parametrize("in_warranty", [True, False])
def test_labour_by_hours_and_parts(session, admin, rules, in_warranty):
    order = raise_for(session, admin, rules,
                      warranty_end=date(2030, 1, 1) if in_warranty else date(2020, 1, 1))
    record_work(session, admin, order, version=1, labour_hours="2.5")
    _with_parts(session, admin, order, ("12.50", 2), ("0.99", 3))
    s = settlement.summary(session, order, rules)
    assert (s.labour, s.parts, s.total) == (Decimal("200.00"), Decimal("27.97"),
                                            Decimal("227.97"))
    assert s.payable_by_customer == (Decimal("0.00") if in_warranty else Decimal("227.97"))
    assert s.booked_to_warranty == (Decimal("227.97") if in_warranty else Decimal("0.00"))
    assert s.labour_basis == "hours" and s.labour_rate == Decimal("80.00")
    assert [(line.kind, line.amount) for line in s.lines] == [
        ("labour", Decimal("200.00")), ("part", Decimal("25.00")), ("part", Decimal("2.97"))]
    assert all(isinstance(v, Decimal) for v in (s.labour, s.parts, s.total))
    as_dict = s.as_dict()
    assert as_dict["total"] == "227.97" and as_dict["lines"][0]["unit_price"] == "80.00"


@pytest.mark.parametrize("in_warranty", [True, False])
def test_a_flat_fee_per_service_type_instead_of_hours(session, admin, rules, in_warranty):
    order = raise_for(session, admin, rules,
                      warranty_end=date(2030, 1, 1) if in_warranty else date(2020, 1, 1))
    record_work(session, admin, order, version=1, labour_hours="3", service_type="onsite")
    s = settlement.summary(session, order, rules)
    assert (s.labour_basis, s.labour, s.total) == ("flat_fee", Decimal("150.00"),
                                                   Decimal("150.00"))
    assert s.payable_by_customer == (Decimal("0.00") if in_warranty else Decimal("150.00"))
    # A service type without a fee is charged by the hour.
    record_work(session, admin, order, version=2, service_type="workshop")
    assert settlement.summary(session, order, rules).labour == Decimal("240.00")


def test_no_hours_no_fee_is_no_labour(session, admin, rules):
    order = raise_for(session, admin, rules)
    s = settlement.summary(session, order, rules)
    assert (s.labour_basis, s.labour, s.total, s.lines) == ("none", Decimal("0.00"),
                                                            Decimal("0.00"), [])


def test_amounts_round_half_up_to_the_cent(session, admin, settings):
    rules = replace(settings, repair_labour_rate=Decimal("0.33"))
    order = raise_for(session, admin, rules, warranty_end=date(2020, 1, 1))
    record_work(session, admin, order, version=1, labour_hours="1.5")  # 0.495
    assert settlement.summary(session, order, rules).labour == Decimal("0.50")
    assert settlement.cents(Decimal("2.345")) == Decimal("2.35")
    assert settlement.cents(Decimal("2.344")) == Decimal("2.34")


def test_entering_settlement_freezes_amounts_bill_to_and_payer(session, admin, rules):
    company = make_customer(session, admin)
    other = make_customer(session, admin)
    owner = make_customer(session, admin, bill_to_id=company.id, payer_id=company.id)
    product = make_product(session, owner, warranty_end=date(2020, 1, 1))
    ticket = make_ticket(session, owner, admin)
    order = raise_repair_order(session, admin, ticket_id=ticket.id, product_id=product.id,
                               fault_description="x", settings=rules)
    record_work(session, admin, order, version=1, labour_hours="1")
    live = settlement.summary(session, order, rules)
    assert (live.bill_to_id, live.payer_id, live.frozen) == (company.id, company.id, False)
    # Before settlement bill-to and payer follow the master data.
    owner.bill_to_id = owner.payer_id = None
    session.flush()
    live = settlement.summary(session, order, rules)
    assert (live.bill_to_id, live.payer_id) == (owner.id, owner.id)
    owner.bill_to_id = owner.payer_id = company.id
    session.flush()
    _with_parts(session, admin, order, ("10.00", 1))
    _to_settlement(session, admin, order, rules)
    assert (order.bill_to_id, order.payer_id) == (company.id, company.id)
    assert (order.labour_amount, order.parts_amount, order.total_amount,
            order.payable_by_customer) == (Decimal("80.00"), Decimal("10.00"),
                                           Decimal("90.00"), Decimal("90.00"))
    # Afterwards: the master data, the rate and the fees change; the order does not.
    owner.bill_to_id = owner.payer_id = other.id
    session.flush()
    later = replace(rules, repair_labour_rate=Decimal("999.00"))
    frozen = settlement.summary(session, order, later)
    assert frozen.frozen and (frozen.bill_to_id, frozen.payer_id) == (company.id, company.id)
    assert (frozen.labour, frozen.total, frozen.payable_by_customer) == (
        Decimal("80.00"), Decimal("90.00"), Decimal("90.00"))
    move_order(session, admin, order, to=S.CLOSED, version=order.version, settings=later)
    assert settlement.summary(session, order, later).total == Decimal("90.00")
    assert session.get(Customer, owner.id).payer_id == other.id


def test_a_warranty_order_freezes_nothing_payable(session, admin, rules):
    order = raise_for(session, admin, rules, warranty_end=date(2030, 1, 1))
    record_work(session, admin, order, version=1, labour_hours="2")
    _with_parts(session, admin, order, ("33.30", 3))
    _to_settlement(session, admin, order, rules)
    s = settlement.summary(session, order, rules)
    assert (s.total, s.payable_by_customer, s.booked_to_warranty) == (
        Decimal("259.90"), Decimal("0.00"), Decimal("259.90"))


@pytest.mark.parametrize(("env", "message"), [
    ({"REPAIR_LABOUR_RATE": "abc"}, "REPAIR_LABOUR_RATE"),
    ({"REPAIR_LABOUR_RATE": "-1"}, "REPAIR_LABOUR_RATE"),
    ({"REPAIR_LABOUR_RATE": "1.005"}, "REPAIR_LABOUR_RATE"),
    ({"REPAIR_LABOUR_RATE": "NaN"}, "REPAIR_LABOUR_RATE"),
    ({"REPAIR_FLAT_FEES": "onsite"}, "REPAIR_FLAT_FEES"),
    ({"REPAIR_FLAT_FEES": "onsite:1,onsite:2"}, "REPAIR_FLAT_FEES"),
    ({"REPAIR_FLAT_FEES": "On Site:1"}, "REPAIR_FLAT_FEES"),
    ({"REPAIR_FLAT_FEES": "onsite:1e12"}, "REPAIR_FLAT_FEES"),
    ({"REPAIR_REPEAT_DAYS": "-3"}, "REPAIR_REPEAT_DAYS"),
])
def test_bad_settings_stop_the_start_naming_the_variable(tmp_path, env, message):
    with pytest.raises(ConfigError, match=message):
        load_settings({"CALLCENTER_INSTANCE": str(tmp_path), "SECRET_KEY": "k" * 20, **env})


def test_settings_are_parsed(tmp_path):
    s = load_settings({"CALLCENTER_INSTANCE": str(tmp_path), "SECRET_KEY": "k" * 20,
                       "REPAIR_LABOUR_RATE": "85.5",
                       "REPAIR_FLAT_FEES": "onsite:150, board_swap:300.50",
                       "REPAIR_REPEAT_DAYS": "45"})
    assert s.repair_labour_rate == Decimal("85.50")
    assert s.repair_flat_fees == (("onsite", Decimal("150.00")),
                                  ("board_swap", Decimal("300.50")))
    assert s.repair_repeat_days == 45
    d = load_settings({"CALLCENTER_INSTANCE": str(tmp_path), "SECRET_KEY": "k" * 20})
    assert (d.repair_labour_rate, d.repair_flat_fees, d.repair_repeat_days) == (
        Decimal("100.00"), (), 30)
