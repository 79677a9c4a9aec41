"""The queues' alert thresholds, on both backends: who may set them (role x the queue's
department: a queue outside the supervisor's departments is "not found", like one that
does not exist), what is refused (422 naming each field, in the reader's language), that
they are kept and used (the wallboard's figures and alerts, the bridge's figures, a
``queue.update`` to the queue's room after the commit), the page's form (CSRF, errors
shown with what was typed, back to the defaults)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from api_helpers import assert_error, assert_schema, bearer
from sqlalchemy import select
from webtools import csrf_token, login, text

from callcenter.calls.models import CallRecord, Outcome, PbxQueue
from callcenter.realtime.live import QUEUES_KEY, channel_for
from callcenter.users.services import ensure_department
from callcenter.wallboard.figures import local_day_start, queue_figures
from callcenter.wallboard.models import QueueThresholds

URL = "/api/v1/wallboard/thresholds"
GOOD = {"service_level_percent": 90, "longest_wait_s": 45, "abandon_rate_percent": 3}


@pytest.fixture
def queues(session):
    beijing = ensure_department(session, "Service/Beijing")
    hotline = ensure_department(session, "Service/Beijing/Hotline")
    shanghai = ensure_department(session, "Service/Shanghai")
    session.add_all([
        PbxQueue(name="support", display_name="北京热线", department_id=beijing.id),
        PbxQueue(name="vip", display_name="VIP", department_id=hotline.id, service_level_s=10),
        PbxQueue(name="sh", display_name="上海热线", department_id=shanghai.id,
                 service_level_s=30)])
    now = datetime.now(UTC)
    # Today on support: 9 of 10 answered within 20 s (90 %), one abandoned (10 %).
    for i in range(10):
        queued = now - timedelta(seconds=30 + i)
        answered = i < 9
        session.add(CallRecord(
            call_id=f"thr-{i}", queue="support", caller_number="138", started_at=queued,
            queued_at=queued, answered_at=queued + timedelta(seconds=5) if answered else None,
            ended_at=queued + timedelta(seconds=20), wait_s=5 if answered else 15,
            talk_s=15 if answered else None,
            outcome=Outcome.ANSWERED if answered else Outcome.ABANDONED))
    session.flush()


def _support(client, user) -> dict:
    data = client.get("/api/v1/wallboard", headers=bearer(user)).get_json()
    return next(q for q in data["queues"] if q["queue"] == "support")


def test_the_defaults_until_a_supervisor_sets_them(client, make_user, queues):
    boss = make_user("supervisor", department="Service/Beijing", token=True)
    r = client.get(URL, headers=bearer(boss))
    assert r.status_code == 200
    body = r.get_json()
    assert_schema(body, "WallboardThresholdsList")
    # Their department and the one below it; not Shanghai's.
    items = {t["queue"]: t for t in body["items"]}
    assert set(items) == {"support", "vip"}
    assert items["vip"] == {"queue": "vip", "display_name": "VIP", "sl_threshold_s": 10,
                            "service_level_percent": 80, "longest_wait_s": 10,
                            "abandon_rate_percent": 5, "custom": False, "updated_at": None,
                            "version": 0}
    support = _support(client, boss)
    assert (support["sl_target"], support["abandon_rate_limit"],
            support["longest_wait_limit_s"]) == (0.8, 0.05, 20)
    assert support["service_level"] == 0.9 and "service_level" not in support["alerts"]
    assert "abandon_rate" in support["alerts"]                      # 10 % > 5 %


def test_a_supervisor_sets_them_and_every_wallboard_uses_them(client, session, make_user,
                                                               queues, redis_conn, redis_url):
    boss = make_user("supervisor", department="Service/Beijing", token=True)
    pubsub = redis_conn.pubsub()
    pubsub.subscribe(channel_for(redis_url))
    pubsub.get_message(timeout=1)
    r = client.put(f"{URL}/support", json={"service_level_percent": 95, "longest_wait_s": 60,
                                           "abandon_rate_percent": 15},
                   headers=bearer(boss))
    assert r.status_code == 200, r.get_json()
    saved = r.get_json()
    assert_schema(saved, "WallboardThresholds")
    assert (saved["service_level_percent"], saved["longest_wait_s"],
            saved["abandon_rate_percent"], saved["custom"]) == (95, 60, 15, True)
    row = session.scalar(select(QueueThresholds).join(
        PbxQueue, PbxQueue.id == QueueThresholds.queue_id).where(PbxQueue.name == "support"))
    assert (row.service_level_percent, row.longest_wait_s, row.abandon_rate_percent,
            row.updated_by_id) == (95, 60, 15, boss.id)
    # The queue's wallboards are told at once (after the commit), with the new colours.
    pushed = []
    while (message := pubsub.get_message(timeout=1)) is not None:
        if message["type"] == "message":
            body = json.loads(message["data"])
            pushed.append((body["event"], body["room"], body["data"][0]))
    pubsub.close()
    assert [(event, room) for event, room, _ in pushed] == [("queue.update", "queue:support")]
    figures = pushed[0][2]
    assert (figures["sl_target"], figures["abandon_rate_limit"],
            figures["longest_wait_limit_s"]) == (0.95, 0.15, 60)
    assert figures["alerts"] == ["service_level"]                    # 90 % < 95 %; 10 % ok
    # Another supervisor of the same queue, the API, the bridge: all the same.
    colleague = make_user("supervisor", department="Service/Beijing", token=True)
    assert _support(client, colleague)["alerts"] == ["service_level"]
    now = datetime.now(UTC)

    def bridge_alerts(waited_s: float) -> list[str]:
        waiting = [{"call_id": "w", "caller_number": "1",
                    "queued_at": now.timestamp() - waited_s}]
        live = {"support": {"queue": "support", "members": [], "waiting": waiting}}
        return queue_figures(session, ["support"], now=now, live=live,
                             day_start=local_day_start(now, "Asia/Shanghai"))[0]["alerts"]
    assert "longest_wait" not in bridge_alerts(50)                    # 50 s of 60 s
    assert "longest_wait" in bridge_alerts(61)
    # Back to the defaults.
    r = client.delete(f"{URL}/support", headers=bearer(colleague))
    assert r.status_code == 200 and r.get_json()["custom"] is False
    assert r.get_json()["service_level_percent"] == 80
    assert session.scalar(select(QueueThresholds)) is None
    assert _support(client, boss)["alerts"] == ["abandon_rate"]


def test_roles_without_the_wallboard_may_not(client, session, make_user, queues):
    for role in ("agent", "technician", "finance"):
        user = make_user(role, department="Service/Beijing", scope="all", token=True)
        assert_error(client.get(URL, headers=bearer(user)), 403)
        assert_error(client.put(f"{URL}/support", json=GOOD, headers=bearer(user)), 403)
        assert_error(client.delete(f"{URL}/support", headers=bearer(user)), 403)
    assert_error(client.put(f"{URL}/support", json=GOOD), 401)
    assert session.scalar(select(QueueThresholds)) is None


def test_another_departments_queue_is_not_found(client, session, make_user, queues):
    boss = make_user("supervisor", department="Service/Beijing", token=True)
    elsewhere = assert_error(client.put(f"{URL}/sh", json=GOOD, headers=bearer(boss)), 404)
    missing = assert_error(client.put(f"{URL}/nope", json=GOOD, headers=bearer(boss)), 404)
    assert elsewhere["error"]["code"] == missing["error"]["code"] == "not_found"
    assert elsewhere["error"]["message"] == missing["error"]["message"]
    assert_error(client.delete(f"{URL}/sh", headers=bearer(boss)), 404)
    # Below their department: theirs.
    assert client.put(f"{URL}/vip", json=GOOD, headers=bearer(boss)).status_code == 200
    # A supervisor of the sub-department only: not the parent's queue.
    lead = make_user("supervisor", department="Service/Beijing/Hotline", token=True)
    assert_error(client.put(f"{URL}/support", json=GOOD, headers=bearer(lead)), 404)
    # Administrators, and supervisors whose scope is everything: any queue.
    for user in (make_user("admin", token=True),
                 make_user("supervisor", department="Service/Beijing", scope="all",
                           token=True)):
        assert client.put(f"{URL}/sh", json=GOOD, headers=bearer(user)).status_code == 200
    assert session.scalar(select(QueueThresholds.longest_wait_s).join(
        PbxQueue, PbxQueue.id == QueueThresholds.queue_id).where(PbxQueue.name == "sh")) == 45


REFUSED = [
    ({**GOOD, "service_level_percent": 0}, {"service_level_percent": "whole_number"}),
    ({**GOOD, "service_level_percent": 101, "abandon_rate_percent": -1},
     {"service_level_percent": "whole_number", "abandon_rate_percent": "whole_number"}),
    ({**GOOD, "longest_wait_s": 3601}, {"longest_wait_s": "whole_number"}),
    ({"service_level_percent": 80, "abandon_rate_percent": 5}, {"longest_wait_s": "required"}),
    ({**GOOD, "longest_wait_s": "45"}, {"longest_wait_s": "not_id"}),
    ({**GOOD, "longest_wait_s": 4.5}, {"longest_wait_s": "not_id"}),
    ({**GOOD, "abandon_rate_percent": True}, {"abandon_rate_percent": "not_id"}),
    ({**GOOD, "custom": True}, {"custom": "read_only"}),
    ({**GOOD, "colour": "red"}, {"colour": "unknown_field"}),
]


def test_what_is_refused(client, session, make_user, queues):
    boss = make_user("supervisor", department="Service/Beijing", token=True)
    for body, problems in REFUSED:
        error = assert_error(client.put(f"{URL}/support", json=body, headers=bearer(boss)),
                             422)["error"]
        assert {f: p["code"] for f, p in error["problems"].items()} == problems, body
    assert session.scalar(select(QueueThresholds)) is None           # nothing kept


def test_the_range_is_said_in_the_readers_language(client, make_user, queues):
    boss = make_user("supervisor", department="Service/Beijing", token=True)
    bad = {**GOOD, "service_level_percent": 150}
    en = client.put(f"{URL}/support", json=bad, headers={**bearer(boss),
                                                         "Accept-Language": "en"})
    zh = client.put(f"{URL}/support", json=bad, headers={**bearer(boss),
                                                         "Accept-Language": "zh-CN"})
    assert en.get_json()["error"]["fields"]["service_level_percent"] == \
        "Must be a whole number from 1 to 100."
    assert zh.get_json()["error"]["fields"]["service_level_percent"] == \
        "必须是 1 到 100 之间的整数。"
    assert en.get_json()["error"]["problems"]["service_level_percent"]["params"] == \
        {"min": 1, "max": 100}


def test_documented_in_openapi(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    for path, method in ((URL, "get"), (URL + "/{queue}", "put"), (URL + "/{queue}", "delete"),
                         ("/api/v1/wallboard/today", "get")):
        op = doc["paths"][path][method]
        assert op["x-permission"] == "wallboard.view", (path, method)
    body = doc["components"]["schemas"]["WallboardThresholdsUpdate"]
    assert body["properties"]["service_level_percent"]["maximum"] == 100
    assert body["required"] == ["service_level_percent", "longest_wait_s",
                                "abandon_rate_percent"]


# --- the page ------------------------------------------------------------------------------

PAGE = "/wallboard/thresholds"


def test_the_page_sets_them_with_its_form(client, session, make_user, queues, redis_conn):
    redis_conn.hset(QUEUES_KEY, "support", json.dumps(
        {"queue": "support", "members": [], "waiting": []}))
    make_user("supervisor", username="boss", department="Service/Beijing")
    login(client, "boss")
    page = client.get(PAGE)
    assert page.status_code == 200
    html = text(page)
    assert "北京热线" in html and "VIP" in html and "上海热线" not in html
    token = csrf_token(html)
    # No CSRF token: refused, nothing kept.
    assert client.post(PAGE, data={"queue": "support", **GOOD}).status_code == 400
    assert session.scalar(select(QueueThresholds)) is None
    # Out of range: the page again (422) with the error and what was typed.
    r = client.post(PAGE, data={"csrf_token": token, "queue": "support",
                                "service_level_percent": "150", "longest_wait_s": "abc",
                                "abandon_rate_percent": "4"})
    assert r.status_code == 422
    html = text(r)
    assert "Must be a whole number from 1 to 100." in html
    assert "Must be a whole number from 1 to 3600." in html
    assert 'value="150"' in html and 'value="abc"' in html
    assert session.scalar(select(QueueThresholds)) is None
    r = client.post(PAGE, data={"csrf_token": token, "queue": "support", "action": "save",
                                **{k: str(v) for k, v in GOOD.items()}})
    assert r.status_code == 302
    html = text(client.get(PAGE))
    assert "The alerts of 北京热线 are saved." in html and "For this queue" in html
    assert 'value="90"' in html and 'value="45"' in html
    # Another department's queue through the form: not found, nothing kept.
    r = client.post(PAGE, data={"csrf_token": token, "queue": "sh", **GOOD})
    assert r.status_code == 404 and "Not found." in text(r)
    r = client.post(PAGE, data={"csrf_token": token, "queue": "support", "action": "reset"})
    assert r.status_code == 302
    assert session.scalar(select(QueueThresholds)) is None
    # The wallboard links to the page.
    assert f'href="{PAGE}"' in text(client.get("/wallboard"))


def test_the_page_in_chinese(client, make_user, queues):
    make_user("supervisor", username="laowang", department="Service/Beijing")
    login(client, "laowang", language="zh_CN")
    html = text(client.get(PAGE))
    token = csrf_token(html)
    r = client.post(PAGE, data={"csrf_token": token, "queue": "vip",
                                "service_level_percent": "", "longest_wait_s": "0",
                                "abandon_rate_percent": "5"})
    assert r.status_code == 422
    html = text(r)
    assert "此项为必填项。" in html and "必须是 1 到 3600 之间的整数。" in html
    assert "告警阈值" in html


def test_the_page_is_not_for_other_roles(app, make_user, queues):
    for role in ("agent", "technician"):
        client = app.test_client()
        make_user(role, username=f"{role}-x", department="Service/Beijing")
        login(client, f"{role}-x")
        assert client.get(PAGE).status_code == 403
