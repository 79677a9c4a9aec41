"""Merging duplicates moves every linked record, keeps the audit trail, and is all or
nothing. Both backends."""

import json

import pytest
from sqlalchemy import select

from callcenter.core.errors import PermissionDenied, ValidationError
from callcenter.customers.addresses import add_address
from callcenter.customers.history import customer_history
from callcenter.customers.merge import (
    merge_customers,
    merge_details,
    merge_history,
    surviving_customer_id,
)
from callcenter.customers.models import (
    Address,
    ChangeRecord,
    Contact,
    Customer,
    CustomerMerge,
    Phone,
    customer_related_users,
)
from callcenter.customers.services import (
    CustomerNotFound,
    add_contact,
    customers_query,
    find_customer_by_phone,
    get_customer,
    update_customer,
)
from callcenter.customers.signals import customers_merged
from callcenter.products.models import InstalledProduct
from callcenter.products.services import register_product


def snapshot(session):
    """Every row a merge could touch, as plain tuples."""
    session.expire_all()
    rows = lambda stmt: sorted(tuple(r) for r in session.execute(stmt))  # noqa: E731
    return {
        "customers": rows(select(Customer.id, Customer.name, Customer.external_id,
                                 Customer.region, Customer.tax_id, Customer.email,
                                 Customer.responsible_id, Customer.ship_to_id,
                                 Customer.bill_to_id, Customer.payer_id,
                                 Customer.merged_into_id)),
        "contacts": rows(select(Contact.id, Contact.customer_id)),
        "phones": rows(select(Phone.id, Phone.customer_id, Phone.contact_id, Phone.e164)),
        "addresses": rows(select(Address.id, Address.customer_id)),
        "products": rows(select(InstalledProduct.id, InstalledProduct.customer_id)),
        "related": rows(select(customer_related_users.c.customer_id,
                               customer_related_users.c.user_id)),
        "merges": rows(select(CustomerMerge.id)),
        "changes": rows(select(ChangeRecord.id)),
    }


@pytest.fixture
def world(session, make_user, make_customer):
    """A survivor, its duplicate with everything attached, and a customer pointing at it."""
    sup = make_user("supervisor", department="Service/Beijing")
    colleague = make_user("agent", department="Service/Beijing")
    helper = make_user("technician", department="Service/Beijing")
    survivor = make_customer(sup, "北京华通汽车有限公司", phones=["13812345678"])
    merged = make_customer(colleague, "北京华通汽车", phones=["010-62345678", "13812345678"],
                           region="Beijing", tax_id="91110000MA01ABCD1X",
                           email="info@huatong.example", external_id="ERP-42",
                           related_user_ids=[helper.id])
    contact = add_contact(session, colleague, merged,
                          {"name": "Li Wei", "phones": ["13900001111"]}, region="CN")
    address = add_address(session, colleague, merged, {"line": "建国路 88 号"})
    product = register_product(session, colleague, merged,
                               {"model": "XC-200", "serial_number": "SN-M-1"})
    update_customer(session, colleague, merged, {"industry": "transport"}, region="CN")
    dealer = make_customer(sup, "Dealer", ship_to_id=merged.id, bill_to_id=merged.id)
    update_customer(session, sup, survivor, {"ship_to_id": merged.id}, region="CN")
    older = make_customer(sup, "Huatong old record")
    older.merged_into_id = merged.id
    session.flush()
    return dict(sup=sup, colleague=colleague, helper=helper, survivor=survivor,
                merged=merged, contact=contact, address=address, product=product,
                dealer=dealer, older=older)


def test_merge_moves_every_linked_record(session, world):
    w = world
    survivor, merged = w["survivor"], w["merged"]
    merge = merge_customers(session, w["sup"], survivor, merged)
    session.expire_all()

    assert merged.merged_into_id == survivor.id
    assert [c.id for c in survivor.contacts] == [w["contact"].id]
    assert session.scalars(select(Phone.customer_id).distinct()).all() == [survivor.id]
    assert {p.e164 for p in survivor.phones} == {"+8613812345678", "+861062345678"}
    assert [a.id for a in survivor.addresses] == [w["address"].id]
    assert [p.serial_number for p in survivor.products] == ["SN-M-1"]
    # Related employees: the merged record's, plus its responsible employee.
    assert {u.id for u in survivor.related_users} == {w["helper"].id, w["colleague"].id}
    assert merged.related_users == []
    # Partner functions pointing at the merged record now point at the survivor;
    # the survivor's own pointer becomes "itself" (NULL).
    dealer = w["dealer"]
    assert (dealer.ship_to_id, dealer.bill_to_id, dealer.payer_id) == (survivor.id,) * 3
    assert survivor.ship_to_id is None
    # A record merged into the merged one now points at the survivor (one hop).
    assert w["older"].merged_into_id == survivor.id
    # Blank fields were filled; the unique external id moved over.
    assert (survivor.region, survivor.tax_id, survivor.email, survivor.industry,
            survivor.external_id) == ("Beijing", "91110000MA01ABCD1X", "info@huatong.example",
                                      "transport", "ERP-42")
    assert merged.external_id is None and merged.name == "北京华通汽车"

    details = merge_details(merge)
    assert details["moved"]["contacts"] == [w["contact"].id]
    assert details["moved"]["products"] == [w["product"].id]
    assert details["moved"]["partner_refs"] == {"ship_to": [survivor.id, dealer.id],
                                                "bill_to": [dealer.id]}
    assert details["merged_record"]["external_id"] == "ERP-42"
    assert details["merged_record"]["tax_id"] == "91110000MA01ABCD1X"
    assert (merge.survivor_id, merge.merged_id, merge.user_id) == \
        (survivor.id, merged.id, w["sup"].id)
    assert merge_history(session, survivor.id) == [merge]
    assert merge_history(session, merged.id) == [merge]


def test_merge_history_and_lookups_follow_the_survivor(session, world):
    w = world
    survivor, merged = w["survivor"], w["merged"]
    merge_customers(session, w["sup"], survivor, merged)
    session.expire_all()
    history = customer_history(session, survivor.id)
    fields = {(r.customer_id, r.field) for r in history}
    # The merged record's own history stays readable from the survivor...
    assert (merged.id, "industry") in fields and (merged.id, "registered") in fields
    # ...next to the merge itself and the fields it filled.
    assert (survivor.id, "merged") in fields and (survivor.id, "tax_id") in fields
    assert any(r.field == "merged_into" for r in customer_history(session, merged.id))
    # Lookups never return the merged record.
    admin_ids = [c.id for c in session.scalars(customers_query(w["sup"]))]
    assert merged.id not in admin_ids and survivor.id in admin_ids
    assert find_customer_by_phone(session, "010 6234 5678", region="CN") == survivor
    assert find_customer_by_phone(session, "+86 139 0000 1111", region="CN") == survivor  # contact
    assert [c.id for c in session.scalars(customers_query(
        w["sup"], phone="13900001111", region_code="CN"))] == [survivor.id]
    assert [c.id for c in session.scalars(customers_query(
        w["sup"], q="华通汽车", region_code="CN"))] == [survivor.id]
    assert [c.id for c in session.scalars(customers_query(w["sup"], serial="SN-M-1"))] == \
        [survivor.id]
    assert surviving_customer_id(session, merged.id) == survivor.id
    assert surviving_customer_id(session, w["older"].id) == survivor.id
    assert surviving_customer_id(session, 10**9) is None


def test_survivor_values_win_over_merged_ones(session, make_user, make_customer):
    sup = make_user("supervisor")
    survivor = make_customer(sup, "Acme", region="Shanghai", email="a@acme.example",
                             external_id="S-1")
    merged = make_customer(sup, "ACME Ltd", region="Beijing", email="b@acme.example",
                           external_id="M-1", notes="call mornings only")
    merge = merge_customers(session, sup, survivor, merged)
    session.expire_all()
    assert (survivor.region, survivor.email, survivor.external_id, survivor.notes) == \
        ("Shanghai", "a@acme.example", "S-1", "call mornings only")
    assert merged.external_id == "M-1"
    assert merge_details(merge)["filled"] == {"notes": "call mornings only"}


def test_other_domains_move_their_rows_on_customers_merged(app, session, world):
    # `app`: the domains are started (repairs connects its receiver), whatever ran before.
    calls = []

    def tickets(survivor_id, *, merged_id, session, **_):
        calls.append((session, survivor_id, merged_id))
        return {"tickets": 3, "calls": 0}

    with customers_merged.connected_to(tickets):
        customers_merged.connect(tickets)   # connecting twice is harmless
        merge = merge_customers(session, world["sup"], world["survivor"], world["merged"])
    assert calls == [(session, world["survivor"].id, world["merged"].id)]
    assert merge_details(merge)["linked"] == {"tickets": 3, "calls": 0, "repair_orders": 0}


@pytest.mark.parametrize("failure", ["raises", "bad_result"])
def test_failing_handler_rolls_the_whole_merge_back(session, world, failure):
    def broken(survivor_id, *, session, **_):
        session.execute(Customer.__table__.update().where(Customer.id == survivor_id)
                        .values(notes="half-written"))
        if failure == "raises":
            raise RuntimeError("ticket store unavailable")
        return {"tickets": "three"}

    before = snapshot(session)
    with customers_merged.connected_to(broken), \
            pytest.raises((RuntimeError, TypeError)):
        merge_customers(session, world["sup"], world["survivor"], world["merged"])
    assert snapshot(session) == before
    assert world["survivor"].notes == ""
    # And the session is still usable: the merge can be retried.
    assert merge_customers(session, world["sup"], world["survivor"], world["merged"]).id


def test_refused_merges_change_nothing(session, world, make_user, make_customer):
    w = world
    survivor, merged = w["survivor"], w["merged"]
    stranger = make_user("supervisor", department="Service/Shanghai")
    theirs = make_customer(stranger, "Huatong Shanghai")
    before = snapshot(session)
    with pytest.raises(ValidationError) as info:
        merge_customers(session, w["sup"], survivor, survivor)
    assert "merged_id" in info.value.errors
    with pytest.raises(ValidationError) as info:
        merge_customers(session, w["sup"], w["older"], merged)
    assert "survivor_id" in info.value.errors
    with pytest.raises(ValidationError) as info:
        merge_customers(session, w["sup"], survivor, w["older"])
    assert "merged_id" in info.value.errors
    with pytest.raises(PermissionDenied):
        merge_customers(session, w["colleague"], survivor, merged)   # agents may not merge
    with pytest.raises(CustomerNotFound):
        merge_customers(session, w["sup"], survivor, theirs)        # out of scope
    with pytest.raises(CustomerNotFound):
        merge_customers(session, stranger, theirs, merged)
    assert snapshot(session) == before


def test_merge_twice_is_refused(session, world):
    merge_customers(session, world["sup"], world["survivor"], world["merged"])
    before = snapshot(session)
    with pytest.raises(ValidationError):
        merge_customers(session, world["sup"], world["survivor"], world["merged"])
    assert snapshot(session) == before


def test_chained_merges_keep_all_history(session, make_user, make_customer):
    sup = make_user("supervisor")
    a = make_customer(sup, "Alpha A")
    b = make_customer(sup, "Alpha B")
    c = make_customer(sup, "Alpha C")
    update_customer(session, sup, a, {"region": "north"}, region="CN")
    first = merge_customers(session, sup, b, a)
    second = merge_customers(session, sup, c, b)
    session.expire_all()
    assert a.merged_into_id == c.id and b.merged_into_id == c.id
    assert {r.customer_id for r in customer_history(session, c.id)} == {a.id, b.id, c.id}
    assert merge_history(session, c.id) == [second, first]
    assert get_customer(session, sup, c.id).region == "north"
    assert json.loads(second.details)["moved"]["merged_records"] == [a.id]
