"""Click-to-dial (``POST /desk/dial``) and transfer (``POST /desk/transfer``).

The first half checks the endpoints on their own: a small consumer thread answers
``cc:bridge:commands`` as the bridge would and records what it was asked. The second
half runs them end to end: live web server, the real bridge (``run_bridge``) and the
PBX simulator, with agents listening on Socket.IO.
"""

from __future__ import annotations

import json
import re
import time

import pytest
import requests
from fake_bridge import FakeBridge
from simulator_support import AmiClient, header, originate_inbound
from stack import PASSWORD, WAIT_S, BridgeThread, Inbox, interface_of, wait_until
from webtools import get_token, login, text

from callcenter.calls.models import PbxQueue
from callcenter.realtime import commands as pbx
from callcenter.realtime.live import QUEUES_KEY
from callcenter.users.services import ensure_department
from telephony.simulator import SimulatorConfig, ThreadedSimulator, parse_queues
from telephony.simulator.originate import AgentOriginate

NUMBER = "13812345678"


@pytest.fixture
def queues(session):
    session.add_all([
        PbxQueue(name="support", department_id=ensure_department(session, "Service").id),
        PbxQueue(name="repairs", department_id=ensure_department(session, "Aftersales").id)])
    session.flush()


@pytest.fixture
def agent(make_user, queues, redis_conn):
    return make_user("agent", username="dial_agent", department="Service",
                     interface="PJSIP/3001")


def _post(client, url: str, body: dict, *, csrf: bool = True):
    headers = {"X-CSRFToken": get_token(client, "/desk")} if csrf else {}
    return client.post(url, json=body, headers=headers)


def _config(page: str) -> dict:
    match = re.search(r'<script type="application/json" id="desk-config">(.*?)</script>',
                      page, re.S)
    assert match, "no desk-config block"
    return json.loads(match.group(1))


# --- click-to-dial: the endpoint ------------------------------------------------------

def test_dial_rings_the_users_own_phone_then_the_normalised_number(client, agent, redis_url):
    login(client, "dial_agent")
    with FakeBridge(redis_url) as bridge:
        response = _post(client, "/desk/dial", {"number": " +86 (138) 1234-5678 "})
    assert response.status_code == 200, text(response)
    body = response.get_json()
    assert body["ok"] is True and body["number"] == "+8613812345678"
    assert body["interface"] == "PJSIP/3001" and "+8613812345678" in body["message"]
    [command] = bridge.commands
    assert command["action"] == "originate" and command["interface"] == "PJSIP/3001"
    assert command["number"] == "+8613812345678" and command["context"] == "outbound"
    assert command["user_id"] == agent.id and command["request_id"]


def test_dial_shows_the_customers_name_on_the_agents_phone(client, agent, make_customer,
                                                          make_user, redis_url):
    mine = make_customer(agent, "北京华通汽车服务有限公司", phones=[NUMBER])
    other = make_user("agent", username="other_owner", department="Sales")
    hidden = make_customer(other, "Hidden Ltd", phones=["13900000000"])
    login(client, "dial_agent")
    with FakeBridge(redis_url) as bridge:
        assert _post(client, "/desk/dial", {"number": NUMBER,
                                            "customer_id": mine.id}).status_code == 200
        assert _post(client, "/desk/dial", {"number": NUMBER,
                                            "customer_id": hidden.id}).status_code == 200
        assert _post(client, "/desk/dial", {"number": NUMBER,
                                            "customer_id": "9" * 40}).status_code == 200
    names = [c["caller_name"] for c in bridge.commands]
    assert names == ["北京华通汽车服务有限公司", "", ""]


@pytest.mark.parametrize("number", ["", "   ", "12", "abc", "138 1234 5678 ext 9",
                                    "123; rm -rf /", "++8613812345678", "1" * 33,
                                    "138\r\nAction: Logoff", None, 13812345678, ["1"]])
def test_dial_refuses_what_is_not_a_phone_number(client, agent, redis_url, number):
    login(client, "dial_agent")
    with FakeBridge(redis_url) as bridge:
        response = _post(client, "/desk/dial", {"number": number})
    assert response.status_code == 400, text(response)
    body = response.get_json()
    assert body["ok"] is False and body["field"] == "number"
    assert body["error"].startswith("number:")
    assert bridge.commands == []


def test_dial_needs_login_csrf_a_desk_role_and_a_phone(client, make_user, queues, redis_url):
    anonymous = client.post("/desk/dial", json={"number": NUMBER},
                            headers={"X-CSRFToken": get_token(client, "/login")})
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    make_user("technician", username="tech", interface="PJSIP/3050")
    make_user("agent", username="no_phone", department="Service")
    make_user("agent", username="has_phone", department="Service", interface="PJSIP/3051")
    with FakeBridge(redis_url) as bridge:
        login(client, "has_phone")
        assert _post(client, "/desk/dial", {"number": NUMBER}, csrf=False).status_code == 400
        assert client.post("/desk/dial", data={"number": NUMBER}).status_code == 400
        client.post("/logout", data={"csrf_token": get_token(client, "/desk")})

        login(client, "tech")
        token = get_token(client, "/customers/")
        response = client.post("/desk/dial", json={"number": NUMBER},
                               headers={"X-CSRFToken": token})
        assert response.status_code == 403
        client.post("/logout", data={"csrf_token": token})

        login(client, "no_phone")
        response = _post(client, "/desk/dial", {"number": NUMBER})
        assert response.status_code == 409 and "PBX interface" in response.get_json()["error"]
    assert bridge.commands == []


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_supervisors_and_admins_with_a_phone_dial_too(client, make_user, queues, redis_url,
                                                      role):
    make_user(role, username=f"dial_{role}", department="Service", interface=f"PJSIP/{role}")
    login(client, f"dial_{role}")
    with FakeBridge(redis_url) as bridge:
        assert _post(client, "/desk/dial", {"number": NUMBER}).status_code == 200
    assert bridge.commands[0]["interface"] == f"PJSIP/{role}"


def test_dial_reports_the_bridge_silent_and_the_pbx_refusing(app, client, agent, redis_url,
                                                            redis_conn):
    login(client, "dial_agent")
    refuse = lambda command: {"ok": False, "error": "the PBX refused: Originate failed",  # noqa: E731
                              "code": "refused"}
    with FakeBridge(redis_url, reply=refuse):
        response = _post(client, "/desk/dial", {"number": NUMBER})
    assert response.status_code == 502 and "Originate failed" in response.get_json()["error"]
    app.config["PBX_COMMAND_TIMEOUT_S"] = 0.3
    response = _post(client, "/desk/dial", {"number": NUMBER})
    assert response.status_code == 503 and "not answering" in response.get_json()["error"]
    assert redis_conn.llen(pbx.COMMANDS_KEY) == 0  # taken back: never run late


def test_the_360_page_has_a_call_button_per_phone_that_posts_a_form(client, agent,
                                                                   make_customer,
                                                                   make_user, redis_url):
    customer = make_customer(agent, "Call Me Ltd", phones=[NUMBER])
    login(client, "dial_agent")
    page = text(client.get(f"/customers/{customer.id}"))
    form = re.search(r'<form method="post" action="/desk/dial"[^>]*data-call-form>(.*?)</form>',
                     page, re.S)
    assert form, "no Call button on the 360° page"
    assert 'name="number" value="+8613812345678"' in form.group(1)
    assert f'name="customer_id" value="{customer.id}"' in form.group(1)
    assert 'name="csrf_token"' in form.group(1) and ">Call</button>" in form.group(1)
    assert "<script>" not in page

    with FakeBridge(redis_url) as bridge:
        response = client.post("/desk/dial", data={
            "number": "+8613812345678", "customer_id": str(customer.id),
            "next": f"/customers/{customer.id}",
            "csrf_token": get_token(client, f"/customers/{customer.id}")})
        assert response.status_code == 302
        assert response.headers["Location"].endswith(f"/customers/{customer.id}")
        followed = text(client.get(response.headers["Location"]))
        assert "Calling +8613812345678" in followed
        # A bad number by form: back with the reason; an outside "next" is not followed.
        response = client.post("/desk/dial", data={
            "number": "x", "next": "https://evil.example/",
            "csrf_token": get_token(client, f"/customers/{customer.id}")})
        assert response.status_code == 302 and response.headers["Location"].endswith("/desk")
        assert "number: use digits only" in text(client.get("/desk"))
    assert [c["caller_name"] for c in bridge.commands] == ["Call Me Ltd"]

    # No button for who may not dial: no phone, or not a desk role.
    make_user("supervisor", username="phoneless", scope="all", department="Service")
    make_user("technician", username="tech_phone", scope="all", interface="PJSIP/3070")
    for username in ("phoneless", "tech_phone"):
        client.post("/logout", data={"csrf_token": get_token(client, "/customers/")})
        login(client, username)
        customer_page = client.get(f"/customers/{customer.id}")
        assert customer_page.status_code == 200, username
        assert "data-call-form" not in text(customer_page), username


def test_the_desk_has_a_dial_box_and_the_transfer_queues(client, agent, make_user):
    login(client, "dial_agent")
    page = text(client.get("/desk"))
    assert "data-dial-form" in page and 'action="/desk/dial"' in page
    config = _config(page)
    assert config["dialUrl"] == "/desk/dial" and config["transferUrl"] == "/desk/transfer"
    assert config["transferQueues"] == ["repairs", "support"]
    assert config["strings"]["transferTo"] == "Transfer to"
    make_user("agent", username="phoneless", department="Service")
    client.post("/logout", data={"csrf_token": get_token(client, "/desk")})
    login(client, "phoneless")
    assert "data-dial-form" not in text(client.get("/desk"))


def test_the_desk_texts_in_chinese(client, agent):
    login(client, "dial_agent", language="zh_CN")
    config = _config(text(client.get("/desk")))
    assert config["strings"]["transferTo"] == "转接到"
    assert "拨打号码" in text(client.get("/desk"))


# --- transfer: the endpoint --------------------------------------------------------------

def test_transfer_sends_the_call_and_the_users_phone_never_a_channel(client, agent,
                                                                      redis_url):
    login(client, "dial_agent")
    with FakeBridge(redis_url) as bridge:
        response = _post(client, "/desk/transfer", {"call_id": "1795455872.8",
                                                    "queue": "repairs"})
    assert response.status_code == 200, text(response)
    assert response.get_json() == {"ok": True, "call_id": "1795455872.8", "queue": "repairs",
                                   "message": "The call goes to queue repairs."}
    [command] = bridge.commands
    assert {k: v for k, v in command.items() if k != "request_id"} == {
        "action": "transfer", "user_id": agent.id, "interface": "PJSIP/3001",
        "call_id": "1795455872.8", "queue": "repairs"}


@pytest.mark.parametrize(("body", "field"), [
    ({"queue": "repairs"}, "call_id"),
    ({"call_id": "", "queue": "repairs"}, "call_id"),
    ({"call_id": "1.2\r\nAction: Logoff", "queue": "repairs"}, "call_id"),
    ({"call_id": ["1.2"], "queue": "repairs"}, "call_id"),
    ({"call_id": "1.2"}, "queue"),
    ({"call_id": "1.2", "queue": "sales"}, "queue"),
    ({"call_id": "1.2", "queue": "repairs\r\nAction: Logoff"}, "queue"),
])
def test_transfer_refuses_bad_fields(client, agent, redis_url, body, field):
    login(client, "dial_agent")
    with FakeBridge(redis_url) as bridge:
        response = _post(client, "/desk/transfer", body)
    assert response.status_code == 400, text(response)
    assert response.get_json()["field"] == field
    assert response.get_json()["error"].startswith(field + ":")
    assert bridge.commands == []


def test_transfer_needs_csrf_a_desk_role_and_a_phone(client, make_user, queues, redis_url):
    make_user("technician", username="tech2", interface="PJSIP/3060")
    make_user("agent", username="no_phone2", department="Service")
    make_user("agent", username="phone2", department="Service", interface="PJSIP/3061")
    body = {"call_id": "1.2", "queue": "repairs"}
    with FakeBridge(redis_url) as bridge:
        login(client, "phone2")
        assert _post(client, "/desk/transfer", body, csrf=False).status_code == 400
        client.post("/logout", data={"csrf_token": get_token(client, "/desk")})
        login(client, "tech2")
        token = get_token(client, "/customers/")
        assert client.post("/desk/transfer", json=body,
                           headers={"X-CSRFToken": token}).status_code == 403
        client.post("/logout", data={"csrf_token": token})
        login(client, "no_phone2")
        assert _post(client, "/desk/transfer", body).status_code == 409
    assert bridge.commands == []


@pytest.mark.parametrize(("reply", "status", "words"), [
    ({"ok": False, "error": "call_id: the call is not connected to your phone",
      "code": "not_connected"}, 403, "only a call you are talking on"),
    ({"ok": False, "error": "call_id: no such call in progress", "code": "no_call"}, 409,
     "over"),
    ({"ok": False, "error": "call_id: a call the agent dialled is in no queue",
      "code": "outbound"}, 409, "call you dialled"),
    ({"ok": False, "error": "queue: the call is in repairs already", "code": "same_queue"},
     409, "in this queue already"),
    ({"ok": False, "error": "the PBX refused: Channel does not exist", "code": "refused"},
     502, "Channel does not exist"),
])
def test_transfer_reports_what_the_bridge_says(client, agent, redis_url, reply, status, words):
    login(client, "dial_agent")
    with FakeBridge(redis_url, reply=lambda command: reply):
        response = _post(client, "/desk/transfer", {"call_id": "1.2", "queue": "repairs"})
    assert response.status_code == status
    assert words in response.get_json()["error"]


def test_transfer_with_the_bridge_silent(app, client, agent):
    app.config["PBX_COMMAND_TIMEOUT_S"] = 0.3
    login(client, "dial_agent")
    response = _post(client, "/desk/transfer", {"call_id": "1.2", "queue": "repairs"})
    assert response.status_code == 503


# --- transfer: the bridge's side, without a PBX ------------------------------------------

class RecordingAmi:
    """Stands in for AMIClient: records the Redirects it is asked for."""

    def __init__(self):
        self.redirects: list[tuple] = []

    async def redirect(self, channel, exten, context, priority=1):
        self.redirects.append((channel, exten, context, priority))


def _connected_tracker():
    """A CallTracker that saw a support call answered by agent1 (the captures' frames)."""
    from telephony.callstate import CallTracker

    tracker = CallTracker()
    link, two, leg = "1795455872.8", "1795455872.9", "1795455872.10"
    caller = {"Linkedid": link, "CallerIDNum": NUMBER, "CallerIDName": "Zhang San"}
    for frame in (
        {"Event": "Newchannel", "Channel": "Local/s@inbound-00000001;1", "Uniqueid": link,
         **caller},
        {"Event": "Newchannel", "Channel": "Local/s@inbound-00000001;2", "Uniqueid": two,
         **caller},
        {"Event": "QueueCallerJoin", "Channel": "Local/s@inbound-00000001;2",
         "Uniqueid": two, "Queue": "support", "Position": "1", "Count": "1", **caller},
        {"Event": "AgentCalled", "Channel": "Local/s@inbound-00000001;2", "Uniqueid": two,
         "DestChannel": "Local/agent1@agents-00000002;1", "DestUniqueid": leg,
         "Queue": "support", "Interface": interface_of(1), "MemberName": "agent1", **caller},
        {"Event": "AgentConnect", "Channel": "Local/s@inbound-00000001;2", "Uniqueid": two,
         "DestChannel": "Local/agent1@agents-00000002;1", "DestUniqueid": leg,
         "Queue": "support", "Interface": interface_of(1), "MemberName": "agent1",
         "HoldTime": "3", "RingTime": "2", **caller},
    ):
        tracker.feed(frame, time.time())
    return tracker, link


def test_the_bridge_redirects_the_callers_queue_channel_of_its_own_call():
    import asyncio

    from callcenter.bridge.commands import execute_command

    tracker, link = _connected_tracker()
    assert tracker.caller_channel(link) == "Local/s@inbound-00000001;2"
    assert tracker.caller_channel("no-such-call") is None
    ami = RecordingAmi()

    def run(**command):
        return asyncio.run(execute_command(ami, {"action": "transfer", **command},
                                           tracker=tracker))

    base = {"call_id": link, "interface": interface_of(1)}
    assert run(**base, queue="repairs") == {"ok": True}
    assert ami.redirects == [("Local/s@inbound-00000001;2", "repairs", "transfer", 1)]
    ami.redirects.clear()
    assert run(call_id=link, interface=interface_of(2), queue="repairs")["code"] == \
        "not_connected"
    assert run(call_id="1.2", interface=interface_of(1), queue="repairs")["code"] == "no_call"
    assert run(**base, queue="support")["code"] == "same_queue"
    for bad in ({"queue": "repairs\r\nAction: Logoff"}, {"queue": ""},
                {"queue": "repairs", "interface": ""}, {"queue": "repairs", "call_id": None}):
        result = run(**{**base, **bad})
        assert result["ok"] is False and result["code"] == "invalid", (bad, result)
    # No tracker at all (an AMI client feeding none): refused, nothing sent.
    result = asyncio.run(execute_command(ami, {"action": "transfer", **base,
                                               "queue": "repairs"}))
    assert result["code"] == "no_call"
    assert ami.redirects == []


# --- end to end: web -> Redis -> bridge -> AMI -> PBX simulator -> events back --------------

@pytest.fixture
def stack(sqlite_stack):
    # Web side on SQLite: the path under test is Redis and AMI.
    return sqlite_stack


@pytest.fixture
def pbx_sim(stack, redis_conn):
    """support rings agent1 only, repairs rings agents 4 and 5; every answer within 1-2 s,
    every talk 30 s (time enough to transfer); no caller gives up or hangs up first."""
    config = SimulatorConfig(
        ami_port=0, rate=0, seed=23, agents=5,
        queues=parse_queues("support:ringall=1;repairs:ringall=4-5", 5),
        answer_delay=(1.0, 2.0), talk_time=(30.0, 30.0), no_answer_prob=0.0,
        abandon_prob=0.0, caller_hangup_prob=0.0, transfer_prob=0.0)
    with ThreadedSimulator(config) as sim:
        bridge = BridgeThread(stack.settings, sim.ami_port).start()
        try:
            assert bridge.leader.wait(15), "the bridge did not become leader"
            wait_until(lambda: redis_conn.hexists(QUEUES_KEY, "repairs"), 15,
                       what="the bridge's first resync")
            yield sim
        finally:
            bridge.stop()


def _desk_session(stack, username: str) -> tuple[requests.Session, str]:
    http = requests.Session()
    page = http.get(stack.base + "/login", timeout=WAIT_S).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = http.post(stack.base + "/login", timeout=WAIT_S, allow_redirects=False,
                         data={"username": username, "password": PASSWORD,
                               "csrf_token": token})
    assert response.status_code == 302, response.text
    desk = http.get(stack.base + "/desk", timeout=WAIT_S)
    assert desk.status_code == 200
    return http, _config(desk.text)["csrfToken"]


def _post_as(stack, session: tuple[requests.Session, str], path: str, body: dict):
    http, csrf = session
    return http.post(stack.base + path, json=body, timeout=WAIT_S,
                     headers={"X-CSRFToken": csrf})


def _next_frame(client: AmiClient, deadline: float):
    while time.monotonic() < deadline:
        try:
            return client.frame(timeout=max(0.05, deadline - time.monotonic()))
        except TimeoutError:
            continue
    return None


def test_click_to_dial_rings_agent1s_phone_at_the_pbx(stack, pbx_sim):
    watcher = AmiClient(pbx_sim.ami_port)
    try:
        assert watcher.login(events="on")[0] == ("Response", "Success")
        session = _desk_session(stack, "agent1")
        response = _post_as(stack, session, "/desk/dial", {"number": "+86 138-1234-5678"})
        assert response.status_code == 200, response.text
        assert response.json()["number"] == "+8613812345678"

        # The PBX took an Originate of agent1's own interface, for the customer's number.
        def originated(sim):
            return [(c.device.exten, c.context, c.exten, c.cid.num) for c in sim.calls
                    if isinstance(c, AgentOriginate)]
        assert pbx_sim.call(originated) == [("agent1", "outbound", "+8613812345678",
                                             "+8613812345678")]
        # ... and rang it: a channel of agent1 comes up; once answered, the PBX goes on to
        # [outbound] with the number (OriginateResponse, Context/Exten form).
        deadline = time.monotonic() + 20
        channels, answer = set(), None
        while answer is None:
            frame = _next_frame(watcher, deadline)
            assert frame is not None, f"no OriginateResponse; channels seen: {channels}"
            name = header(frame, "Event")
            if name == "Newchannel":
                channels.add(header(frame, "Channel"))
            elif name == "OriginateResponse":
                answer = frame
        assert any(c.startswith("Local/agent1@agents-") for c in channels), channels
        assert header(answer, "Response") == "Success"
        assert header(answer, "Channel").startswith("Local/agent1@agents-")
        assert (header(answer, "Context"), header(answer, "Exten")) == ("outbound",
                                                                        "+8613812345678")
    finally:
        watcher.close()

    # Someone without a phone gets 409, and nothing reaches the PBX.
    supervisor = _desk_session(stack, "sup_support")
    assert _post_as(stack, supervisor, "/desk/dial", {"number": NUMBER}).status_code == 409
    assert len(pbx_sim.call(originated)) <= 1


def test_an_answered_call_is_transferred_and_the_pop_follows_it(stack, pbx_sim):
    inboxes = {n: Inbox.connect(stack, f"agent{n}") for n in (1, 2, 4, 5)}
    try:
        for inbox in inboxes.values():
            inbox.wait_for("calls.snapshot", timeout=WAIT_S)
        originate_inbound(pbx_sim.ami_port, f'"Zhang San" <{NUMBER}>')
        ringing = inboxes[1].wait_for("call.ringing", timeout=20)
        call_id = ringing["call_id"]
        assert ringing["queue"] == "support"
        inboxes[1].wait_for("call.answered", lambda d: d["call_id"] == call_id, timeout=20)

        agent1, agent2 = _desk_session(stack, "agent1"), _desk_session(stack, "agent2")
        # Only the agent on the call may transfer it; the bridge knows who that is.
        refused = _post_as(stack, agent2, "/desk/transfer", {"call_id": call_id,
                                                             "queue": "repairs"})
        assert refused.status_code == 403, refused.text
        gone = _post_as(stack, agent1, "/desk/transfer", {"call_id": "1.999999",
                                                          "queue": "repairs"})
        assert gone.status_code == 409, gone.text
        same = _post_as(stack, agent1, "/desk/transfer", {"call_id": call_id,
                                                          "queue": "support"})
        assert same.status_code == 409 and same.json()["field"] == "queue", same.text
        assert not inboxes[1].of("call.ended"), "a refused transfer moved the call"

        response = _post_as(stack, agent1, "/desk/transfer", {"call_id": call_id,
                                                              "queue": "repairs"})
        assert response.status_code == 200, response.text

        # agent1's pop ends as transferred; the repairs agents are rung for the same call
        # and one of them answers it.
        ended = inboxes[1].wait_for("call.ended", lambda d: d["call_id"] == call_id,
                                    timeout=20)
        assert ended["reason"] == "transferred"
        answered = None
        deadline = time.monotonic() + 30
        while answered is None and time.monotonic() < deadline:
            for n in (4, 5):
                found = [d for d in inboxes[n].of("call.answered") if d["call_id"] == call_id]
                if found:
                    answered = (n, found[0])
            if answered is None:
                time.sleep(0.05)
        assert answered is not None, "no repairs agent answered the transferred call"
        winner, data = answered
        assert data["queue"] == "repairs" and data["interface"] == interface_of(winner)
        events = [(event, d["call_id"]) for event, d in inboxes[winner].events
                  if isinstance(d, dict) and d.get("call_id") == call_id]
        assert events.index(("call.ringing", call_id)) < events.index(("call.answered",
                                                                        call_id))
        assert data["caller"]["number"] == NUMBER
        assert not [d for d in inboxes[2].events if isinstance(d[1], dict)
                    and d[1].get("call_id") == call_id], "agent2 is in no queue of the call"

        # The call log has both agents, in order.
        def logged():
            for item in stack.api("/api/v1/calls").json()["items"]:
                if item["call_id"] == call_id and len(item.get("agents") or []) >= 2:
                    return item
            return None
        row = wait_until(logged, 20, what="the call log with both agents")
        assert row["agents"] == [interface_of(1), interface_of(winner)]
        assert row["agent_interface"] == interface_of(winner)
    finally:
        for inbox in inboxes.values():
            inbox.close()


@pytest.mark.browser
def test_in_chromium_the_pop_transfers_and_the_dial_box_dials(stack, pbx_sim, browser):
    from playwright.sync_api import Expect

    expect = Expect()  # our own instance: its default timeout stays in this test
    expect.set_options(timeout=20_000)
    problems: list[str] = []  # CSP violations and script errors show up here
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.goto(stack.base + "/login?next=/desk")
        page.get_by_label("Username").fill("agent1")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.locator("[data-live-indicator]")).to_have_attribute("data-state", "live")
        page.evaluate("window.__not_reloaded = true")

        # A call answered in support: the pop offers the other queue only.
        originate_inbound(pbx_sim.ami_port, f'"Zhang San" <{NUMBER}>')
        pop = page.locator("[data-pops] > li")
        expect(pop.locator(".pop__state")).to_have_text("✆ Answered")
        select = pop.get_by_label("Transfer to")
        expect(select.locator("option")).to_have_text(["repairs"])
        select.select_option("repairs")
        pop.get_by_role("button", name="Transfer").click()
        # The bridge's call.ended (transferred) turns the pop into the wrap-up.
        expect(pop.locator(".pop__state")).to_have_text("✎ Call ended · Transferred")
        expect(pop.get_by_label("Disposition")).to_be_visible()
        expect(pop.locator("[data-pop-transfer]")).to_have_count(0)

        # The dial box: agent1's phone is rung for the number.
        page.get_by_role("textbox", name="Call a number").fill("+86 138 1234 5678")
        page.get_by_role("button", name="Call", exact=True).click()
        expect(page.locator("[data-dial-status]")).to_contain_text("Calling +8613812345678")

        def originated(sim):
            return [(c.device.exten, c.exten) for c in sim.calls
                    if isinstance(c, AgentOriginate)]
        wait_until(lambda: pbx_sim.call(originated) == [("agent1", "+8613812345678")], 10,
                   what="the Originate of agent1's phone")
        assert not problems, problems
        # A bad number: the reason, in the box (the browser logs the 400 itself).
        page.get_by_role("textbox", name="Call a number").fill("call me")
        page.get_by_role("button", name="Call", exact=True).click()
        expect(page.locator("[data-dial-error]")).to_contain_text("number: use digits only")
        assert page.evaluate("window.__not_reloaded") is True
        assert all("status of 400" in p for p in problems), problems
    finally:
        context.close()
