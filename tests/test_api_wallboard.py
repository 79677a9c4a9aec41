"""GET /api/v1/wallboard: who may call it (401/403/200, token or cookie), what it answers
(valid against the OpenAPI document's own schema), the department limits, the live state
from Redis, and the call log's figures alone when Redis cannot be reached."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta

import pytest
from api_helpers import assert_error, assert_schema, bearer
from webtools import login

from callcenter.app import create_app
from callcenter.calls.models import CallRecord, Outcome, PbxQueue
from callcenter.config import load_settings
from callcenter.realtime.live import AGENTS_KEY, QUEUES_KEY
from callcenter.users.services import ensure_department

URL = "/api/v1/wallboard"


@pytest.fixture
def queues(session):
    beijing = ensure_department(session, "Service/Beijing")
    shanghai = ensure_department(session, "Service/Shanghai")
    session.add_all([PbxQueue(name="support", display_name="北京热线", department_id=beijing.id),
                     PbxQueue(name="sh", display_name="上海热线", department_id=shanghai.id,
                              service_level_s=30)])
    now = datetime.now(UTC)
    for i, (wait, outcome) in enumerate([(4, Outcome.ANSWERED), (35, Outcome.ANSWERED),
                                         (12, Outcome.ABANDONED)]):
        queued = now - timedelta(minutes=5 + i)
        answered = queued + timedelta(seconds=wait) if outcome == Outcome.ANSWERED else None
        session.add(CallRecord(call_id=f"api-{i}", queue="support", caller_number="138",
                               started_at=queued, queued_at=queued, answered_at=answered,
                               ended_at=queued + timedelta(seconds=wait + 30), wait_s=wait,
                               talk_s=30 if answered else None, outcome=outcome))
    session.flush()


@pytest.fixture
def live(redis_conn):
    now = datetime.now(UTC).timestamp()
    redis_conn.hset(QUEUES_KEY, mapping={
        "support": json.dumps({"queue": "support", "members": ["PJSIP/1001"], "waiting": [
            {"call_id": "1.1", "caller_number": "13812345678", "queued_at": now - 42}]}),
        "sh": json.dumps({"queue": "sh", "members": ["PJSIP/2001"], "waiting": []}),
        "garbage": "]]",
    })
    redis_conn.hset(AGENTS_KEY, mapping={
        "PJSIP/1001": json.dumps({"interface": "PJSIP/1001", "name": "Agent 1",
                                  "state": "paused", "reason": "meeting", "since": now - 90,
                                  "queues": ["support"]}),
        "PJSIP/2001": json.dumps({"interface": "PJSIP/2001", "name": "Agent 2",
                                  "state": "available", "reason": None, "since": now - 5,
                                  "queues": ["sh"]}),
    })
    return redis_conn


def test_401_without_token_or_session(client):
    assert_error(client.get(URL), 401)
    assert_error(client.get(URL, headers={"Authorization": "Bearer nonsense"}), 401)


@pytest.mark.parametrize("role", ["agent", "technician"])
def test_403_for_agents_and_technicians(client, make_user, queues, role):
    user = make_user(role, department="Service/Beijing", scope="all", token=True)
    body = assert_error(client.get(URL, headers=bearer(user)), 403)
    assert "wallboard.view" in body["error"]["message"]


def test_supervisor_by_token_sees_their_queues(client, make_user, queues, live):
    boss = make_user("supervisor", department="Service/Beijing", token=True)
    r = client.get(URL, headers=bearer(boss))
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    data = r.get_json()
    assert_schema(data, "Wallboard")
    assert [q["queue"] for q in data["queues"]] == ["support"]
    q = data["queues"][0]
    assert (q["offered"], q["answered"], q["abandoned"], q["answered_within_sl"]) == (3, 2, 1, 1)
    assert q["service_level"] == pytest.approx(1 / 3, abs=1e-4)
    assert q["asa_s"] == pytest.approx(19.5) and q["aht_s"] == pytest.approx(30)
    assert q["waiting"] == 1 and q["longest_wait_s"] >= 42
    assert q["callers"][0]["caller_number"] == "13812345678"
    assert "longest_wait" in q["alerts"] and "service_level" in q["alerts"]
    assert [a["interface"] for a in data["agents"]] == ["PJSIP/1001"]
    agent = data["agents"][0]
    assert agent["state"] == "paused" and agent["reason"] == "meeting"
    assert agent["seconds_in_state"] >= 90
    assert data["live"] == {"available": True, "skipped": 1}
    assert data["timezone"] == "Asia/Shanghai"


def test_admin_sees_every_queue(client, make_user, queues, live):
    admin = make_user("admin", token=True)
    data = client.get(URL, headers=bearer(admin)).get_json()
    assert_schema(data, "Wallboard")
    assert [q["queue"] for q in data["queues"]] == ["sh", "support"]
    assert {a["interface"] for a in data["agents"]} == {"PJSIP/1001", "PJSIP/2001"}
    assert data["queues"][0]["sl_threshold_s"] == 30


def test_supervisor_by_session_cookie(client, make_user, queues, live):
    make_user("supervisor", username="boss", department="Service/Shanghai")
    login(client, "boss")
    r = client.get(URL)
    assert r.status_code == 200
    assert [q["queue"] for q in r.get_json()["queues"]] == ["sh"]


def test_without_redis_the_figures_come_from_the_call_log(settings, connection, make_user,
                                                          queues):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    no_redis = load_settings({"CALLCENTER_INSTANCE": str(settings.instance_path),
                              "DATABASE_URL": settings.database_url,
                              "REDIS_URL": f"redis://127.0.0.1:{port}/0",
                              "SECRET_KEY": "test-secret-key-0123456789"})
    app = create_app(no_redis, db_bind=connection, testing=True,
                     session_options={"join_transaction_mode": "create_savepoint"})
    boss = make_user("supervisor", department="Service/Beijing", token=True)
    r = app.test_client().get(URL, headers=bearer(boss))
    assert r.status_code == 200
    data = r.get_json()
    assert_schema(data, "Wallboard")
    assert data["live"] == {"available": False, "skipped": 0}
    q = data["queues"][0]
    assert q["offered"] == 3 and q["waiting"] is None and q["live"] is False
    assert data["agents"] == []


def test_documented_in_openapi(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    op = doc["paths"]["/api/v1/wallboard"]["get"]
    assert op["x-permission"] == "wallboard.view"
    assert {"200", "401", "403"} <= set(op["responses"])
    for name in ("Wallboard", "WallboardQueue", "WallboardAgent", "WallboardCaller"):
        assert doc["components"]["schemas"][name]["type"] == "object"
