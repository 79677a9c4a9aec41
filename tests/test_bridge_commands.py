"""PBX commands from the web, end to end: Redis -> bridge -> AMI -> PBX -> events back.

The web's ``request_pbx_action`` (and the desk's ``POST /desk/status`` on top of it)
pushes a command on ``cc:bridge:commands``; the bridge runs it against the PBX
simulator, answers on ``cc:bridge:result:<id>``, and the PBX's QueueMember* events come
back through the tracker as the agent's new state: ``cc:live:agents`` and an
``agent.update`` to the supervisors of the agent's queues.
"""

from __future__ import annotations

import json
import re
import uuid

import pytest
import requests
from stack import PASSWORD, WAIT_S, BridgeThread, Inbox, interface_of, wait_until

from callcenter.realtime.commands import COMMANDS_KEY, request_pbx_action
from callcenter.realtime.live import AGENTS_KEY, result_key
from telephony.simulator import SimulatorConfig, ThreadedSimulator, parse_queues

AGENT1 = interface_of(1)
USER_AGENT = "callcenter-tests/1.0"


@pytest.fixture
def stack(sqlite_stack):
    # The path under test is Redis and AMI; the desk's queue lookup is plain ORM.
    return sqlite_stack


@pytest.fixture
def pbx(stack, redis_conn):
    """Simulator (no traffic: commands only) and an active bridge logged in to it."""
    config = SimulatorConfig(ami_port=0, rate=0, seed=7, agents=5, queues=parse_queues(
        "support:ringall=1-3;repairs:rrmemory=4-5", 5))
    with ThreadedSimulator(config) as sim:
        bridge = BridgeThread(stack.settings, sim.ami_port).start()
        try:
            assert bridge.leader.wait(5)
            wait_until(lambda: agent_state(redis_conn, AGENT1), 10, what="the first resync")
            yield sim
        finally:
            bridge.stop()


@pytest.fixture
def supervisor(stack, pbx):
    inbox = Inbox.connect(stack, "sup_support")
    yield inbox
    inbox.close()


def agent_state(redis_conn, interface: str) -> dict | None:
    """The bridge's view of the member (``cc:live:agents``)."""
    raw = redis_conn.hget(AGENTS_KEY, interface)
    return json.loads(raw) if raw else None


def member(sim, queue: str, interface: str):
    """The simulator's own view: (paused, reason) of the member, or None if not one."""
    def look(s):
        found = s.pbx.queues[queue].member(interface)
        return None if found is None else (found.paused, found.paused_reason)
    return sim.call(look)


def raw_command(redis_conn, command: dict | str, timeout: float = 5.0) -> dict | None:
    """Push a command as any client could (unchecked), and wait for the bridge's answer."""
    request_id = uuid.uuid4().hex
    if isinstance(command, dict):
        command = json.dumps({**command, "request_id": request_id})
    redis_conn.lpush(COMMANDS_KEY, command)
    reply = redis_conn.blpop([result_key(request_id)], timeout=timeout)
    return json.loads(reply[1]) if reply else None


def update_for(inbox: Inbox, interface: str, after: int = 0, **want):
    return inbox.wait_for("agent.update", lambda d: d["interface"] == interface and all(
        d.get(k) == v for k, v in want.items()), after=after)


def test_pause_unpause_remove_add_through_redis(stack, pbx, supervisor, redis_conn):
    user_id = stack.ids["agent1"]
    assert agent_state(redis_conn, AGENT1)["state"] == "available"

    result = request_pbx_action(redis_conn, {
        "action": "queue_pause", "interface": AGENT1, "queue": None, "paused": True,
        "reason": "lunch", "user_id": user_id})
    assert result == {"ok": True}
    assert member(pbx, "support", AGENT1) == (True, "lunch")
    wait_until(lambda: (agent_state(redis_conn, AGENT1) or {}).get("state") == "paused",
               5, what="cc:live:agents paused")
    state = agent_state(redis_conn, AGENT1)
    assert (state["reason"], state["user_id"], state["queues"]) == ("lunch", user_id,
                                                                    ["support"])
    row = update_for(supervisor, AGENT1, state="paused", reason="lunch")
    assert row["user_id"] == user_id and row["queues"] == ["support"]

    mark = supervisor.mark()
    assert request_pbx_action(redis_conn, {
        "action": "queue_pause", "interface": AGENT1, "queue": None, "paused": False,
        "user_id": user_id}) == {"ok": True}
    update_for(supervisor, AGENT1, mark, state="available", reason=None)
    assert agent_state(redis_conn, AGENT1)["state"] == "available"

    # Out of the queue: logged out (and the supervisor of that queue is told so).
    mark = supervisor.mark()
    assert request_pbx_action(redis_conn, {
        "action": "queue_remove", "interface": AGENT1, "queue": "support",
        "user_id": user_id}) == {"ok": True}
    assert member(pbx, "support", AGENT1) is None
    update_for(supervisor, AGENT1, mark, state="logged_out")
    state = agent_state(redis_conn, AGENT1)
    assert (state["state"], state["queues"]) == ("logged_out", [])
    # Removing again: the PBX refuses, and says why.
    again = request_pbx_action(redis_conn, {
        "action": "queue_remove", "interface": AGENT1, "queue": "support",
        "user_id": user_id})
    assert again["ok"] is False and "Not there" in again["error"]

    mark = supervisor.mark()
    assert request_pbx_action(redis_conn, {
        "action": "queue_add", "interface": AGENT1, "queue": "support",
        "member_name": "agent1", "paused": False, "user_id": user_id}) == {"ok": True}
    assert member(pbx, "support", AGENT1) == (False, "")
    update_for(supervisor, AGENT1, mark, state="available", queues=["support"])
    assert agent_state(redis_conn, AGENT1)["state"] == "available"

    # Added paused, with a reason: paused at once.
    assert request_pbx_action(redis_conn, {
        "action": "queue_add", "interface": interface_of(2), "queue": "repairs",
        "member_name": "agent2", "paused": True, "reason": "training",
        "user_id": stack.ids["agent2"]}) == {"ok": True}
    state = wait_until(lambda: (lambda s: s if s and "repairs" in s["queues"] else None)(
        agent_state(redis_conn, interface_of(2))), 5)
    assert set(state["queues"]) == {"support", "repairs"}
    assert state["state"] == "available", "paused in one queue only: still takes calls"


MALFORMED = [
    ({"action": "queue_pause", "queue": None, "paused": True}, "interface: missing"),
    ({"action": "queue_pause", "interface": "", "paused": True}, "interface: missing"),
    ({"action": "queue_pause", "interface": AGENT1 + "\r\nAction: Logoff", "paused": True},
     "interface: not a valid value"),
    ({"action": "queue_pause", "interface": AGENT1 + "\n", "paused": True},
     "interface: not a valid value"),
    ({"action": "queue_add", "interface": AGENT1, "queue": "support\r\nAction: Logoff"},
     "queue: not a valid value"),
    ({"action": "queue_remove", "interface": AGENT1}, "queue: missing"),
    ({"action": "queue_pause", "interface": ["Local/agent1@agents/n"], "paused": True},
     "interface: not a valid value"),
    ({"action": "originate", "interface": AGENT1, "number": "123; rm -rf"},
     "number: not a valid value"),
    ({"action": "hangup_everyone", "interface": AGENT1}, "unknown action"),
    ({"interface": AGENT1}, "unknown action"),
]


def test_malformed_commands_are_refused_and_the_bridge_goes_on(stack, pbx, redis_conn):
    before = pbx.call(lambda s: s.pbx.events_emitted)
    for command, error in MALFORMED:
        result = raw_command(redis_conn, {**command, "user_id": stack.ids["agent1"]})
        assert result is not None, ("the bridge did not answer", command)
        assert result["ok"] is False and error in result["error"], (command, result)
    assert member(pbx, "support", AGENT1) == (False, "")
    assert pbx.call(lambda s: s.pbx.events_emitted) == before, "something reached the PBX"
    # The web's own helper refuses an unknown action before it gets to Redis.
    with pytest.raises(ValueError, match="unknown PBX action"):
        request_pbx_action(redis_conn, {"action": "hangup_everyone"})
    # Neither garbage nor a refused command stops the command loop.
    redis_conn.lpush(COMMANDS_KEY, b"\xff not json {")
    redis_conn.lpush(COMMANDS_KEY, json.dumps(["a", "list"]))
    assert request_pbx_action(redis_conn, {
        "action": "queue_pause", "interface": AGENT1, "queue": "support", "paused": True,
        "reason": "meeting", "user_id": stack.ids["agent1"]}) == {"ok": True}
    assert member(pbx, "support", AGENT1) == (True, "meeting")


def test_a_reason_with_line_breaks_reaches_the_pbx_as_one_harmless_line(stack, pbx,
                                                                       redis_conn):
    assert request_pbx_action(redis_conn, {
        "action": "queue_pause", "interface": AGENT1, "queue": None, "paused": True,
        "reason": "lunch\r\nAction: Logoff", "user_id": stack.ids["agent1"]}) == {"ok": True}
    paused, reason = member(pbx, "support", AGENT1)
    assert paused and "\r" not in reason and "\n" not in reason
    # The bridge is still logged in: the next command works.
    assert request_pbx_action(redis_conn, {
        "action": "queue_pause", "interface": AGENT1, "queue": None, "paused": False,
        "user_id": stack.ids["agent1"]}) == {"ok": True}


def _desk_session(stack, username: str) -> tuple[requests.Session, str]:
    """A logged-in browser-like session and the CSRF token the desk page hands its script."""
    http = requests.Session()
    http.headers["User-Agent"] = USER_AGENT
    page = http.get(stack.base + "/login", timeout=WAIT_S).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = http.post(stack.base + "/login", timeout=WAIT_S, allow_redirects=False,
                         data={"username": username, "password": PASSWORD,
                               "csrf_token": token})
    assert response.status_code == 302, response.text
    desk = http.get(stack.base + "/desk", timeout=WAIT_S)
    assert desk.status_code == 200
    config = re.search(r'<script type="application/json" id="desk-config">(.*?)</script>',
                       desk.text, re.S).group(1)
    return http, json.loads(config)["csrfToken"]


def test_the_desk_status_control_drives_the_pbx_end_to_end(stack, pbx, supervisor,
                                                            redis_conn):
    http, csrf = _desk_session(stack, "agent1")

    def post(**body):
        return http.post(stack.base + "/desk/status", json=body, timeout=WAIT_S,
                         headers={"X-CSRFToken": csrf})

    # Without the CSRF token nothing happens.
    refused = http.post(stack.base + "/desk/status", json={"status": "paused",
                                                            "reason": "lunch"}, timeout=WAIT_S)
    assert refused.status_code == 400
    assert member(pbx, "support", AGENT1) == (False, "")

    response = post(status="paused", reason="lunch")
    assert response.status_code == 200, response.text
    assert response.json()["ok"] is True and response.json()["reason"] == "lunch"
    assert member(pbx, "support", AGENT1) == (True, "lunch")
    update_for(supervisor, AGENT1, state="paused", reason="lunch")
    wait_until(lambda: agent_state(redis_conn, AGENT1)["state"] == "paused", 5)
    assert "Paused" in http.get(stack.base + "/desk", timeout=WAIT_S).text

    assert post(status="paused", reason="not-a-reason").status_code == 400

    mark = supervisor.mark()
    assert post(status="available").json()["ok"] is True
    assert member(pbx, "support", AGENT1) == (False, "")
    update_for(supervisor, AGENT1, mark, state="available", reason=None)

    mark = supervisor.mark()
    assert post(status="logged_out").json()["ok"] is True
    assert member(pbx, "support", AGENT1) is None
    update_for(supervisor, AGENT1, mark, state="logged_out")
    wait_until(lambda: agent_state(redis_conn, AGENT1)["state"] == "logged_out", 5)

    # Back in: queue_add for the queue of the agent's department.
    mark = supervisor.mark()
    assert post(status="available").json()["ok"] is True
    assert member(pbx, "support", AGENT1) == (False, "")
    update_for(supervisor, AGENT1, mark, state="available", queues=["support"])

    # An agent changes only their own status.
    other = post(status="paused", reason="lunch", user_id=stack.ids["agent2"])
    assert other.status_code == 403 and other.json()["ok"] is False
    assert member(pbx, "support", interface_of(2)) == (False, "")
