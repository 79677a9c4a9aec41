"""Installed products: registration, warranty state, scope, assignment, reminders;
and addresses. Both backends."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from callcenter.core.errors import PermissionDenied, ValidationError
from callcenter.customers.addresses import (
    AddressNotFound,
    add_address,
    get_address,
    remove_address,
    update_address,
)
from callcenter.customers.history import customer_history
from callcenter.customers.models import Address
from callcenter.customers.services import CustomerNotFound
from callcenter.products.models import InstalledProduct, WarrantyType
from callcenter.products.services import (
    ProductNotFound,
    assign_product,
    expiring_warranties,
    get_product,
    products_query,
    register_product,
    update_product,
)
from callcenter.products.warranty import WarrantyState, warranty_state

TODAY = date(2026, 6, 15)


def product(session, actor, customer, serial, **fields):
    data = {"model": "XC-200", "serial_number": serial, **fields}
    return register_product(session, actor, customer, data)


def serials(session, stmt):
    return [p.serial_number for p in session.scalars(stmt)]


@pytest.mark.parametrize(("warranty_type", "end", "state"), [
    (WarrantyType.STANDARD, TODAY + timedelta(days=31), WarrantyState.IN_WARRANTY),
    (WarrantyType.STANDARD, TODAY + timedelta(days=30), WarrantyState.EXPIRING),
    (WarrantyType.CONTRACT, TODAY, WarrantyState.EXPIRING),   # last covered day
    (WarrantyType.EXTENDED, TODAY - timedelta(days=1), WarrantyState.EXPIRED),
    (WarrantyType.NONE, TODAY + timedelta(days=300), WarrantyState.NONE),
    (WarrantyType.STANDARD, None, WarrantyState.NONE),
])
def test_warranty_state(warranty_type, end, state):
    item = InstalledProduct(model="m", serial_number="s", warranty_type=warranty_type,
                            warranty_end=end)
    assert warranty_state(item, TODAY) is state


def test_register_product_cleans_and_records(session, make_user, make_customer):
    agent = make_user("agent")
    customer = make_customer(agent, "Huatong Bus")
    item = register_product(session, agent, customer, {
        "model": " XC-200 ", "serial_number": "  SN-0001 ", "warranty_type": "extended",
        "warranty_end": "2027-01-31", "installed_on": date(2025, 2, 1), "external_id": "E1"})
    session.expire_all()
    stored = session.get(InstalledProduct, item.id)
    assert (stored.model, stored.serial_number, stored.customer_id) == \
        ("XC-200", "SN-0001", customer.id)
    assert stored.warranty_type is WarrantyType.EXTENDED
    assert stored.warranty_end == date(2027, 1, 31)
    assert stored.installed_on == date(2025, 2, 1)
    assert [p.id for p in customer.products] == [item.id]
    assert any(r.entity == "product" and r.field == "registered" and "SN-0001" in r.new_value
               for r in customer_history(session, customer.id))


def test_register_product_defaults_to_standard_warranty(session, make_user, make_customer):
    agent = make_user("agent")
    item = product(session, agent, make_customer(agent), "SN-D")
    assert item.warranty_type is WarrantyType.STANDARD and item.warranty_end is None


@pytest.mark.parametrize(("data", "field"), [
    ({"serial_number": "X1"}, "model"),
    ({"model": "m"}, "serial_number"),
    ({"model": "m", "serial_number": "   "}, "serial_number"),
    ({"model": "m", "serial_number": "S" * 81}, "serial_number"),
    ({"model": "m" * 121, "serial_number": "X1"}, "model"),
    ({"model": "m", "serial_number": 12345}, "serial_number"),
    ({"model": "m", "serial_number": "X\n1"}, "serial_number"),
    ({"model": "m", "serial_number": "X1", "warranty_type": "lifetime"}, "warranty_type"),
    ({"model": "m", "serial_number": "X1", "warranty_end": "31/01/2027"}, "warranty_end"),
    ({"model": "m", "serial_number": "X1", "warranty_end": "2027-02-30"}, "warranty_end"),
    ({"model": "m", "serial_number": "X1", "warranty_end": 20270131}, "warranty_end"),
    ({"model": "m", "serial_number": "X1", "installed_on": "x" * 5000}, "installed_on"),
    ({"model": "m", "serial_number": "X1", "installed_on": "2026-05-01",
      "warranty_end": "2026-04-30"}, "warranty_end"),
    ({"model": "m", "serial_number": "X1", "external_id": "e" * 65}, "external_id"),
    ({"model": "m", "serial_number": "X1", "customer_id": 5}, "customer_id"),
    (["model", "serial_number"], "data"),
])
def test_register_product_rejects_bad_input(session, make_user, make_customer, data, field):
    agent = make_user("agent")
    customer = make_customer(agent)
    with pytest.raises(ValidationError) as info:
        register_product(session, agent, customer, data)
    assert field in info.value.errors
    assert session.scalar(select(InstalledProduct.id)) is None


def test_serial_number_is_unique(session, make_user, make_customer):
    agent = make_user("agent")
    first = make_customer(agent, "First")
    original = product(session, agent, first, "SN-1", external_id="EXT-1")
    with pytest.raises(ValidationError) as info:
        product(session, agent, make_customer(agent, "Second"), " SN-1 ")
    assert "serial_number" in info.value.errors
    with pytest.raises(ValidationError) as info:
        product(session, agent, first, "SN-2", external_id="EXT-1")
    assert "external_id" in info.value.errors
    # Nothing already stored changed, and the session is still usable.
    assert session.scalars(select(InstalledProduct)).all() == [original]
    assert original.customer_id == first.id


def test_technician_records_equipment_found_on_site(session, make_user, make_customer):
    agent = make_user("agent")
    customer = make_customer(agent)
    technician = make_user("technician", scope="all")
    assert product(session, technician, customer, "SN-T").customer_id == customer.id


def test_update_product_corrects_serial_keeping_uniqueness(session, make_user, make_customer):
    agent = make_user("agent")
    customer = make_customer(agent)
    item = product(session, agent, customer, "SN-TYPO", warranty_end="2027-01-01")
    other = product(session, agent, customer, "SN-OTHER")
    update_product(session, agent, item, {"serial_number": "SN-FIXED",
                                          "warranty_end": "2028-01-01"})
    session.expire_all()
    assert session.get(InstalledProduct, item.id).serial_number == "SN-FIXED"
    history = {(r.field, r.old_value, r.new_value) for r in
               customer_history(session, customer.id) if r.entity == "product"}
    assert ("serial_number", "SN-TYPO", "SN-FIXED") in history
    assert ("warranty_end", "2027-01-01", "2028-01-01") in history

    with pytest.raises(ValidationError) as info:
        update_product(session, agent, item, {"serial_number": "SN-OTHER",
                                              "model": "new model"})
    assert "serial_number" in info.value.errors
    session.expire_all()
    stored = session.get(InstalledProduct, item.id)
    assert (stored.serial_number, stored.model) == ("SN-FIXED", "XC-200")
    assert session.get(InstalledProduct, other.id).serial_number == "SN-OTHER"
    for bad in ({"serial_number": ""}, {"customer_id": 1}, {"warranty_type": 3},
                {"model": None}):
        with pytest.raises(ValidationError):
            update_product(session, agent, stored, bad)


def test_update_product_without_changes_records_nothing(session, make_user, make_customer):
    agent = make_user("agent")
    customer = make_customer(agent)
    item = product(session, agent, customer, "SN-SAME")
    before = len(customer_history(session, customer.id))
    update_product(session, agent, item, {"serial_number": "SN-SAME", "model": "XC-200"})
    assert len(customer_history(session, customer.id)) == before


def test_products_are_scoped_through_their_owner(session, make_user, make_customer):
    beijing = make_user("agent", department="Service/Beijing")
    shanghai = make_user("agent", department="Service/Shanghai")
    mine = product(session, beijing, make_customer(beijing, "BJ"), "SN-BJ")
    theirs = product(session, shanghai, make_customer(shanghai, "SH"), "SN-SH")
    assert serials(session, products_query(beijing)) == ["SN-BJ"]
    assert serials(session, products_query(make_user("admin"))) == ["SN-BJ", "SN-SH"]
    assert get_product(session, beijing, mine.id) == mine
    for bad_id in (theirs.id, 999_999, "abc", None, -1, True):
        with pytest.raises(ProductNotFound):
            get_product(session, beijing, bad_id)
    assert serials(session, products_query(beijing, serial=" SN-SH ")) == []


def test_products_query_filters(session, make_user, make_customer):
    agent = make_user("agent")
    a, b = make_customer(agent, "A"), make_customer(agent, "B")
    product(session, agent, a, "IN", warranty_end=TODAY + timedelta(days=200))
    product(session, agent, a, "SOON", warranty_end=TODAY + timedelta(days=3), model="ZX")
    product(session, agent, b, "OLD", warranty_end=TODAY - timedelta(days=3))
    product(session, agent, b, "NONE", warranty_type="none",
            warranty_end=TODAY + timedelta(days=3))
    q = lambda **kw: serials(session, products_query(agent, today=TODAY, **kw))  # noqa: E731
    assert q(warranty="in_warranty") == ["IN"]
    assert q(warranty="expiring") == ["SOON"]
    assert q(warranty="expired") == ["OLD"]
    assert q(warranty="none") == ["NONE"]
    assert q(customer_id=str(b.id)) == ["OLD", "NONE"]
    assert q(model="ZX") == ["SOON"]
    assert q(serial="OLD") == ["OLD"]
    for bad in ({"warranty": "soon"}, {"customer_id": "x"}, {"customer_id": [1]},
                {"serial": 5}):
        with pytest.raises(ValidationError) as info:
            products_query(agent, **bad)
        assert set(info.value.errors) <= {"warranty", "customer_id", "serial"}


def test_expiring_warranties_is_the_scoped_reminder_list(session, make_user, make_customer):
    agent = make_user("agent", department="Service/Beijing")
    stranger = make_user("agent", department="Service/Shanghai")
    mine = make_customer(agent, "Mine")
    product(session, agent, mine, "LATER", warranty_end=TODAY + timedelta(days=25))
    product(session, agent, mine, "FIRST", warranty_end=TODAY, warranty_type="contract")
    product(session, agent, mine, "FAR", warranty_end=TODAY + timedelta(days=31))
    product(session, agent, mine, "GONE", warranty_end=TODAY - timedelta(days=1))
    product(session, agent, mine, "NOWARRANTY", warranty_type="none", warranty_end=TODAY)
    product(session, stranger, make_customer(stranger, "Theirs"), "HIDDEN",
            warranty_end=TODAY + timedelta(days=1))
    soon = expiring_warranties(session, agent, today=TODAY)
    assert [p.serial_number for p in soon] == ["FIRST", "LATER"]
    assert [p.serial_number for p in
            expiring_warranties(session, agent, within_days=31, today=TODAY)] == \
        ["FIRST", "LATER", "FAR"]
    for bad in (-1, "30", 10**6, True, None):
        with pytest.raises(ValidationError):
            expiring_warranties(session, agent, within_days=bad, today=TODAY)


def test_assign_product_from_placeholder_to_end_user(session, make_user, make_customer):
    agent = make_user("agent", department="Service/Beijing")
    branch = make_customer(agent, "Beijing branch (placeholder)", is_placeholder=True)
    item = product(session, agent, branch, "SN-OLD-1")
    owner = make_customer(agent, "Li Wei", phones=["13812345678"])
    assign_product(session, agent, item, owner)
    session.expire_all()
    assert session.get(InstalledProduct, item.id).customer_id == owner.id
    assert [p.serial_number for p in owner.products] == ["SN-OLD-1"]
    assert branch.products == []
    out = [r for r in customer_history(session, branch.id) if r.field == "moved_to_customer"]
    into = [r for r in customer_history(session, owner.id)
            if r.field == "assigned_from_customer"]
    assert out[0].new_value == str(owner.id) and into[0].old_value == str(branch.id)
    # Assigning to the current owner changes nothing.
    before = len(customer_history(session, owner.id))
    assign_product(session, agent, item, owner)
    assert len(customer_history(session, owner.id)) == before


def test_assign_product_refuses_customers_out_of_scope_or_merged(session, make_user,
                                                                 make_customer):
    agent = make_user("agent", department="Service/Beijing")
    stranger = make_user("agent", department="Service/Shanghai")
    item = product(session, agent, make_customer(agent, "Mine"), "SN-A")
    with pytest.raises(CustomerNotFound):
        assign_product(session, agent, item, make_customer(stranger, "Theirs"))
    gone = make_customer(agent, "Gone")
    gone.merged_into_id = item.customer_id
    session.flush()
    with pytest.raises(ValidationError):
        assign_product(session, agent, item, gone)
    with pytest.raises(ValidationError):
        product(session, agent, gone, "SN-B")
    session.expire_all()
    assert session.get(InstalledProduct, item.id).customer.name == "Mine"


# --- addresses -------------------------------------------------------------------------

def test_address_lifecycle_with_history(session, make_user, make_customer):
    agent = make_user("agent")
    customer = make_customer(agent, "Huatong")
    address = add_address(session, agent, customer, {
        "purpose": "ship_to", "line": " 朝阳区建国路 88 号 ", "city": "北京", "country": "cn"})
    assert (address.line, address.country, address.purpose) == \
        ("朝阳区建国路 88 号", "CN", "ship_to")
    assert get_address(session, agent, address.id) == address
    update_address(session, agent, address, {"postcode": "100022", "city": "北京"})
    assert address.postcode == "100022"
    remove_address(session, agent, address)
    assert session.scalar(select(Address.id)) is None
    fields = [(r.field, r.old_value, r.new_value) for r in
              reversed(customer_history(session, customer.id)) if r.entity == "address"]
    assert [f[0] for f in fields] == ["added", "postcode", "removed"]
    assert "朝阳区建国路 88 号" in fields[2][1]   # the history keeps what was removed


@pytest.mark.parametrize(("data", "field"), [
    ({}, "line"),
    ({"line": "  "}, "line"),
    ({"line": "x" * 301}, "line"),
    ({"line": ["a"]}, "line"),
    ({"line": "a", "purpose": "holiday"}, "purpose"),
    ({"line": "a", "country": "CHN"}, "country"),
    ({"line": "a", "country": "1A"}, "country"),
    ({"line": "a", "postcode": "1" * 21}, "postcode"),
    ({"line": "a", "customer_id": 3}, "customer_id"),
])
def test_address_rejects_bad_input(session, make_user, make_customer, data, field):
    agent = make_user("agent")
    customer = make_customer(agent)
    with pytest.raises(ValidationError) as info:
        add_address(session, agent, customer, data)
    assert field in info.value.errors
    assert session.scalar(select(Address.id)) is None


def test_address_update_failure_keeps_stored_values(session, make_user, make_customer):
    agent = make_user("agent")
    address = add_address(session, agent, make_customer(agent), {"line": "Road 1"})
    with pytest.raises(ValidationError):
        update_address(session, agent, address, {"line": "Road 2", "country": "XXX"})
    session.expire_all()
    assert session.get(Address, address.id).line == "Road 1"


def test_addresses_are_scoped_and_need_update_permission(session, make_user, make_customer):
    agent = make_user("agent", department="Service/Beijing")
    stranger = make_user("agent", department="Service/Shanghai")
    address = add_address(session, stranger, make_customer(stranger), {"line": "Road"})
    for bad in (address.id, 10**9, "x"):
        with pytest.raises(AddressNotFound):
            get_address(session, agent, bad)
    technician = make_user("technician", scope="all")
    with pytest.raises(PermissionDenied):
        remove_address(session, technician, address)
    assert session.get(Address, address.id) is not None


def test_unique_key_race_becomes_validation_error_and_session_survives(session, make_user,
                                                                      make_customer):
    """A concurrent writer that stores the same serial between our check and our flush."""
    from callcenter.products.services import _write_unique

    agent = make_user("agent")
    customer = make_customer(agent)
    first = product(session, agent, customer, "SN-RACE")
    clash = InstalledProduct(customer_id=customer.id, model="m", serial_number="SN-RACE")
    with pytest.raises(ValidationError) as info:
        _write_unique(session, lambda: session.add(clash))
    assert "serial_number" in info.value.errors
    assert serials(session, select(InstalledProduct)) == ["SN-RACE"]
    assert product(session, agent, customer, "SN-NEXT").id != first.id
