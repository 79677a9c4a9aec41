"""Merging and linking tickets, and tickets following a customer merge."""

from __future__ import annotations

import pytest
from api_helpers import assert_error, assert_schema, bearer

from callcenter.customers.merge import merge_customers, merge_details
from tickets.models import Ticket


@pytest.fixture
def sup(make_user):
    return make_user("supervisor", scope="department", department="Service", token=True)


@pytest.fixture
def agent(make_user):
    return make_user("agent", scope="department", department="Service/Hotline", token=True)


@pytest.fixture
def customer(sup, make_customer):
    return make_customer(sup, "Bus Co")


def open_ticket(client, user, customer, subject="Jam"):
    r = client.post("/api/v1/tickets", headers=bearer(user), json={
        "type": "complaint", "subject": subject, "customer_id": customer.id})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def history(client, user, ticket_id):
    return client.get(f"/api/v1/tickets/{ticket_id}/history",
                      headers=bearer(user)).get_json()["items"]


def test_merge_closes_the_duplicate_with_history_on_both(client, sup, customer):
    keep, dup = open_ticket(client, sup, customer), open_ticket(client, sup, customer, "Jam!")
    r = client.post(f"/api/v1/tickets/{dup['id']}/merge", headers=bearer(sup),
                    json={"into_id": keep["id"], "note": "same printer"})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert_schema(body, "TicketMergeResult")
    merged = body["merged"]
    assert (merged["status"], merged["merged_into_id"]) == ("closed", keep["id"])
    assert merged["closed_at"] and merged["version"] == dup["version"] + 1
    dup_fields = {(i["field"], i["new_value"]) for i in history(client, sup, dup["id"])}
    assert {("status", "closed"), ("merged_into_id", str(keep["id"]))} <= dup_fields
    keep_items = [i for i in history(client, sup, keep["id"]) if i["field"] == "merged"]
    assert [(i["new_value"], i["note"]) for i in keep_items] == [(str(dup["id"]),
                                                                 "same printer")]
    links = client.get(f"/api/v1/tickets/{keep['id']}/links", headers=bearer(sup)).get_json()
    assert_schema(links, "TicketLinkList")
    assert [(x["kind"], {x["ticket_id"], x["other_id"]}) for x in links["items"]] == \
        [("merged", {keep["id"], dup["id"]})]
    # A closed ticket takes part in no further merge.
    assert_error(client.post(f"/api/v1/tickets/{keep['id']}/merge", headers=bearer(sup),
                             json={"into_id": dup["id"]}), 422, "into_id")


def test_merge_refusals(client, sup, agent, customer, make_customer):
    a, b = open_ticket(client, sup, customer), open_ticket(client, sup, customer)
    other = open_ticket(client, sup, make_customer(sup, "Other"))
    url = f"/api/v1/tickets/{a['id']}/merge"
    assert_error(client.post(url, headers=bearer(sup), json={"into_id": a["id"]}), 422,
                 "into_id")
    assert_error(client.post(url, headers=bearer(sup), json={"into_id": other["id"]}), 422,
                 "into_id")
    assert_error(client.post(url, headers=bearer(sup), json={"into_id": 99999999}), 422,
                 "into_id")
    # Agents link tickets but do not merge them.
    assert_error(client.post(url, headers=bearer(agent), json={"into_id": b["id"]}), 403)


def test_link_is_idempotent_and_recorded_once(client, sup, customer):
    a, b = open_ticket(client, sup, customer), open_ticket(client, sup, customer)
    for _ in range(2):
        r = client.post(f"/api/v1/tickets/{b['id']}/links", headers=bearer(sup),
                        json={"other_id": a["id"]})
        assert r.status_code == 201 and r.get_json()["ticket_id"] == a["id"]
        assert_schema(r.get_json(), "TicketLinkOut")
    assert [i["new_value"] for i in history(client, sup, a["id"])
            if i["field"] == "linked"] == [str(b["id"])]
    assert_error(client.post(f"/api/v1/tickets/{a['id']}/links", headers=bearer(sup),
                             json={"other_id": a["id"]}), 422, "other_id")


def test_tickets_follow_a_customer_merge(client, session, sup, customer, make_customer):
    dup_customer = make_customer(sup, "Bus Company")
    t1, t2 = open_ticket(client, sup, dup_customer), open_ticket(client, sup, dup_customer)
    stays = open_ticket(client, sup, customer)
    record = merge_customers(session, sup, customer, dup_customer)
    session.flush()
    assert {session.get(Ticket, t["id"]).customer_id for t in (t1, t2, stays)} == \
        {customer.id}
    assert merge_details(record)["linked"]["tickets"] == 2
    items = history(client, sup, t1["id"])
    last = items[-1]
    assert (last["field"], last["old_value"], last["new_value"], last["user"]) == \
        ("customer_id", str(dup_customer.id), str(customer.id), None)
    listed = client.get("/api/v1/tickets", headers=bearer(sup),
                        query_string={"customer_id": customer.id}).get_json()
    assert listed["total"] == 3
