"""REST API for tickets: create, read, list with filters and queues, change with a
version, transitions, comments, history; answers checked against the OpenAPI schemas."""

from __future__ import annotations

from datetime import datetime

import pytest
from api_helpers import assert_error, assert_schema, bearer
from sqlalchemy import select

from callcenter.customers.models import Contact
from callcenter.products.models import InstalledProduct
from tickets.models import TicketType


@pytest.fixture
def agent(make_user):
    return make_user("agent", scope="department", department="Service/Hotline", token=True)


@pytest.fixture
def customer(agent, make_customer):
    return make_customer(agent, "Bus Co", phones=["13800000001"])


def post(client, url, user, body):
    return client.post(url, json=body, headers=bearer(user))


def get(client, url, user, **query):
    return client.get(url, headers=bearer(user), query_string=query)


def open_ticket(client, user, customer, **fields):
    body = {"type": "inquiry", "subject": "Printer jams", "description": "Page 3 jams",
            "customer_id": customer.id, "priority": "normal", **fields}
    r = post(client, "/api/v1/tickets", user, body)
    assert r.status_code == 201, r.get_json()
    assert_schema(r.get_json(), "Ticket")
    return r.get_json()


def move(client, user, ticket, to, **extra):
    return post(client, f"/api/v1/tickets/{ticket['id']}/transitions", user,
                {"to": to, "version": ticket["version"], **extra})


def has_offset(text: str) -> bool:
    return datetime.fromisoformat(text).utcoffset() is not None and not text.endswith("Z")


def test_create_answers_the_ticket_with_sla_and_history(client, agent, customer):
    t = open_ticket(client, agent, customer)
    assert t["status"] == "new" and t["version"] == 1 and t["escalation_level"] == 0
    assert t["department_id"] == agent.department_id and t["creator_id"] == agent.id
    assert set(t["sla"]) == {"first_response_due_at", "resolution_due_at", "state"}
    assert has_offset(t["created_at"])
    r = get(client, f"/api/v1/tickets/{t['id']}", agent)
    assert r.status_code == 200 and r.get_json() == t
    history = get(client, f"/api/v1/tickets/{t['id']}/history", agent).get_json()
    assert_schema(history, "TicketHistory")
    assert [i["field"] for i in history["items"]] == ["created"]
    item = history["items"][0]
    assert item["user"]["id"] == agent.id and has_offset(item["changed_at"])


@pytest.mark.parametrize(("field", "value", "status"), [
    ("type", "no_such_type", 422), ("type", "Bad Type", 422), ("priority", "asap", 422),
    ("subject", "", 422), ("subject", "x" * 201, 422), ("customer_id", 999999, 422),
    ("surprise", 1, 422), ("status", "closed", 422), ("contact_id", 999999, 422),
    ("installed_product_id", 999999, 422), ("call_id", "no-such-call", 422),
    ("assignee_id", 999999, 422),
])
def test_bad_create_bodies_name_the_field(client, agent, customer, field, value, status):
    body = {"type": "inquiry", "subject": "S", "customer_id": customer.id, field: value}
    assert_error(post(client, "/api/v1/tickets", agent, body), status, field)


def test_inactive_type_is_refused_and_an_added_type_accepted(client, agent, customer,
                                                             session):
    session.add(TicketType(code="repair_visit", name_zh="上门维修", name_en="Repair visit"))
    session.add(TicketType(code="old_kind", name_zh="旧", name_en="Old", active=False))
    session.flush()
    assert open_ticket(client, agent, customer, type="repair_visit")["type"] == "repair_visit"
    body = {"type": "old_kind", "subject": "S", "customer_id": customer.id}
    r = assert_error(post(client, "/api/v1/tickets", agent, body), 422, "type")
    assert r["error"]["problems"]["type"]["code"] == "ticket.unknown_type"


def test_contact_and_product_must_be_the_customers(client, agent, customer, make_customer,
                                                   session):
    other = make_customer(agent, "Other Co")
    product = InstalledProduct(customer_id=other.id, model="K9", serial_number="SN-O")
    session.add(product)
    session.flush()
    body = {"type": "complaint", "subject": "S", "customer_id": customer.id,
            "installed_product_id": product.id}
    r = assert_error(post(client, "/api/v1/tickets", agent, body), 422,
                     "installed_product_id")
    assert r["error"]["problems"]["installed_product_id"]["code"] == \
        "ticket.product_not_customers"
    mine = InstalledProduct(customer_id=customer.id, model="K9", serial_number="SN-M")
    session.add(mine)
    session.flush()
    t = open_ticket(client, agent, customer, installed_product_id=mine.id)
    assert t["installed_product_id"] == mine.id


def test_reporter_becomes_a_contact_found_again_by_phone(client, agent, customer, session):
    first = open_ticket(client, agent, customer,
                        reporter={"name": "Wang Wei", "phone": "139 1234 5678"})
    again = open_ticket(client, agent, customer,
                        reporter={"name": "W. Wei", "phone": "+8613912345678"})
    assert first["contact_id"] is not None and again["contact_id"] == first["contact_id"]
    contacts = session.scalars(select(Contact).where(Contact.customer_id == customer.id)).all()
    assert [c.name for c in contacts] == ["Wang Wei"]
    bad = {"type": "inquiry", "subject": "S", "customer_id": customer.id,
           "reporter": {"name": "X", "phone": "12"}}
    assert_error(post(client, "/api/v1/tickets", agent, bad), 422, "reporter.phone")


def test_a_technician_records_a_new_reporter_too(client, customer, make_user, session):
    """Every reporter becomes a contact (domain.md), whoever records the ticket: a
    technician at the site may not edit customers, yet adds the person who reported."""
    tech = make_user("technician", scope="all", department="Field", token=True)
    t = open_ticket(client, tech, customer,
                    reporter={"name": "刘师傅的客户", "phone": "13700001234"})
    contact = session.get(Contact, t["contact_id"])
    assert contact.customer_id == customer.id and contact.name == "刘师傅的客户"
    # Editing the customer itself stays with those who may.
    r = client.patch(f"/api/v1/customers/{customer.id}", json={"name": "Renamed"},
                     headers=bearer(tech))
    assert r.status_code == 403


def test_transitions_follow_the_state_machine(client, agent, customer):
    t = open_ticket(client, agent, customer)
    r = move(client, agent, t, "pending")
    body = assert_error(r, 422, "to")
    assert body["error"]["code"] == "ticket.transition_refused"
    assert_error(move(client, agent, t, "assigned"), 422, "assignee_id")
    t = move(client, agent, t, "assigned", assignee_id=agent.id, note="mine").get_json()
    assert (t["status"], t["assignee_id"], t["version"]) == ("assigned", agent.id, 2)
    for to in ("in_progress", "pending", "in_progress"):
        r = move(client, agent, t, to)
        assert r.status_code == 200, r.get_json()
        t = r.get_json()
    t = move(client, agent, t, "resolved", resolution="Replaced the roller").get_json()
    assert t["resolution"] == "Replaced the roller" and has_offset(t["resolved_at"])
    t = move(client, agent, t, "in_progress", note="customer says no").get_json()
    assert t["resolved_at"] is None  # reopened
    t = move(client, agent, t, "resolved").get_json()
    t = move(client, agent, t, "closed").get_json()
    assert t["status"] == "closed" and t["closed_at"]
    assert_error(move(client, agent, t, "in_progress"), 422, "to")
    items = get(client, f"/api/v1/tickets/{t['id']}/history", agent).get_json()["items"]
    statuses = [(i["old_value"], i["new_value"]) for i in items if i["field"] == "status"]
    assert statuses == [("new", "assigned"), ("assigned", "in_progress"),
                        ("in_progress", "pending"), ("pending", "in_progress"),
                        ("in_progress", "resolved"), ("resolved", "in_progress"),
                        ("in_progress", "resolved"), ("resolved", "closed")]
    assert [i["note"] for i in items if i["field"] == "status"][0] == "mine"
    assert any(i["field"] == "resolution" for i in items)


def test_stale_version_is_409_with_the_current_version(client, agent, customer):
    t = open_ticket(client, agent, customer)
    url = f"/api/v1/tickets/{t['id']}"
    r = client.patch(url, json={"version": 1, "subject": "Printer jams badly"},
                     headers=bearer(agent))
    assert r.status_code == 200 and r.get_json()["version"] == 2
    stale = client.patch(url, json={"version": 1, "priority": "high"}, headers=bearer(agent))
    body = assert_error(stale, 409)
    assert body["error"]["code"] == "ticket.stale_version"
    assert body["current_version"] == 2 and body["error"]["current_version"] == 2
    assert_error(move(client, agent, t, "in_progress"), 409)
    assert get(client, url, agent).get_json()["priority"] == "normal"


def test_patch_records_each_changed_field(client, agent, customer, make_user):
    helper = make_user("technician", scope="related", department="Service/Hotline")
    t = open_ticket(client, agent, customer)
    r = client.patch(f"/api/v1/tickets/{t['id']}", headers=bearer(agent), json={
        "version": 1, "priority": "urgent", "subject": "Printer jams",
        "related_user_ids": [helper.id], "type": "complaint"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["related_user_ids"] == [helper.id]
    items = get(client, f"/api/v1/tickets/{t['id']}/history", agent).get_json()["items"]
    changed = {i["field"]: (i["old_value"], i["new_value"]) for i in items[1:]}
    assert changed == {"priority": ("normal", "urgent"), "type": ("inquiry", "complaint"),
                       "related_user_ids": ("", str(helper.id))}
    for body in ({"version": 2, "status": "closed"}, {"version": 2, "customer_id": 1},
                 {"priority": "low"}, {"version": 2, "nonsense": 1}):
        assert_error(client.patch(f"/api/v1/tickets/{t['id']}", json=body,
                                  headers=bearer(agent)), 422)


def test_comments_and_the_first_response(client, agent, customer):
    t = open_ticket(client, agent, customer)
    url = f"/api/v1/tickets/{t['id']}/comments"
    r = post(client, url, agent, {"body": "checked the logs", "internal": True})
    assert r.status_code == 201 and r.get_json()["internal"] is True
    assert_schema(r.get_json(), "Comment")
    assert get(client, f"/api/v1/tickets/{t['id']}", agent).get_json()["first_response_at"] \
        is None
    assert post(client, url, agent, {"body": "We are on it", "internal": False}).status_code \
        == 201
    first = get(client, f"/api/v1/tickets/{t['id']}", agent).get_json()["first_response_at"]
    assert first and has_offset(first)
    post(client, url, agent, {"body": "Still on it", "internal": False})
    assert get(client, f"/api/v1/tickets/{t['id']}", agent).get_json()["first_response_at"] \
        == first
    listed = get(client, url, agent).get_json()
    assert_schema(listed, "CommentList")
    assert [c["internal"] for c in listed["items"]] == [True, False, False]
    assert len(get(client, url, agent, internal="false").get_json()["items"]) == 2
    for bad in ({"body": ""}, {"body": "x" * 20001}, {"body": "ok", "internal": "yes"}):
        assert_error(post(client, url, agent, bad), 422)
    fields = [i["field"] for i in
              get(client, f"/api/v1/tickets/{t['id']}/history", agent).get_json()["items"]]
    assert fields.count("first_response_at") == 1 and fields.count("comment") == 3


def test_list_filters_queues_and_paging(client, agent, customer, make_customer, session):
    other = make_customer(agent, "Other Co")
    a = open_ticket(client, agent, customer, subject="Screen flickers", priority="high")
    b = open_ticket(client, agent, other, subject="Invoice question", type="complaint")
    c = open_ticket(client, agent, customer, subject="Noise")
    move(client, agent, c, "assigned", assignee_id=agent.id)

    def ids(**query):
        r = get(client, "/api/v1/tickets", agent, **query)
        assert r.status_code == 200, r.get_json()
        assert_schema(r.get_json(), "TicketPage")
        return {t["id"] for t in r.get_json()["items"]}

    assert ids() == {a["id"], b["id"], c["id"]}
    assert ids(customer_id=customer.id) == {a["id"], c["id"]}
    assert ids(priority="high") == {a["id"]}
    assert ids(type="complaint") == {b["id"]}
    assert ids(status="new") == {a["id"], b["id"]}
    assert ids(status="assigned,new") == {a["id"], b["id"], c["id"]}
    assert ids(q="flick") == {a["id"]}
    assert ids(q=str(b["id"])) == {b["id"]}
    assert ids(queue="mine") == {c["id"]}
    assert ids(queue="unassigned") == {a["id"], b["id"]}
    assert ids(queue="team") == {a["id"], b["id"], c["id"]}
    assert ids(queue="breached") == set()
    assert ids(assignee_id="none") == {a["id"], b["id"]}
    page = get(client, "/api/v1/tickets", agent, per_page=2, sort="newest").get_json()
    assert page["total"] == 3 and page["pages"] == 2 and len(page["items"]) == 2
    assert page["items"][0]["id"] == c["id"]
    for bad in ({"queue": "everything"}, {"status": "open"}, {"sort": "random"},
                {"customer_id": "x"}, {"sla_state": "late"}):
        assert_error(get(client, "/api/v1/tickets", agent, **bad), 422)


def test_outside_scope_is_not_found(client, agent, customer, make_user):
    t = open_ticket(client, agent, customer)
    stranger = make_user("agent", scope="own", department="Sales", token=True)
    for url in (f"/api/v1/tickets/{t['id']}", f"/api/v1/tickets/{t['id']}/history",
                f"/api/v1/tickets/{t['id']}/comments"):
        assert_error(get(client, url, stranger), 404)
    assert_error(move(client, stranger, t, "in_progress"), 404)
    assert get(client, "/api/v1/tickets", stranger).get_json()["total"] == 0
    assert_error(get(client, "/api/v1/tickets/99999999", agent), 404)


def test_assignee_must_see_the_customer_and_be_active(client, agent, customer, make_user,
                                                      session):
    t = open_ticket(client, agent, customer)
    blind = make_user("technician", scope="own", department="Field")
    r = assert_error(move(client, agent, t, "assigned", assignee_id=blind.id), 422,
                     "assignee_id")
    assert r["error"]["problems"]["assignee_id"]["code"] == "ticket.assignee_cannot_see"
    gone = make_user("agent", scope="all", department="Service/Hotline")
    gone.active = False
    session.flush()
    assert_error(move(client, agent, t, "assigned", assignee_id=gone.id), 422, "assignee_id")
    tech = make_user("technician", scope="all", department="Field", token=True)
    # A technician may take a ticket but not hand one to someone else.
    r = move(client, tech, t, "assigned", assignee_id=tech.id)
    assert r.status_code == 200, r.get_json()
    assert move(client, tech, r.get_json(), "assigned", assignee_id=agent.id).status_code \
        == 403


def test_the_sla_policy_is_copied_at_creation(client, agent, customer, session):
    from tickets.models import SlaPolicy, Ticket
    session.add(SlaPolicy(name="urgent complaints", ticket_type="complaint",
                          priority="urgent", first_response_minutes=5,
                          resolution_minutes=60, calendar="24x7"))
    session.flush()
    t = open_ticket(client, agent, customer, type="complaint", priority="urgent")
    row = session.get(Ticket, t["id"])
    session.refresh(row)
    assert (row.first_response_minutes, row.resolution_minutes, row.sla_calendar.value) == \
        (5, 60, "24x7")
