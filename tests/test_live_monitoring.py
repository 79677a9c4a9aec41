"""Live monitoring (``POST /wallboard/monitor``): a supervisor listens to, whispers to or
barges in on an agent's call.

First the endpoint on its own (a FakeBridge answers ``cc:bridge:commands``): who may,
what reaches the bridge, what the audit log keeps. Then the bridge's side without a PBX
(the ChanSpy Originate it builds from its own call state), and end to end: live web
server, the real bridge and the PBX simulator, whose ChanSpy says whom it spied on.
The same against a real Asterisk: tests/faults/test_live_agent_day.py.
"""

from __future__ import annotations

import asyncio

import pytest
from fake_bridge import FakeBridge
from simulator_support import originate_inbound
from sqlalchemy import select, update
from stack import WAIT_S, BridgeThread, Inbox, interface_of, wait_until
from test_dial_transfer import NUMBER, _connected_tracker, _desk_session, _post_as
from webtools import get_token, login, text

from callcenter.audit.models import AuditEntry
from callcenter.bridge.commands import execute_command
from callcenter.db import make_engine
from callcenter.realtime.live import QUEUES_KEY
from callcenter.users.models import User
from telephony.simulator import SimulatorConfig, ThreadedSimulator, parse_queues

SUP_PHONE = "Local/supervisor1@agents/n"
AGENT_PHONE = "PJSIP/3001"


@pytest.fixture
def people(make_user, redis_conn):
    return {
        "sup": make_user("supervisor", username="mon_sup", department="Service",
                         interface=SUP_PHONE),
        "agent": make_user("agent", username="mon_agent", department="Service/Hotline",
                           interface=AGENT_PHONE),
        "other": make_user("agent", username="mon_other", department="Aftersales/Station",
                           interface="PJSIP/3002"),
    }


def _monitor(client, body: dict, *, csrf: bool = True):
    headers = {"X-CSRFToken": get_token(client, "/customers/")} if csrf else {}
    return client.post("/wallboard/monitor", json=body, headers=headers)


def _audit(session) -> list[tuple]:
    session.expire_all()
    return [(e.action, e.entity, e.entity_id, e.detail, e.call_id)
            for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


# --- the endpoint -------------------------------------------------------------------------

def test_a_supervisor_listens_with_their_own_phone_and_every_use_is_audited(
        client, session, people, redis_url):
    login(client, "mon_sup")
    with FakeBridge(redis_url, reply=lambda c: {"ok": True, "call_id": "1795.8"}) as bridge:
        for mode in ("listen", "whisper", "barge"):
            response = _monitor(client, {"interface": AGENT_PHONE, "mode": mode})
            assert response.status_code == 200, text(response)
            body = response.get_json()
            assert body["ok"] is True and body["call_id"] == "1795.8"
            assert body["mode"] == mode and "mon_agent" in body["message"]
    assert [{k: v for k, v in c.items() if k != "request_id"} for c in bridge.commands] == [
        {"action": "monitor", "user_id": people["sup"].id, "interface": SUP_PHONE,
         "agent_interface": AGENT_PHONE, "mode": mode}
        for mode in ("listen", "whisper", "barge")]
    agent_id = people["agent"].id
    assert _audit(session) == [
        ("agent.monitored", "user", agent_id, f"{mode}|started", "1795.8")
        for mode in ("listen", "whisper", "barge")]


def test_only_supervisors_of_the_agents_department_with_a_phone_may(client, session, people,
                                                                    make_user, redis_url):
    make_user("supervisor", username="mon_sup_far", department="Aftersales",
              interface="PJSIP/4002")
    make_user("supervisor", username="mon_sup_nophone", department="Service")
    make_user("admin", username="mon_admin", interface="PJSIP/4003")
    with FakeBridge(redis_url) as bridge:
        cases = [("mon_sup_far", AGENT_PHONE, 403), ("mon_sup_nophone", AGENT_PHONE, 409),
                 ("mon_admin", AGENT_PHONE, 403), ("mon_agent", "PJSIP/3002", 403),
                 ("mon_sup", "PJSIP/3002", 403),    # an agent of another department
                 ("mon_sup", SUP_PHONE, 403)]       # their own phone
        for username, phone, status in cases:
            login(client, username)
            response = _monitor(client, {"interface": phone, "mode": "listen"})
            assert response.status_code == status, (username, phone, text(response))
            assert response.get_json()["ok"] is False
            client.post("/logout", data={"csrf_token": get_token(client, "/customers/")})
    assert bridge.commands == []
    assert _audit(session) == []


@pytest.mark.parametrize(("body", "status"), [
    ({"interface": AGENT_PHONE}, 400), ({"interface": AGENT_PHONE, "mode": "record"}, 400),
    ({"interface": AGENT_PHONE, "mode": ["listen"]}, 400), ({"mode": "listen"}, 400),
    ({"interface": "PJSIP/9999", "mode": "listen"}, 404),
    ({"interface": "x" * 500, "mode": "listen"}, 400),
    ({"interface": AGENT_PHONE + "\r\nAction: Logoff", "mode": "listen"}, 404),
])
def test_bad_fields_are_refused_before_the_pbx_is_asked(client, session, people, redis_url,
                                                        body, status):
    login(client, "mon_sup")
    with FakeBridge(redis_url) as bridge:
        response = _monitor(client, body)
    assert response.status_code == status, text(response)
    assert bridge.commands == [] and _audit(session) == []


def test_it_needs_login_and_csrf(client, people, redis_url):
    anonymous = client.post("/wallboard/monitor", json={"interface": AGENT_PHONE,
                                                        "mode": "listen"},
                            headers={"X-CSRFToken": get_token(client, "/login")})
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    login(client, "mon_sup")
    with FakeBridge(redis_url) as bridge:
        assert _monitor(client, {"interface": AGENT_PHONE, "mode": "listen"},
                        csrf=False).status_code == 400
    assert bridge.commands == []


def test_what_the_bridge_says_is_told_and_audited(app, client, session, people, redis_url):
    login(client, "mon_sup", language="zh_CN")
    with FakeBridge(redis_url, reply=lambda c: {"ok": False, "code": "no_call",
                                                "error": "agent_interface: on no call"}):
        response = _monitor(client, {"interface": AGENT_PHONE, "mode": "barge"})
    assert response.status_code == 409
    assert response.get_json()["error"] == "该坐席现在没有在通话。"
    app.config["PBX_COMMAND_TIMEOUT_S"] = 0.3
    silent = _monitor(client, {"interface": AGENT_PHONE, "mode": "listen"})
    assert silent.status_code == 503
    agent_id = people["agent"].id
    assert _audit(session) == [("agent.monitored", "user", agent_id, "barge|no_call", None),
                               ("agent.monitored", "user", agent_id, "listen|failed", None)]


def test_the_audit_page_names_the_agent_and_the_mode(client, session, people, make_user,
                                                     redis_url):
    login(client, "mon_sup")
    with FakeBridge(redis_url, reply=lambda c: {"ok": True, "call_id": "1795.8"}):
        assert _monitor(client, {"interface": AGENT_PHONE,
                                 "mode": "whisper"}).status_code == 200
    client.post("/logout", data={"csrf_token": get_token(client, "/customers/")})
    make_user("admin", username="mon_reader")
    login(client, "mon_reader", language="zh_CN")
    page = text(client.get("/admin/audit"))
    assert "监听了坐席的通话" in page and "耳语 · 已开始" in page
    assert "mon_agent" in page and "1795.8" in page


# --- the bridge's side, without a PBX -------------------------------------------------------

class RecordingAmi:
    def __init__(self):
        self.originates: list[tuple] = []

    async def originate(self, channel, **fields):
        self.originates.append((channel, fields))


def test_the_bridge_spies_on_the_agents_leg_of_its_own_call_only():
    tracker, link = _connected_tracker()
    assert tracker.connected_leg(interface_of(1)) == (link, "Local/agent1@agents-00000002;1")
    assert tracker.connected_leg(interface_of(2)) is None
    ami = RecordingAmi()

    def run(**command):
        return asyncio.run(execute_command(ami, {"action": "monitor", **command},
                                           tracker=tracker))

    base = {"interface": SUP_PHONE, "agent_interface": interface_of(1)}
    assert run(**base, mode="listen") == {"ok": True, "call_id": link}
    assert run(**base, mode="whisper")["ok"] and run(**base, mode="barge")["ok"]
    assert [(c, f["application"], f["data"]) for c, f in ami.originates] == [
        (SUP_PHONE, "ChanSpy", "Local/agent1@agents-00000002;1,qEu" + extra)
        for extra in ("", "w", "B")]
    assert ami.originates[0][1]["caller_id"] == '"Monitor" <>'
    ami.originates.clear()
    assert run(**base, mode="record")["code"] == "invalid"
    assert run(interface=SUP_PHONE, agent_interface=interface_of(2),
               mode="listen")["code"] == "no_call"
    assert run(interface=interface_of(1), agent_interface=interface_of(1),
               mode="listen")["code"] == "own_phone"
    for bad in ({"interface": SUP_PHONE + ",x"}, {"agent_interface": "a\r\nAction: Logoff"},
                {"interface": ""}, {"agent_interface": None}):
        assert run(**{**base, "mode": "listen", **bad})["code"] == "invalid", bad
    assert asyncio.run(execute_command(ami, {"action": "monitor", **base, "mode": "listen"})
                       )["code"] == "no_call"
    assert ami.originates == []


# --- end to end: web -> Redis -> bridge -> AMI Originate -> the simulator's ChanSpy -------

@pytest.fixture
def pbx_sim(sqlite_stack, redis_conn):
    """support rings agent1 only; answers within 1-2 s, talks 30 s."""
    engine = make_engine(sqlite_stack.settings.database_url)
    with engine.begin() as connection:
        connection.execute(update(User).where(User.username == "sup_support")
                           .values(interface=SUP_PHONE))
        connection.execute(update(User).where(User.username == "sup_repairs")
                           .values(interface="Local/supervisor2@agents/n"))
    engine.dispose()
    config = SimulatorConfig(
        ami_port=0, rate=0, seed=29, agents=5,
        queues=parse_queues("support:ringall=1;repairs:ringall=4-5", 5),
        answer_delay=(1.0, 1.5), talk_time=(30.0, 30.0), no_answer_prob=0.0,
        abandon_prob=0.0, caller_hangup_prob=0.0, transfer_prob=0.0)
    with ThreadedSimulator(config) as sim:
        bridge = BridgeThread(sqlite_stack.settings, sim.ami_port).start()
        try:
            assert bridge.leader.wait(15), "the bridge did not become leader"
            wait_until(lambda: redis_conn.hexists(QUEUES_KEY, "support"), 15,
                       what="the bridge's first resync")
            yield sim
        finally:
            bridge.stop()


def _spies(sim) -> list[dict]:
    return sim.call(lambda s: [dict(record) for record in s.pbx.spies])


def test_the_supervisors_phone_rings_into_chanspy_on_agent1s_call(sqlite_stack, pbx_sim):
    stack = sqlite_stack
    agent1 = Inbox.connect(stack, "agent1")
    try:
        agent1.wait_for("calls.snapshot", timeout=WAIT_S)
        supervisor = _desk_session(stack, "sup_support")
        # No call yet: the bridge finds none, nothing rings.
        idle = _post_as(stack, supervisor, "/wallboard/monitor",
                        {"interface": interface_of(1), "mode": "listen"})
        assert idle.status_code == 409, idle.text

        originate_inbound(pbx_sim.ami_port, f'"Zhang San" <{NUMBER}>')
        answered = agent1.wait_for("call.answered", timeout=20)
        call_id = answered["call_id"]
        far = _post_as(stack, _desk_session(stack, "sup_repairs"), "/wallboard/monitor",
                       {"interface": interface_of(1), "mode": "listen"})
        assert far.status_code == 403, far.text

        response = _post_as(stack, supervisor, "/wallboard/monitor",
                            {"interface": interface_of(1), "mode": "whisper"})
        assert response.status_code == 200, response.text
        assert response.json()["call_id"] == call_id
        [spy] = wait_until(lambda: _spies(pbx_sim) or None, 10, what="ChanSpy to start")
        assert spy["phone"] == "supervisor1" and spy["options"] == "qEuw"
        assert spy["spyee"].startswith("Local/agent1@agents-") and "ended" not in spy

        # E: the spy ends with the agent's call (the caller hangs up here).
        def hang_up_caller(sim):
            caller = next(c for c in sim.pbx.channels.values()
                          if c.name.startswith("Local/s@inbound-") and c.owner)
            caller.owner.hangup_channel(caller)
        pbx_sim.call(hang_up_caller)
        agent1.wait_for("call.ended", lambda d: d["call_id"] == call_id, timeout=20)
        wait_until(lambda: "ended" in _spies(pbx_sim)[0], 10, what="the spy to end")
    finally:
        agent1.close()
    started = [row for row in _audit_rows(stack) if row[1] == "whisper|started"]
    assert started == [(stack.ids["agent1"], "whisper|started", call_id)]


def _audit_rows(stack) -> list[tuple]:
    engine = make_engine(stack.settings.database_url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(
                select(AuditEntry.entity_id, AuditEntry.detail, AuditEntry.call_id)
                .where(AuditEntry.action == "agent.monitored").order_by(AuditEntry.id))]
    finally:
        engine.dispose()



@pytest.mark.browser
def test_in_chromium_the_supervisor_listens_from_the_wallboard(sqlite_stack, pbx_sim, browser,
                                                               tmp_path):
    from live_server import browser_login
    from playwright.sync_api import expect
    from stack import PASSWORD

    stack = sqlite_stack
    context, page = browser_login(browser, stack.base, "sup_support", PASSWORD,
                                  {"width": 1440, "height": 900})
    try:
        page.goto(stack.base + "/wallboard")
        row = page.locator(f"tr.wb-agent[data-interface='{interface_of(1)}']")
        expect(row).to_have_attribute("data-state", "available", timeout=15_000)
        # Not on a call: no buttons.
        expect(row.locator("[data-monitor] button")).to_have_count(0)

        originate_inbound(pbx_sim.ami_port, f'"Zhang San" <{NUMBER}>')
        expect(row).to_have_attribute("data-state", "on_call", timeout=20_000)
        listen = row.locator("button[data-monitor-mode='listen']")
        expect(listen).to_be_visible()
        expect(row.locator("[data-monitor] button")).to_have_count(3)
        listen.click()
        status = page.locator("[data-monitor-status]")
        expect(status).to_contain_text("pick it up", timeout=10_000)
        [spy] = wait_until(lambda: _spies(pbx_sim) or None, 10, what="ChanSpy to start")
        assert spy["options"] == "qEu" and spy["phone"] == "supervisor1"
        assert spy["spyee"].startswith("Local/agent1@agents-")
        page.screenshot(path=str(tmp_path / "wallboard-monitor-en-1440.png"), full_page=True)
        overflow = page.evaluate("""() => [...document.querySelectorAll('.wb-agents *')]
            .filter(e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX
                    === 'visible' && e.clientWidth > 0).map(e => e.className).slice(0, 5)""")
        assert overflow == [], overflow
        # A second try while the PBX has no such call any more is told, not hidden.
        pbx_sim.call(lambda sim: [c.owner.hangup_channel(c) for c in list(sim.pbx.channels.values())
                                  if c.name.startswith("Local/s@inbound-") and c.owner])
        expect(row).not_to_have_attribute("data-state", "on_call", timeout=20_000)
        expect(row.locator("[data-monitor] button")).to_have_count(0)
    finally:
        context.close()
