"""The agent desk page and its status control (queue membership through the bridge).

A small consumer thread pops ``cc:bridge:commands`` and answers on
``cc:bridge:result:<request_id>``, standing in for the telephony bridge process.
"""

from __future__ import annotations

import json
import re

import pytest
from fake_bridge import FakeBridge
from webtools import get_token, login, text

from callcenter.calls.models import PbxQueue
from callcenter.desk.status import plan_commands
from callcenter.realtime import commands as pbx
from callcenter.realtime import live
from callcenter.users.services import ensure_department


@pytest.fixture
def queues(session):
    """support: Service; repairs: Service/Beijing; sales: Sales (not the agents')."""
    session.add_all([
        PbxQueue(name="support", department_id=ensure_department(session, "Service").id),
        PbxQueue(name="repairs",
                 department_id=ensure_department(session, "Service/Beijing").id),
        PbxQueue(name="sales", department_id=ensure_department(session, "Sales").id)])
    session.flush()


@pytest.fixture
def agent(make_user, queues, redis_conn):
    return make_user("agent", username="desk_agent", department="Service/Beijing",
                     interface="PJSIP/3001")


def _post_status(client, body: dict, *, csrf: bool = True):
    headers = {"X-CSRFToken": get_token(client, "/desk")} if csrf else {}
    return client.post("/desk/status", json=body, headers=headers)


def _config(page: str) -> dict:
    match = re.search(r'<script type="application/json" id="desk-config">(.*?)</script>',
                      page, re.S)
    assert match, "no desk-config block"
    return json.loads(match.group(1))


# --- the page ---------------------------------------------------------------------

def test_desk_needs_login_and_a_desk_role(client, make_user):
    assert client.get("/desk").status_code == 302
    make_user("technician", username="tech")
    login(client, "tech")
    assert client.get("/desk").status_code == 403
    response = client.post("/desk/status", json={"status": "available"},
                           headers={"X-CSRFToken": get_token(client, "/customers/")})
    assert response.status_code == 403


@pytest.mark.parametrize("role", ["agent", "supervisor", "admin"])
def test_desk_page_for_each_desk_role(client, make_user, role, queues):
    make_user(role, username=f"desk_{role}", department="Service", interface=f"PJSIP/{role}")
    login(client, f"desk_{role}")
    response = client.get("/desk")
    assert response.status_code == 200
    page = text(response)
    assert 'href="/desk"' in page and 'aria-current="page">Desk' in page
    assert "/vendor/socket.io.min.js" in page and "/static/js/desk.js" in page
    assert "<script>" not in page  # the CSP allows no inline script
    config = _config(page)
    assert config["statusUrl"] == "/desk/status"
    assert config["createUrl"] == "/customers/new"
    assert config["customerUrl"] == "/customers/"
    assert config["wrapupUrl"] == "/api/v1/calls/{call_id}/wrapup"
    assert [code for code, _ in config["dispositions"]] == [
        "resolved", "callback", "ticket_needed", "wrong_number", "other"]
    assert config["csrfToken"] and config["strings"]["ringing"] == "Ringing"
    assert "Not known" in page  # no live state from the bridge yet


def test_desk_page_in_chinese_and_with_the_live_state(client, agent, redis_conn):
    redis_conn.hset(live.AGENTS_KEY, "PJSIP/3001", json.dumps(
        {"interface": "PJSIP/3001", "state": "paused", "reason": "lunch",
         "queues": ["support"]}))
    login(client, "desk_agent", language="zh_CN")
    page = text(client.get("/desk"))
    assert "坐席工作台" in page and "暂停：午餐" in page
    config = _config(page)
    assert config["locale"] == "zh-CN" and config["strings"]["ringing"] == "振铃中"
    assert config["strings"]["tiers"]["vip"] == "VIP"


def test_desk_page_without_an_interface(client, make_user):
    make_user("agent", username="no_phone", department="Service")
    login(client, "no_phone")
    page = text(client.get("/desk"))
    assert "No phone (PBX interface) is set" in page and "data-status-form" not in page


def test_the_create_customer_link_prefills_the_phone(client, agent):
    login(client, "desk_agent")
    page = text(client.get("/customers/new?q=13812345678"))
    assert re.search(r'<textarea[^>]*name="phones"[^>]*>\s*13812345678', page)


# --- the status control ----------------------------------------------------------------

def test_status_change_needs_the_csrf_token(client, agent, redis_url):
    login(client, "desk_agent")
    with FakeBridge(redis_url) as bridge:
        assert _post_status(client, {"status": "available"}, csrf=False).status_code == 400
        assert client.post("/desk/status", data={"status": "available"}).status_code == 400
    assert bridge.commands == []


def test_available_adds_the_agent_to_their_departments_queues(client, agent, redis_url):
    login(client, "desk_agent")
    with FakeBridge(redis_url) as bridge:
        response = _post_status(client, {"status": "available"})
    assert response.status_code == 200, text(response)
    assert response.get_json() == {"ok": True, "status": "available", "reason": None,
                                   "label": "Available", "reason_label": None,
                                   "user_id": agent.id}
    assert bridge.actions() == [("queue_add", "repairs", False, None),
                                ("queue_add", "support", False, None)]
    command = bridge.commands[0]
    assert command["interface"] == "PJSIP/3001" and command["user_id"] == agent.id
    assert command["member_name"] == "desk_agent" and command["request_id"]


def test_pause_with_a_reason_and_log_out_follow_the_live_membership(client, agent,
                                                                   redis_url, redis_conn):
    redis_conn.hset(live.AGENTS_KEY, "PJSIP/3001", json.dumps(
        {"interface": "PJSIP/3001", "state": "available", "queues": ["support"]}))
    login(client, "desk_agent")
    with FakeBridge(redis_url) as bridge:
        assert _post_status(client, {"status": "paused"}).status_code == 400  # no reason
        assert _post_status(client, {"status": "paused", "reason": "nap"}).status_code == 400
        assert _post_status(client, {"status": "busy"}).status_code == 400
        response = _post_status(client, {"status": "paused", "reason": "lunch"})
        assert response.get_json()["reason_label"] == "Lunch"
        assert bridge.actions() == [("queue_add", "repairs", True, "lunch"),
                                    ("queue_pause", None, True, "lunch")]
        bridge.commands.clear()
        redis_conn.hset(live.AGENTS_KEY, "PJSIP/3001", json.dumps(
            {"interface": "PJSIP/3001", "state": "paused", "queues": ["support", "repairs"]}))
        assert _post_status(client, {"status": "logged_out"}).status_code == 200
        assert bridge.actions() == [("queue_remove", "support", None, None),
                                    ("queue_remove", "repairs", None, None)]


def test_an_agent_changes_only_their_own_status(client, agent, make_user, redis_url):
    other = make_user("agent", username="other_agent", department="Service/Beijing",
                      interface="PJSIP/3002")
    login(client, "desk_agent")
    with FakeBridge(redis_url) as bridge:
        response = _post_status(client, {"status": "available", "user_id": other.id})
        assert response.status_code == 403
        assert "only your own" in response.get_json()["error"]
        assert _post_status(client, {"status": "available",
                                     "user_id": 999999}).status_code == 403
        assert _post_status(client, {"status": "available",
                                     "user_id": agent.id}).status_code == 200
    assert {c["interface"] for c in bridge.commands} == {"PJSIP/3001"}


def test_supervisors_change_the_status_of_their_departments_agents(client, agent, make_user,
                                                                   redis_url):
    make_user("supervisor", username="sup_service", department="Service")
    make_user("supervisor", username="sup_sales", department="Sales")
    with FakeBridge(redis_url) as bridge:
        login(client, "sup_sales")
        assert _post_status(client, {"status": "logged_out",
                                     "user_id": agent.id}).status_code == 403
        client.post("/logout", data={"csrf_token": get_token(client, "/desk")})
        login(client, "sup_service")
        response = _post_status(client, {"status": "logged_out", "user_id": str(agent.id)})
        assert response.status_code == 200 and response.get_json()["user_id"] == agent.id
    assert bridge.actions() == [("queue_remove", "repairs", None, None),
                                ("queue_remove", "support", None, None)]


def test_no_interface_or_no_queue_is_explained(client, make_user, queues, redis_url,
                                              redis_conn):
    make_user("agent", username="no_phone", department="Service")
    make_user("agent", username="no_queue", department="Warehouse", interface="PJSIP/3009")
    with FakeBridge(redis_url) as bridge:
        login(client, "no_phone")
        response = _post_status(client, {"status": "available"})
        assert response.status_code == 409 and "PBX interface" in response.get_json()["error"]
        client.post("/logout", data={"csrf_token": get_token(client, "/desk")})
        login(client, "no_queue")
        response = _post_status(client, {"status": "available"})
        assert response.status_code == 409 and "no PBX queue" in response.get_json()["error"]
    assert bridge.commands == []


def test_the_pbx_refusing_is_reported(client, agent, redis_url):
    login(client, "desk_agent")
    refuse = lambda command: {"ok": False, "error": "Unable to add interface: Not found"}  # noqa: E731
    with FakeBridge(redis_url, reply=refuse) as bridge:
        response = _post_status(client, {"status": "available"})
    assert response.status_code == 502
    assert "Not found" in response.get_json()["error"]
    assert len(bridge.commands) == 1  # it stops at the first failure


def test_bridge_not_answering_times_out_and_takes_the_command_back(app, client, agent,
                                                                   redis_conn):
    app.config["PBX_COMMAND_TIMEOUT_S"] = 0.3
    login(client, "desk_agent")
    response = _post_status(client, {"status": "available"})
    assert response.status_code == 503
    assert "not answering" in response.get_json()["error"]
    assert redis_conn.llen(pbx.COMMANDS_KEY) == 0  # a bridge starting later runs nothing stale


def test_the_form_without_javascript_redirects_with_a_message(client, agent, redis_url):
    login(client, "desk_agent")
    with FakeBridge(redis_url) as bridge:
        response = client.post("/desk/status", data={
            "status": "paused", "reason": "training",
            "csrf_token": get_token(client, "/desk")}, follow_redirects=True)
    assert response.status_code == 200 and "Status changed to Paused." in text(response)
    assert bridge.actions() == [("queue_add", "repairs", True, "training"),
                                ("queue_add", "support", True, "training")]


# --- the command channel ------------------------------------------------------------------

def test_request_pbx_action(redis_conn, redis_url):
    with pytest.raises(ValueError):
        pbx.request_pbx_action(redis_conn, {"action": "shutdown"})
    assert pbx.request_pbx_action(redis_conn, {"action": "originate"}, timeout=0.1) == {
        "ok": False, "error": "the telephony bridge is not answering"}
    replies = iter([{"ok": True, "channel": "PJSIP/3001-0001"}, "garbage", {"ok": False}])
    with FakeBridge(redis_url, reply=lambda command: next(replies)) as bridge:
        assert pbx.request_pbx_action(redis_conn, {"action": "originate", "number": "1"}) == {
            "ok": True, "channel": "PJSIP/3001-0001"}
        assert pbx.request_pbx_action(redis_conn, {"action": "redirect"})["ok"] is False
        assert pbx.request_pbx_action(redis_conn, {"action": "redirect"}) == {
            "ok": False, "error": "the PBX refused the request"}
    assert bridge.commands[0]["number"] == "1" and len(bridge.commands[0]["request_id"]) == 32


def test_plan_commands_without_live_state():
    class U:
        id, interface, display_name, username = 7, "PJSIP/7", "王芳", "wang"

    assert plan_commands(U, "logged_out", None, ["a", "b"], None) == [
        {"user_id": 7, "interface": "PJSIP/7", "action": "queue_remove", "queue": "a"},
        {"user_id": 7, "interface": "PJSIP/7", "action": "queue_remove", "queue": "b"}]
    assert plan_commands(U, "logged_out", None, ["a"], []) == []
    assert plan_commands(U, "available", "lunch", ["a"], ["a"]) == [
        {"user_id": 7, "interface": "PJSIP/7", "action": "queue_pause", "queue": None,
         "paused": False, "reason": None}]
    assert plan_commands(U, "paused", "break", ["a"], [])[0]["member_name"] == "王芳"
