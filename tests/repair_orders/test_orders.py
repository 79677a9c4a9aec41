"""Repair orders as services (repairs.orders, repairs.warranty) on both backends:
raising one from a ticket, the warranty decision across the types and at the boundary
day, its override, recording the work, repeat repairs and a product's history."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from orders_support import make_customer, make_product, make_ticket, put_in, raise_for

from callcenter.core.errors import PermissionDenied, StaleVersion, ValidationError
from callcenter.customers.models import Customer
from callcenter.db import utcnow
from callcenter.products.models import InstalledProduct, WarrantyType
from callcenter.products.services import ProductNotFound
from repairs import orders
from repairs.history import order_history
from repairs.models import RepairStatus
from repairs.orders import (
    raise_repair_order,
    record_work,
    repair_history_of_product,
)
from repairs.repeats import repeat_repair_count, repeat_repairs, repeat_repairs_by_model
from repairs.warranty import decide, override_warranty


@pytest.fixture
def admin(make_user):
    return make_user("admin", scope="all")


@pytest.fixture
def tech(make_user):
    return make_user("technician", scope="own")


def codes(exc: ValidationError) -> dict[str, str]:
    return {k: p.code for k, p in exc.errors.items()}


def test_raise_takes_the_day_the_request_was_opened_and_the_products_end_user(
        session, admin, settings):
    customer = make_customer(session, admin)
    product = make_product(session, customer, warranty_end=date(2026, 12, 1))
    # 16:30 UTC on 30 November is 00:30 on 1 December in Shanghai: the local day counts.
    ticket = make_ticket(session, customer, admin,
                         created_at=datetime(2026, 11, 30, 16, 30, tzinfo=UTC))
    order = raise_repair_order(session, admin, ticket_id=ticket.id, product_id=product.id,
                               fault_description="  No power  ", settings=settings)
    assert order.status == RepairStatus.DIAGNOSIS and order.version == 1
    assert order.reported_on == date(2026, 12, 1)
    assert order.customer_id == customer.id and order.fault_description == "No power"
    assert order.in_warranty is True
    assert order.warranty_basis["reference_date"] == "2026-12-01"
    assert order.warranty_basis["serial_number"] == product.serial_number
    assert [h.field for h in order_history(session, order.id)] == ["created", "in_warranty"]


def test_the_product_must_belong_to_the_ticket(session, admin, settings):
    mine, other = make_customer(session, admin), make_customer(session, admin)
    ticket = make_ticket(session, mine, admin)
    foreign = make_product(session, other)
    with pytest.raises(ValidationError) as exc:
        raise_repair_order(session, admin, ticket_id=ticket.id, product_id=foreign.id,
                           fault_description="x", settings=settings)
    assert codes(exc.value) == {"product_id": "repair.product_not_tickets"}
    # ... unless it is the ticket's installed product; the order's customer is its owner.
    ticket2 = make_ticket(session, mine, admin, product=foreign)
    order = raise_repair_order(session, admin, ticket_id=ticket2.id, product_id=foreign.id,
                               fault_description="x", settings=settings)
    assert order.customer_id == other.id


def test_ticket_and_product_outside_the_scope_look_missing(session, admin, make_user,
                                                           settings):
    agent = make_user("agent", scope="own")
    customer = make_customer(session, admin)
    product, ticket = make_product(session, customer), make_ticket(session, customer, admin)
    with pytest.raises(ValidationError) as hidden:
        raise_repair_order(session, agent, ticket_id=ticket.id, product_id=product.id,
                           fault_description="x", settings=settings)
    with pytest.raises(ValidationError) as missing:
        raise_repair_order(session, agent, ticket_id=999999, product_id=999998,
                           fault_description="x", settings=settings)
    assert codes(hidden.value) == codes(missing.value) == {
        "ticket_id": "ticket.unknown", "product_id": "repair.product_unknown"}


def test_bad_input_is_refused_with_codes(session, admin, settings):
    customer = make_customer(session, admin)
    product, ticket = make_product(session, customer), make_ticket(session, customer, admin)
    for fault, code in (("", "required"), ("x" * 5001, "too_long"), ("a\x00b", "control_chars"),
                        (5, "not_text")):
        with pytest.raises(ValidationError) as exc:
            raise_repair_order(session, admin, ticket_id=ticket.id, product_id=product.id,
                               fault_description=fault, settings=settings)
        assert codes(exc.value) == {"fault_description": code}
    with pytest.raises(ValidationError) as exc:
        raise_repair_order(session, admin, ticket_id=ticket.id, product_id=product.id,
                           fault_description="x", reporter_contact_id=424242,
                           settings=settings)
    assert codes(exc.value) == {"reporter_contact_id": "repair.contact_unknown"}


# --- the warranty decision -------------------------------------------------------------

END = date(2026, 6, 30)


@pytest.mark.parametrize("wtype", [WarrantyType.STANDARD, WarrantyType.EXTENDED,
                                   WarrantyType.CONTRACT])
@pytest.mark.parametrize(("reported", "covered"), [
    (END - timedelta(days=1), True), (END, True), (END + timedelta(days=1), False)])
def test_warranty_at_the_boundary_day_for_every_type(session, admin, settings, wtype,
                                                     reported, covered):
    customer = make_customer(session, admin)
    product = make_product(session, customer, warranty_type=wtype, warranty_end=END)
    # Noon in Shanghai on the reported day.
    opened = datetime(reported.year, reported.month, reported.day, 4, tzinfo=UTC)
    ticket = make_ticket(session, customer, admin, created_at=opened)
    order = raise_for(session, admin, settings, product=product, ticket=ticket)
    assert order.reported_on == reported
    assert order.in_warranty is covered
    assert order.warranty_basis == {
        "serial_number": product.serial_number, "warranty_type": wtype.value,
        "warranty_end": "2026-06-30", "reference_date": reported.isoformat(),
        "rule": "reported_on <= warranty_end",
        "outcome": "covered" if covered else "expired"}


def test_no_warranty_or_no_end_date_is_out_of_warranty(session, admin):
    customer = make_customer(session, admin)
    none = make_product(session, customer, warranty_type=WarrantyType.NONE)
    open_end = make_product(session, customer, warranty_end=None)
    assert decide(none, date(2026, 1, 1))[0] is False
    assert decide(none, date(2026, 1, 1))[1]["outcome"] == "no_warranty"
    assert decide(open_end, date(2026, 1, 1))[1]["outcome"] == "no_end_date"


def test_the_decision_stays_when_the_products_warranty_changes(session, admin, settings):
    order = raise_for(session, admin, settings, warranty_end=date(2026, 12, 31))
    assert order.in_warranty
    order_product = session.get(InstalledProduct, order.product_id)
    order_product.warranty_end = date(2020, 1, 1)
    session.flush()
    session.refresh(order)
    assert order.in_warranty is True


def test_override_needs_the_permission_a_reason_and_a_current_version(session, admin, tech,
                                                                     settings):
    order = raise_for(session, admin, settings, warranty_end=date(2020, 1, 1))
    assert order.in_warranty is False
    with pytest.raises(PermissionDenied):
        override_warranty(session, tech, order, in_warranty=True, reason="goodwill",
                          version=1)
    with pytest.raises(ValidationError) as exc:
        override_warranty(session, admin, order, in_warranty=True, reason="  ", version=1)
    assert codes(exc.value) == {"reason": "required"}
    with pytest.raises(StaleVersion):
        override_warranty(session, admin, order, in_warranty=True, reason="x", version=7)
    override_warranty(session, admin, order, in_warranty=True,
                      reason="Goodwill: the fault was reported by phone before expiry",
                      version=1)
    assert order.in_warranty is True and order.version == 2
    basis = order.warranty_basis
    assert basis["overridden"] is True and basis["was"] is False
    assert basis["reason"].startswith("Goodwill") and basis["overridden_by"] == admin.id
    assert basis["outcome"] == "expired"  # the original decision is kept
    row = order_history(session, order.id)[-1]
    assert (row.field, row.old_value, row.new_value) == ("in_warranty", "false", "true")
    assert row.note.startswith("Goodwill")
    with pytest.raises(ValidationError) as same:
        override_warranty(session, admin, order, in_warranty=True, reason="x", version=2)
    assert codes(same.value) == {"in_warranty": "repair.warranty_unchanged"}


@pytest.mark.parametrize("status", [RepairStatus.SETTLEMENT, RepairStatus.CLOSED,
                                    RepairStatus.CANCELLED])
def test_no_override_from_settlement_on(session, admin, settings, status):
    order = put_in(session, raise_for(session, admin, settings), status)
    with pytest.raises(ValidationError) as exc:
        override_warranty(session, admin, order, in_warranty=False, reason="x", version=1)
    assert codes(exc.value) == {"in_warranty": "repair.warranty_settled"}


# --- recording the work ----------------------------------------------------------------

def test_record_work_changes_what_is_given_with_history(session, admin, tech, settings):
    order = raise_for(session, admin, settings)
    record_work(session, tech, order, version=1, diagnosis="Board burnt",
                defect_code="E-042", labour_hours="1.5", service_type="onsite")
    assert (order.diagnosis, order.defect_code, order.labour_hours, order.service_type) == \
        ("Board burnt", "E-042", Decimal("1.50"), "onsite")
    assert order.version == 2
    fields = [h.field for h in order_history(session, order.id)][2:]
    assert fields == ["defect_code", "diagnosis", "labour_hours", "service_type"]
    record_work(session, tech, order, version=2, diagnosis="Board burnt")  # no change
    assert order.version == 2
    with pytest.raises(StaleVersion):
        record_work(session, tech, order, version=1, findings="late")


@pytest.mark.parametrize(("hours", "code"), [
    (1.5, "decimal_text"), ("1.555", "repair.hours"), ("-1", "repair.hours"),
    ("1e9", "repair.hours"), ("NaN", "repair.hours"), ("abc", "repair.hours"),
    (10 ** 30, "repair.hours"), (True, "decimal_text")])
def test_labour_hours_are_a_decimal_never_a_float(session, admin, settings, hours, code):
    order = raise_for(session, admin, settings)
    with pytest.raises(ValidationError) as exc:
        record_work(session, admin, order, version=1, labour_hours=hours)
    assert codes(exc.value) == {"labour_hours": code}


def test_work_is_not_recorded_after_inspection(session, admin, settings):
    order = put_in(session, raise_for(session, admin, settings), RepairStatus.SETTLEMENT)
    with pytest.raises(ValidationError) as exc:
        record_work(session, admin, order, version=1, findings="late")
    assert codes(exc.value) == {"status": "repair.not_workable"}


# --- repeat repairs and the product's history ------------------------------------------

def _closed(session, order, days_ago: float):
    order.status = RepairStatus.CLOSED
    order.closed_at = utcnow() - timedelta(days=days_ago)
    session.flush()


def test_a_repair_within_the_window_after_the_last_closed_one_is_a_repeat(
        session, admin, settings):
    first = raise_for(session, admin, settings, model="R-1")
    product = session.get(InstalledProduct, first.product_id)
    _closed(session, first, days_ago=29.9)
    second = raise_for(session, admin, settings, product=product,
                       customer=None, ticket=make_ticket(
                           session, session.get(Customer,
                                                product.customer_id), admin))
    assert second.repeat_of_id == first.id
    assert "repeat_of_id" in [h.field for h in order_history(session, second.id)]
    assert repeat_repair_count(session, product_id=product.id) == 1
    assert repeat_repair_count(session, model="R-1") == 1
    assert repeat_repair_count(session, model="other") == 0
    figures = {row["model"]: row for row in repeat_repairs_by_model(session)}
    assert (figures["R-1"]["orders"], figures["R-1"]["repeats"]) == (2, 1)
    assert figures["R-1"]["rate"] == Decimal("0.5000")
    (listed,) = repeat_repairs(session)
    assert (listed.order.id, listed.earlier.id, listed.product.id) == \
        (second.id, first.id, product.id)
    assert listed.days_after == 29
    # A cancelled repeat was no repair: counted neither way.
    put_in(session, second, RepairStatus.CANCELLED)
    assert repeat_repair_count(session, model="R-1") == 0
    assert repeat_repairs(session) == []
    assert repeat_repairs_by_model(session)[0]["orders"] == 1


def test_after_the_window_or_without_a_closed_repair_it_is_no_repeat(session, admin,
                                                                    settings):
    first = raise_for(session, admin, settings)
    product_id = first.product_id
    product = session.get(InstalledProduct, product_id)
    customer = session.get(Customer, first.customer_id)
    # Still open: no repeat.
    again = raise_for(session, admin, settings, product=product,
                      ticket=make_ticket(session, customer, admin))
    assert again.repeat_of_id is None
    put_in(session, again, RepairStatus.CANCELLED)
    _closed(session, first, days_ago=30.1)
    late = raise_for(session, admin, settings, product=product,
                     ticket=make_ticket(session, customer, admin))
    assert late.repeat_of_id is None
    assert repeat_repair_count(session, product_id=product_id) == 0


def test_the_window_is_a_setting(session, admin, settings):
    from dataclasses import replace
    first = raise_for(session, admin, settings)
    _closed(session, first, days_ago=50)
    product = session.get(InstalledProduct, first.product_id)
    second = raise_for(session, admin, replace(settings, repair_repeat_days=60),
                       product=product, ticket=make_ticket(
                           session, session.get(Customer, first.customer_id), admin))
    assert second.repeat_of_id == first.id


def test_product_repair_history(session, admin, make_user, settings):
    first = raise_for(session, admin, settings)
    product = session.get(InstalledProduct, first.product_id)
    second = raise_for(session, admin, settings, product=product,
                       ticket=make_ticket(session, session.get(Customer, first.customer_id),
                                          admin))
    assert [o.id for o in repair_history_of_product(session, admin, product.id)] == \
        [first.id, second.id]
    stranger = make_user("agent", scope="own")
    with pytest.raises(ProductNotFound):
        repair_history_of_product(session, stranger, product.id)


def test_parse_hours_accepts_text_and_whole_numbers():
    assert orders.parse_hours("2") == Decimal("2.00")
    assert orders.parse_hours(3) == Decimal("3.00")
    assert orders.parse_hours(" 0.25 ") == Decimal("0.25")


def test_a_customer_merge_moves_the_orders(session, admin, settings):
    from repairs.receivers import move_orders_to_survivor
    order = raise_for(session, admin, settings)
    merged, survivor = order.customer_id, make_customer(session, admin)
    assert move_orders_to_survivor(survivor.id, merged_id=merged, session=session) == {
        "repair_orders": 1}
    assert order.customer_id == survivor.id and order.version == 2
    row = order_history(session, order.id)[-1]
    assert (row.field, row.old_value, row.new_value, row.user_id) == (
        "customer_id", str(merged), str(survivor.id), None)


def test_the_reference_day_is_taken_in_the_given_time_zone(session, admin):
    from callcenter.core.locality import Locality
    customer = make_customer(session, admin)
    product = make_product(session, customer)
    ticket = make_ticket(session, customer, admin,
                         created_at=datetime(2026, 11, 30, 16, 30, tzinfo=UTC))
    order = raise_repair_order(session, admin, ticket_id=ticket.id, product_id=product.id,
                               fault_description="x", locality=Locality("CN", "UTC"))
    assert order.reported_on == date(2026, 11, 30)
