"""REST API of the call log: shapes (validated against the OpenAPI document), filters,
errors, the scope and wrap-up matrix, token and cookie+CSRF authentication."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from api_helpers import assert_error, assert_schema, bearer
from test_calls import (
    AGENT_IF,
    SCOPES,
    T0,
    build_call_world,
    finished,
    may_wrap_up,
    summary,
    visible,
)
from webtools import get_token, login

from callcenter.calls.models import CallRecord
from callcenter.calls.recording import record_call
from callcenter.users.models import Role


def get(client, url, user, **kw):
    return client.get(url, headers=bearer(user), **kw)


def wrapup(client, call_id, user, body):
    return client.post(f"/api/v1/calls/{call_id}/wrapup", json=body, headers=bearer(user))


@pytest.fixture
def client(app):
    """The calls here started at T0, days ago. An agent may wrap up a call of a customer
    outside their scope only within CALL_ACCESS_HOURS of it (callcenter.calls.access,
    tests/security/test_call_access.py); these tests are about who may, not when."""
    app.config["SETTINGS"] = replace(app.config["SETTINGS"], call_access_hours=10**6)
    return app.test_client()


@pytest.fixture
def agent(make_user):
    return make_user("agent", username="agent1", scope="own", department="Service/Beijing",
                     interface=AGENT_IF, token=True)


@pytest.fixture
def admin(make_user):
    return make_user("admin", username="boss", token=True)


@pytest.fixture
def customer(make_user, make_customer):
    owner = make_user("supervisor", department="Service/Beijing")
    return make_customer(owner, "北京华通汽车有限公司", phones=["13812345678"])


@pytest.fixture
def calls(session, agent, customer):
    """Three calls: answered by agent1 (a known customer), abandoned, in repairs."""
    record_call(session, finished("1795455872.8", caller_name="<b>Zhang</b>"), region="CN")
    record_call(session, summary("1795455900.1", caller_number="anonymous", outcome="abandoned",
                                 started_at=T0 + 100, ended_at=T0 + 130, wait_s=30), region="CN")
    record_call(session, finished("1795456000.5", queue="repairs", caller_number="010-62345678",
                                  started_at=T0 + 200, ended_at=T0 + 300), region="CN")
    session.flush()
    return ["1795456000.5", "1795455900.1", "1795455872.8"]


# --- reading -------------------------------------------------------------------------------

def test_list_is_a_page_of_calls_newest_first(client, admin, calls, agent, customer):
    r = get(client, "/api/v1/calls", admin)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert_schema(body, "CallPage")
    assert [c["call_id"] for c in body["items"]] == calls
    assert body["total"] == 3 and body["next"] is None
    first = body["items"][-1]
    assert first["caller"] == {"number": "13812345678", "name": "<b>Zhang</b>",
                               "e164": "+8613812345678"}
    assert first["customer_id"] == customer.id and first["queue"] == "support"
    assert (first["agent"], first["agent_id"]) == ("agent1", agent.id)
    assert first["outcome"] == "answered" and first["wait_s"] == 3.2
    assert first["talk_s"] == 60.0
    assert datetime.fromisoformat(first["started_at"]) == datetime.fromtimestamp(T0, UTC)
    assert first["ended_at"] and first["answered_at"]
    assert first["disposition"] is None and first["notes"] == ""
    abandoned = body["items"][1]
    assert abandoned["caller"]["e164"] is None and abandoned["agent"] is None


def test_one_call_and_not_found(client, admin, calls):
    r = get(client, "/api/v1/calls/1795455872.8", admin)
    assert r.status_code == 200
    assert_schema(r.get_json(), "Call")
    assert r.get_json()["call_id"] == "1795455872.8"
    for missing in ("1795455872.9", "x" * 65, "%00", "a%0Ab"):
        assert_error(get(client, f"/api/v1/calls/{missing}", admin), 404)


def test_paging(client, admin, calls):
    r = get(client, "/api/v1/calls", admin, query_string={"per_page": 2})
    body = r.get_json()
    assert [c["call_id"] for c in body["items"]] == calls[:2] and body["pages"] == 2
    r = client.get(body["next"], headers=bearer(admin))
    assert [c["call_id"] for c in r.get_json()["items"]] == calls[2:]
    assert_error(get(client, "/api/v1/calls", admin, query_string={"page": "0"}), 422, "page")


@pytest.mark.parametrize("params,expected", [
    ({"queue": "repairs"}, [0]),
    ({"queue": "support"}, [1, 2]),
    ({"outcome": "abandoned"}, [1]),
    ({"agent": "agent1"}, [0, 2]),
    ({"agent": "nobody"}, []),
    ({"since": datetime.fromtimestamp(T0 + 50, UTC).isoformat()}, [0, 1]),
    ({"since": "2999-01-01"}, []),
    ({"since": "2000-01-01T00:00:00Z"}, [0, 1, 2]),
    ({"queue": "support", "outcome": "answered"}, [2]),
    ({"until": datetime.fromtimestamp(T0 + 150, UTC).isoformat()}, [1, 2]),
    ({"until": "2000-01-01"}, []),
    ({"disposition": "none"}, [0, 1, 2]),
    ({"disposition": "resolved"}, []),
    ({"number": "+86 138 1234 5678"}, [2]),
    ({"number": "01062345678"}, [0]),
    ({"number": "anonymous-1234"}, []),
    ({"direction": "inbound"}, [0, 1, 2]),
    ({"direction": "outbound"}, []),
])
def test_filters(client, admin, calls, params, expected):
    r = get(client, "/api/v1/calls", admin, query_string=params)
    assert r.status_code == 200, r.get_json()
    assert [c["call_id"] for c in r.get_json()["items"]] == [calls[i] for i in expected]


def test_filter_by_agent_id_and_customer(client, admin, calls, agent, customer):
    r = get(client, "/api/v1/calls", admin, query_string={"agent": str(agent.id)})
    assert [c["call_id"] for c in r.get_json()["items"]] == [calls[0], calls[2]]
    r = get(client, "/api/v1/calls", admin, query_string={"customer": customer.id})
    assert [c["call_id"] for c in r.get_json()["items"]] == [calls[2]]


@pytest.mark.parametrize("name,value", [
    ("since", "yesterday"), ("since", "2026-02-30"), ("customer", "abc"), ("customer", "0"),
    ("outcome", "lost"), ("queue", "q" * 81), ("agent", "a" * 81), ("per_page", "-1"),
    ("since", "1" * 501), ("until", "tomorrow"), ("disposition", "happy"), ("number", "12"),
    ("number", "x"), ("direction", "sideways"),
])
def test_bad_filters_are_422_naming_the_parameter(client, admin, name, value):
    body = assert_error(get(client, "/api/v1/calls", admin, query_string={name: value}), 422,
                        name)
    assert body["error"]["fields"][name]


# --- wrap-up -------------------------------------------------------------------------------

def test_wrapup_by_the_agent_who_handled_it(client, agent, calls, session):
    r = wrapup(client, calls[2], agent, {"disposition": "callback", "notes": "明天上午回电"})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert_schema(body, "Call")
    assert (body["disposition"], body["notes"], body["wrapup_by"]) == \
        ("callback", "明天上午回电", "agent1")
    assert body["wrapup_by_id"] == agent.id and body["wrapup_at"]
    session.expire_all()
    row = session.query(CallRecord).filter_by(call_id=calls[2]).one()
    assert row.disposition == "callback" and row.wrapup_by_id == agent.id


def test_a_saved_wrap_up_schedules_the_end_of_its_pause_on_the_apps_own_redis(
        client, agent, calls, redis_conn):
    """The job goes to the Redis of the app that saved the wrap-up, never to one found
    through the environment (which, unset, starts an embedded Redis in ./instance)."""
    from callcenter import redis_conn as connections

    embedded_before = list(connections._embedded)
    r = wrapup(client, calls[2], agent, {"disposition": "resolved"})
    assert r.status_code == 200, r.get_json()
    jobs = [key.decode() for key in redis_conn.scan_iter(f"rq:job:acw-saved-{agent.id}-*")]
    assert len(jobs) == 1, jobs
    assert connections._embedded == embedded_before


@pytest.mark.parametrize("body,field", [
    ({"disposition": "fixed"}, "disposition"),
    ({}, "disposition"),
    ({"disposition": "resolved", "notes": "x" * 2001}, "notes"),
    ({"disposition": "resolved", "notes": 5}, "notes"),
    ({"disposition": "resolved", "agent": "me"}, "agent"),
    ({"disposition": "resolved", "notes": "nul\u0000"}, "notes"),
])
def test_wrapup_validation(client, agent, calls, body, field):
    assert_error(wrapup(client, calls[2], agent, body), 422, field)


def test_wrapup_transport_errors_and_refusals(client, agent, admin, calls, make_user):
    r = client.post(f"/api/v1/calls/{calls[2]}/wrapup", data="disposition=resolved",
                    headers=bearer(agent), content_type="application/x-www-form-urlencoded")
    assert_error(r, 415)
    r = client.post(f"/api/v1/calls/{calls[2]}/wrapup", data="{nope",
                    headers=bearer(agent), content_type="application/json")
    assert_error(r, 400)
    # The abandoned call: agent1 did not handle it and, scope own, does not see it.
    assert_error(wrapup(client, calls[1], agent, {"disposition": "resolved"}), 404)
    assert_error(wrapup(client, "nope", agent, {"disposition": "resolved"}), 404)
    # Sees it (scope all) but did not talk to the caller: 403.
    other = make_user("agent", username="agent9", scope="all", token=True)
    assert_error(wrapup(client, calls[1], other, {"disposition": "resolved"}), 403)
    r = wrapup(client, calls[1], admin, {"disposition": "wrong_number"})
    assert r.status_code == 200 and r.get_json()["wrapup_by"] == "boss"


# --- authentication ------------------------------------------------------------------------

def test_without_a_token_is_401(client, calls):
    assert_error(client.get("/api/v1/calls"), 401)
    assert_error(client.get(f"/api/v1/calls/{calls[0]}"), 401)
    assert_error(client.post(f"/api/v1/calls/{calls[0]}/wrapup",
                             json={"disposition": "resolved"}), 401)
    assert_error(client.get("/api/v1/calls", headers={"Authorization": "Bearer wrong"}), 401)


def test_cookie_session_reads_and_writes_with_csrf(client, agent, calls):
    login(client, "agent1")
    r = client.get("/api/v1/calls")
    assert r.status_code == 200 and r.get_json()["total"] == 2  # handled by agent1
    url = f"/api/v1/calls/{calls[2]}/wrapup"
    assert_error(client.post(url, json={"disposition": "resolved"}), 400)   # no CSRF token
    token = get_token(client, "/customers/")
    r = client.post(url, json={"disposition": "resolved"}, headers={"X-CSRFToken": token})
    assert r.status_code == 200, r.get_json()


# --- the scope matrix through the API ------------------------------------------------------

@pytest.mark.parametrize("role", list(Role), ids=str)
def test_api_scope_and_wrapup_matrix(client, session, connection, role):
    world = build_call_world(session, role, SCOPES[0])
    failures = []
    for scope in SCOPES:
        world.caller.scope = scope
        session.flush()
        r = get(client, "/api/v1/calls", world.caller, query_string={"per_page": 100})
        listed = {c["call_id"] for c in r.get_json()["items"]}
        for relation, call in world.calls.items():
            want = visible(role, scope, relation)
            if (call.call_id in listed) != want:
                failures.append(f"{role}/{scope} list {relation}: {not want}")
            status = get(client, f"/api/v1/calls/{call.call_id}", world.caller).status_code
            if status != (200 if want else 404):
                failures.append(f"{role}/{scope} get {relation}: {status}")
            expected = {"ok": 200, "denied": 403, "not_found": 404}[
                may_wrap_up(role, scope, relation)]
            savepoint = connection.begin_nested()
            try:
                status = wrapup(client, call.call_id, world.caller,
                                {"disposition": "other"}).status_code
            finally:
                savepoint.rollback()
                session.expire_all()
            if status != expected:
                failures.append(f"{role}/{scope} wrapup {relation}: {status}, "
                                f"expected {expected}")
    assert not failures, "\n".join(failures)


def test_openapi_documents_the_call_routes(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    params = {p["name"] for p in doc["paths"]["/api/v1/calls"]["get"]["parameters"]}
    assert {"since", "queue", "agent", "customer", "outcome", "page", "per_page"} <= params
    assert "get" in doc["paths"]["/api/v1/calls/{call_id}"]
    post = doc["paths"]["/api/v1/calls/{call_id}/wrapup"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == \
        {"$ref": "#/components/schemas/CallWrapup"}
    assert {"403", "404", "422"} <= set(post["responses"])
