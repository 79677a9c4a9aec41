"""REST API for SLA policies and calendar overrides: create, list, validation (422 with
codes, never a 500), permissions (agents may read, not write)."""

from __future__ import annotations

import pytest
from api_helpers import assert_error, assert_schema, bearer

from callcenter.users.models import Role
from callcenter.users.permissions import ROLE_PERMISSIONS, Permission
from tickets.models import SlaPolicy, Ticket
from tickets.policies import apply_policy

GOOD = {"name": "VIP complaints", "ticket_type": "complaint", "priority": "high",
        "first_response_minutes": 5, "resolution_minutes": 120, "calendar": "24x7",
        "customer_tier": "vip"}


@pytest.fixture
def admin(make_user):
    return make_user("admin", scope="all", token=True)


@pytest.fixture
def supervisor(make_user):
    return make_user("supervisor", scope="department", department="Service", token=True)


@pytest.fixture
def agent(make_user):
    return make_user("agent", scope="own", department="Service", token=True)


def post(client, url, user, body, **headers):
    return client.post(url, json=body, headers={**bearer(user), **headers})


def test_create_and_list_policies(client, session, admin, supervisor, agent):
    r = post(client, "/api/v1/sla-policies", admin, GOOD)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert_schema(body, "SlaPolicy")
    assert {k: body[k] for k in GOOD} == GOOD
    assert body["active"] is True and body["created_by_id"] == admin.id
    assert body["created_at"].endswith(("Z", "+00:00"))

    # Only the required fields: null type/priority/tier match anything; business calendar.
    r = post(client, "/api/v1/sla-policies", supervisor,
             {"name": "catch-all", "first_response_minutes": 30, "resolution_minutes": 960})
    assert r.status_code == 201, r.get_json()
    catch_all = r.get_json()
    assert (catch_all["ticket_type"], catch_all["priority"], catch_all["customer_tier"],
            catch_all["calendar"]) == (None, None, None, "business")

    r = client.get("/api/v1/sla-policies", headers=bearer(agent))
    assert r.status_code == 200
    assert_schema(r.get_json(), "SlaPolicyList")
    assert [p["id"] for p in r.get_json()["items"]] == [catch_all["id"], body["id"]]

    # The new policies decide new tickets' targets.
    vip = Ticket(type_code="complaint", priority="high")
    assert apply_policy(session, vip, "vip").id == body["id"]
    assert (vip.first_response_minutes, vip.resolution_minutes) == (5, 120)
    other = Ticket(type_code="inquiry", priority="low")
    assert apply_policy(session, other, "small").id == catch_all["id"]


@pytest.mark.parametrize(("change", "field", "code"), [
    ({"name": ""}, "name", "required"),
    ({"name": None}, "name", "not_text"),
    ({"name": "x" * 121}, "name", "too_long"),
    ({"ticket_type": "no_such_type"}, "ticket_type", "sla.unknown_ticket_type"),
    ({"priority": "asap"}, "priority", "choice"),
    ({"customer_tier": "gold"}, "customer_tier", "choice"),
    ({"calendar": "weekdays"}, "calendar", "choice"),
    ({"first_response_minutes": 0}, "first_response_minutes", "whole_number"),
    ({"first_response_minutes": -5}, "first_response_minutes", "whole_number"),
    ({"resolution_minutes": 10**9}, "resolution_minutes", "whole_number"),
    ({"resolution_minutes": "240"}, "resolution_minutes", "not_id"),
    ({"resolution_minutes": 2.5}, "resolution_minutes", "not_id"),
    ({"resolution_minutes": True}, "resolution_minutes", "not_id"),
    ({"first_response_minutes": 200, "resolution_minutes": 100}, "first_response_minutes",
     "sla.first_response_after_resolution"),
    ({"active": False}, "active", "read_only"),
    ({"colour": "red"}, "colour", "unknown_field"),
])
def test_bad_policies_are_422_with_a_code(client, session, admin, change, field, code):
    body = {k: v for k, v in {**GOOD, **change}.items()}
    r = post(client, "/api/v1/sla-policies", admin, body)
    error = assert_error(r, 422, field)["error"]
    assert error["problems"][field]["code"] == code
    assert session.query(SlaPolicy).count() == 0


def test_missing_fields_and_bad_bodies(client, admin):
    r = post(client, "/api/v1/sla-policies", admin, {"name": "x"})
    problems = assert_error(r, 422)["error"]["problems"]
    assert problems["first_response_minutes"]["code"] == "required"
    assert problems["resolution_minutes"]["code"] == "required"
    r = client.post("/api/v1/sla-policies", data="{", headers={
        **bearer(admin), "Content-Type": "application/json"})
    assert_error(r, 400)
    r = client.post("/api/v1/sla-policies", json=[1, 2], headers=bearer(admin))
    assert_error(r, 400)


def test_errors_in_chinese(client, admin):
    r = post(client, "/api/v1/sla-policies", admin, {**GOOD, "ticket_type": "nope"},
             **{"Accept-Language": "zh-CN"})
    assert "没有代码为 nope 的有效工单类型" in assert_error(r, 422)["error"]["fields"][
        "ticket_type"]


def test_agents_and_technicians_may_not_write(client, session, agent, make_user):
    technician = make_user("technician", token=True)
    for user in (agent, technician):
        r = post(client, "/api/v1/sla-policies", user, GOOD)
        assert assert_error(r, 403)["error"]["code"] == "permission_denied"
        r = post(client, "/api/v1/calendar-days", user, {"day": "2026-11-09",
                                                         "is_workday": False})
        assert_error(r, 403)
    assert session.query(SlaPolicy).count() == 0
    assert_error(client.post("/api/v1/sla-policies", json=GOOD), 401)
    assert_error(client.get("/api/v1/sla-policies"), 401)


def test_calendar_days_create_list_delete(client, admin, supervisor, agent):
    r = post(client, "/api/v1/calendar-days", admin,
             {"day": "2026-11-09", "is_workday": False, "name": "公司年会"})
    assert r.status_code == 201, r.get_json()
    off = r.get_json()
    assert_schema(off, "CalendarDay")
    assert (off["day"], off["is_workday"], off["name"]) == ("2026-11-09", False, "公司年会")
    r = post(client, "/api/v1/calendar-days", supervisor, {"day": "2027-10-02",
                                                            "is_workday": True})
    assert r.status_code == 201, r.get_json()
    extra = r.get_json()

    listed = client.get("/api/v1/calendar-days", headers=bearer(agent)).get_json()
    assert_schema(listed, "CalendarDayList")
    assert [d["day"] for d in listed["items"]] == ["2026-11-09", "2027-10-02"]
    only = client.get("/api/v1/calendar-days?year=2027", headers=bearer(agent)).get_json()
    assert [d["id"] for d in only["items"]] == [extra["id"]]
    assert_error(client.get("/api/v1/calendar-days?year=abc", headers=bearer(agent)), 422,
                 "year")

    # One entry per date.
    r = post(client, "/api/v1/calendar-days", admin, {"day": "2026-11-09", "is_workday": True})
    assert assert_error(r, 422, "day")["error"]["problems"]["day"]["code"] == \
        "sla.calendar_day_taken"

    assert_error(client.delete(f"/api/v1/calendar-days/{off['id']}", headers=bearer(agent)),
                 403)
    r = client.delete(f"/api/v1/calendar-days/{off['id']}", headers=bearer(admin))
    assert r.status_code == 204
    assert_error(client.delete(f"/api/v1/calendar-days/{off['id']}", headers=bearer(admin)),
                 404)
    listed = client.get("/api/v1/calendar-days", headers=bearer(admin)).get_json()
    assert [d["id"] for d in listed["items"]] == [extra["id"]]


@pytest.mark.parametrize(("body", "field", "code"), [
    ({"day": "2026-13-01", "is_workday": True}, "day", "not_date"),
    ({"day": "2026-11-09T00:00:00", "is_workday": True}, "day", "not_date"),
    ({"is_workday": True}, "day", "required"),
    ({"day": "2026-11-09"}, "is_workday", "required"),
    ({"day": "2026-11-09", "is_workday": "no"}, "is_workday", "not_boolean"),
    ({"day": "2026-11-09", "is_workday": True, "name": "x" * 81}, "name", "too_long"),
    ({"day": 20261109, "is_workday": True}, "day", "not_date"),
])
def test_bad_calendar_days_are_422(client, admin, body, field, code):
    r = post(client, "/api/v1/calendar-days", admin, body)
    assert assert_error(r, 422, field)["error"]["problems"][field]["code"] == code


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_role_matrix(client, make_user, role):
    """Every SLA/calendar endpoint for the role: the expected status comes from
    ROLE_PERMISSIONS (writing needs sla.manage; reading, any signed-in user)."""
    user = make_user(role.value, token=True)
    may_write = Permission.SLA_MANAGE in ROLE_PERMISSIONS[role]
    cases = [
        ("POST", "/api/v1/sla-policies", {**GOOD, "name": f"by {role}"}, 201, True),
        ("GET", "/api/v1/sla-policies", None, 200, False),
        ("POST", "/api/v1/calendar-days", {"day": "2026-12-24", "is_workday": False}, 201, True),
        ("GET", "/api/v1/calendar-days", None, 200, False),
    ]
    for method, url, body, ok, writes in cases:
        r = client.open(url, method=method, json=body, headers=bearer(user))
        assert r.status_code == (ok if may_write or not writes else 403), (method, url)
    listed = client.get("/api/v1/calendar-days", headers=bearer(user)).get_json()["items"]
    assert len(listed) == (1 if may_write else 0)
    if listed:
        url = f"/api/v1/calendar-days/{listed[0]['id']}"
        assert client.delete(url, headers=bearer(user)).status_code == 204
