# ruff: noqa: F811 - the fixtures imported from escalation_support are test arguments
"""The notices API: a user lists and marks read their own notices, nobody else's."""

from __future__ import annotations

import pytest
from escalation_support import (  # noqa: F401 - fixtures
    T0,
    db,
    esc_database,
    esc_factory,
    esc_settings,
    make_customer_for,
    make_org,
    make_ticket,
    minutes,
)

from callcenter.app import create_app
from callcenter.users.services import issue_api_token
from tickets.escalation import fire_due_escalations


@pytest.fixture
def esc_app(esc_settings):
    app = create_app(esc_settings)
    yield app
    app.extensions["db_engine"].dispose()


def _auth(token):
    return {"Authorization": f"Bearer {token}"}


def test_own_notices_listed_and_marked_read(db, esc_settings, esc_app):
    org = make_org(db)
    tickets = [make_ticket(db, esc_settings, make_customer_for(db, org.agent).id, org,
                           subject=f"Ticket {n}") for n in range(2)]
    tokens = {u.id: issue_api_token(db, u) for u in (org.agent, org.lead, org.top_lead)}
    db.commit()
    fire_due_escalations(db, esc_settings, now=T0 + minutes(101))
    client = esc_app.test_client()

    page = client.get("/api/v1/notices", headers=_auth(tokens[org.agent.id])).get_json()
    # The agent: warned, then told of the escalation, for each of the two tickets.
    assert page["total"] == 4
    assert sorted((n["ticket_id"], n["kind"]) for n in page["items"]) == sorted(
        [(t.id, kind) for t in tickets for kind in ("warn", "lead")])
    assert {n["subject"] for n in page["items"]} == {"Ticket 0", "Ticket 1"}
    assert all(n["read_at"] is None and n["created_at"].endswith("+00:00")
               for n in page["items"])
    lead_page = client.get("/api/v1/notices", headers=_auth(tokens[org.lead.id])).get_json()
    assert [(n["kind"], n["level"]) for n in lead_page["items"]] == [("lead", 1)] * 2
    # The department above hears nothing before 150 %.
    top = client.get("/api/v1/notices", headers=_auth(tokens[org.top_lead.id])).get_json()
    assert top["total"] == 0

    mine = page["items"][0]["id"]
    r = client.post(f"/api/v1/notices/{mine}/read", headers=_auth(tokens[org.agent.id]))
    assert r.status_code == 200 and r.get_json()["read_at"] is not None
    again = client.post(f"/api/v1/notices/{mine}/read", headers=_auth(tokens[org.agent.id]))
    assert again.get_json()["read_at"] == r.get_json()["read_at"]  # idempotent
    unread = client.get("/api/v1/notices?unread=true",
                        headers=_auth(tokens[org.agent.id])).get_json()
    assert unread["total"] == 3 and mine not in [n["id"] for n in unread["items"]]

    # Someone else's notice: not found, and it stays unread.
    theirs = lead_page["items"][0]["id"]
    r = client.post(f"/api/v1/notices/{theirs}/read", headers=_auth(tokens[org.agent.id]))
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    lead_unread = client.get("/api/v1/notices?unread=1",
                             headers=_auth(tokens[org.lead.id])).get_json()
    assert lead_unread["total"] == 2

    assert client.get("/api/v1/notices?unread=maybe",
                      headers=_auth(tokens[org.agent.id])).status_code == 422
    assert client.get("/api/v1/notices").status_code == 401
