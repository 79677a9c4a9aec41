"""Scopes are SQL: each scope sees exactly its rows, on both backends."""

from sqlalchemy import select

from callcenter.customers.models import Customer
from callcenter.customers.services import customers_query, find_customer_by_phone


def names(session, user):
    return {c.name for c in session.scalars(customers_query(user))}


def test_scopes_widen_from_own_to_all(session, make_user, make_customer):
    owner = make_user("supervisor", department="Service/Beijing")
    colleague = make_user("agent", department="Service/Beijing/Chaoyang")
    stranger = make_user("agent", department="Service/Shanghai")
    make_customer(owner, "Owned by supervisor")
    sub = make_customer(colleague, "Owned in sub-department")
    make_customer(stranger, "Shanghai customer")
    related_one = make_customer(stranger, "Shanghai, related to colleague")
    related_one.related_users = [colleague]
    session.flush()

    own = make_user("agent", scope="own", department="Service/Beijing/Chaoyang")
    sub.responsible_id = own.id
    session.flush()
    assert names(session, own) == {"Owned in sub-department"}

    related = make_user("agent", scope="related")
    related_one.related_users = [related]
    session.flush()
    assert names(session, related) == {"Shanghai, related to colleague"}

    dept = make_user("agent", scope="department", department="Service/Beijing")
    assert names(session, dept) == {"Owned by supervisor", "Owned in sub-department"}

    everyone = make_user("admin")
    assert len(names(session, everyone)) == 4


def test_find_customer_by_phone_any_format(session, make_user, make_customer):
    owner = make_user("agent")
    customer = make_customer(owner, "Zhang San", phones=["13812345678"])
    for raw in ("+86 138 1234 5678", "008613812345678", "013812345678"):
        assert find_customer_by_phone(session, raw, region="CN") == customer
    assert find_customer_by_phone(session, "anonymous", region="CN") is None
    assert session.scalar(select(Customer.name).where(Customer.id == customer.id))
