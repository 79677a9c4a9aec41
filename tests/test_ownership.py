"""An employee leaves: their customers and related-employee links go to a successor."""

import pytest
from sqlalchemy import select

from callcenter.core.errors import PermissionDenied, ValidationError
from callcenter.customers.history import customer_history
from callcenter.customers.models import ChangeRecord, Customer, customer_related_users
from callcenter.customers.ownership import reassign_customers
from callcenter.customers.services import customers_query


def state(session):
    session.expire_all()
    return (sorted(session.execute(select(Customer.id, Customer.responsible_id)).all()),
            sorted(session.execute(select(customer_related_users)).all()),
            session.scalars(select(ChangeRecord.id).order_by(ChangeRecord.id)).all())


def visible_names(session, user):
    return sorted(c.name for c in session.scalars(customers_query(user)))


def test_admin_hands_all_customers_to_the_successor(session, make_user, make_customer):
    admin = make_user("admin")
    leaver = make_user("agent", scope="own", department="Sales/North")
    successor = make_user("agent", scope="related", department="Sales/South")
    bystander = make_user("agent", scope="own")
    a = make_customer(leaver, "A")
    b = make_customer(leaver, "B")
    linked = make_customer(bystander, "Linked", related_user_ids=[leaver.id])
    both = make_customer(bystander, "Both", related_user_ids=[leaver.id, successor.id])
    gone = make_customer(leaver, "Merged away")
    gone.merged_into_id = a.id
    untouched = make_customer(bystander, "Untouched")
    session.flush()

    assert reassign_customers(session, admin, leaver, successor) == 5
    session.expire_all()
    for customer in (a, b, gone):
        assert customer.responsible_id == successor.id
        assert customer.department_id == leaver.department_id   # department stays
    assert untouched.responsible_id == bystander.id
    assert [u.id for u in linked.related_users] == [successor.id]
    assert [u.id for u in both.related_users] == [successor.id]
    assert visible_names(session, leaver) == []
    assert visible_names(session, successor) == ["A", "B", "Both", "Linked"]
    record = next(r for r in customer_history(session, a.id) if r.field == "responsible_id")
    assert (record.old_value, record.new_value, record.user_id) == \
        (str(leaver.id), str(successor.id), admin.id)
    assert any(r.field == "related_user" and r.new_value == str(successor.id)
               for r in customer_history(session, linked.id))
    # Running it again finds nothing left to move.
    assert reassign_customers(session, admin, leaver, successor) == 0


def test_supervisor_reassigns_only_within_their_scope(session, make_user, make_customer):
    supervisor = make_user("supervisor", department="Sales/North")
    leaver = make_user("agent", department="Sales/North")
    successor = make_user("agent", department="Sales/North")
    north = make_customer(leaver, "North customer")
    south = make_customer(leaver, "South customer")
    south.department_id = make_user("agent", department="Sales/South").department_id
    session.flush()
    assert reassign_customers(session, supervisor, leaver, successor) == 1
    session.expire_all()
    assert north.responsible_id == successor.id
    assert south.responsible_id == leaver.id


def test_reassignment_is_refused_without_changes(session, make_user, make_customer):
    admin = make_user("admin")
    leaver = make_user("agent")
    successor = make_user("agent")
    make_customer(leaver, "Kept", related_user_ids=[successor.id])
    inactive = make_user("agent")
    inactive.active = False
    session.flush()
    before = state(session)
    with pytest.raises(PermissionDenied):
        reassign_customers(session, make_user("agent", scope="all"), leaver, successor)
    with pytest.raises(PermissionDenied):
        reassign_customers(session, make_user("technician", scope="all"), leaver, successor)
    for from_user, to_user, field in ((leaver, leaver, "to_user"),
                                      (leaver, inactive, "to_user"),
                                      (leaver, None, "to_user"),
                                      (None, successor, "from_user")):
        with pytest.raises(ValidationError) as info:
            reassign_customers(session, admin, from_user, to_user)
        assert field in info.value.errors
    assert state(session) == before
