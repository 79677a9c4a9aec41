"""The agent's own state on their desk, and the wallboard's waiting callers in display
form, over real sockets (issue 12's open defects): the bridge's CallLogWriter writes the
live state and publishes through Redis (``LivePublisher``) to a live server
(Flask-SocketIO), python-socketio clients receive. Both databases.

- ``agent.state`` reaches the agent's own connections only, never another agent's nor a
  supervisor's (who keep getting ``agent.update``, unchanged); a desk that connects gets
  its state at once.
- Waiting callers carry ``caller_display`` (``callcenter.core.display.phone_text``) in
  the bridge's ``queue.update`` and in ``GET /api/v1/wallboard``; a hostile caller ID
  stays text, as it came.
"""

# The fixtures of test_realtime are imported, and named as parameters: F811 each time.
# ruff: noqa: F811

from __future__ import annotations

import time

import pytest
import redis
import requests
from test_realtime import Client, _event, clients, live_server, publisher  # noqa: F401

from callcenter.bridge.calllog import (
    AgentSnapshot,
    CallLogWriter,
    LiveReplacement,
    QueueSnapshot,
)
from callcenter.core.domains import init_domains
from callcenter.realtime.publish import LivePublisher, registered_events
from callcenter.wallboard.figures import local_day_start, queue_figures

WAIT_S = 5.0
A_PHONE, B_PHONE = "PJSIP/2001", "PJSIP/2002"   # agent_a's and agent_b's (test_realtime)
HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture
def writer(live_server, redis_conn, redis_url):
    """The bridge's writer of the live state, on the live server's database and Redis."""
    return CallLogWriter(live_server.app.extensions["db_sessionmaker"], redis_conn,
                         LivePublisher(redis.Redis.from_url(redis_url), redis_url),
                         region="CN", timezone="Asia/Shanghai", figures_every_s=0)


def _agent(interface: str, user_id: int, state: str, reason: str | None = None) -> dict:
    """A ``cc:live:agents`` entry as the bridge's ``agent_snapshot`` makes it."""
    return {"interface": interface, "name": interface, "state": state, "reason": reason,
            "since": time.time() - 2, "queues": ["support"], "user_id": user_id}


def _connected(server, *names: str, clients) -> dict[str, Client]:
    people = {name: clients(server, auth={"token": server.tokens[name]}) for name in names}
    for client in people.values():
        client.next("calls.snapshot")
    return people


def _events(client: Client) -> list[str]:
    return [event for event, _data in client.drain()]


def test_the_own_state_is_an_event_for_one_user():
    init_domains()
    assert registered_events()["agent.state"].audience == "user"
    assert registered_events()["agent.update"].audience == "queue"   # unchanged


def test_the_agent_alone_gets_their_state_the_supervisor_keeps_agent_update(
        live_server, clients, writer, publisher):
    a_id, b_id = live_server.ids["agent_a"], live_server.ids["agent_b"]
    people = _connected(live_server, "agent_a", "agent_b", "sup_service", clients=clients)
    a, b, sup = people["agent_a"], people["agent_b"], people["sup_service"]

    # agent_a's call ended: the PBX paused them for the wrap-up.
    writer.handle([AgentSnapshot(A_PHONE, _agent(A_PHONE, a_id, "wrap_up", "wrap-up"))])
    _, own = a.next("agent.state")
    assert (own["interface"], own["user_id"], own["state"], own["reason"]) == (
        A_PHONE, a_id, "wrap_up", "wrap-up")
    assert 1.5 <= own["seconds_in_state"] < 1.5 + WAIT_S
    _, board_row = sup.next("agent.update")
    # The wallboard's contract is as it was; the desk gets that very row.
    assert {k: v for k, v in board_row.items() if k != "sent_at"} == \
        {k: v for k, v in own.items() if k != "sent_at"}

    # Then agent_b's: B gets its own and nothing of A's, A nothing of B's.
    writer.handle([AgentSnapshot(B_PHONE, _agent(B_PHONE, b_id, "paused", "lunch"))])
    _, own_b = b.next("agent.state")
    assert (own_b["interface"], own_b["state"], own_b["reason"]) == (B_PHONE, "paused", "lunch")
    assert sup.next("agent.update")[1]["interface"] == B_PHONE
    # A marker sent after everything else to each of them: once it is in, so is the rest.
    publisher.publish(a_id, "call.dismissed", _event("marker-a"))
    publisher.publish(b_id, "call.dismissed", _event("marker-b"))
    publisher.emit("queue.update", "support", {"queue": "support", "marker": True})
    a.next("call.dismissed")
    b.next("call.dismissed")
    sup.next("queue.update")
    assert _events(a) == [] and _events(b) == []
    assert "agent.state" not in _events(sup)

    # Back to available (the timer or the saved wrap-up ended it): the desk is told.
    writer.handle([AgentSnapshot(A_PHONE, _agent(A_PHONE, a_id, "available"))])
    _, own = a.next("agent.state")
    assert (own["state"], own["reason"]) == ("available", None)


def test_a_desk_that_connects_is_told_its_state_at_once(live_server, clients, writer,
                                                        publisher):
    a_id, b_id = live_server.ids["agent_a"], live_server.ids["agent_b"]
    # The supervisor paused agent_a while no desk was open.
    writer.handle([AgentSnapshot(A_PHONE, _agent(A_PHONE, a_id, "paused", "meeting"))])
    people = _connected(live_server, "agent_a", "agent_b", "sup_service", clients=clients)
    _, own = people["agent_a"].next("agent.state")
    assert (own["user_id"], own["state"], own["reason"]) == (a_id, "paused", "meeting")
    # The bridge reports nothing of agent_b's phone, and a supervisor is nobody's desk.
    publisher.publish(b_id, "call.dismissed", _event("marker-b"))
    people["agent_b"].next("call.dismissed")
    assert _events(people["agent_b"]) == []
    assert _events(people["sup_service"]) == []


def test_after_a_resync_every_agent_is_pushed_as_the_pbx_has_them(live_server, clients,
                                                                   writer):
    a_id, b_id = live_server.ids["agent_a"], live_server.ids["agent_b"]
    writer.handle([AgentSnapshot(A_PHONE, _agent(A_PHONE, a_id, "available"))])
    people = _connected(live_server, "agent_a", "agent_b", "sup_service", clients=clients)
    a, b, sup = people["agent_a"], people["agent_b"], people["sup_service"]
    a.next("agent.state")  # told on connect, as it was before the PBX link dropped
    # While the bridge was away the PBX paused agent_a and agent_b; the resync's whole
    # state replaces the live state, and the boards and desks are told without waiting
    # for those agents' next change.
    writer.handle([LiveReplacement({}, {
        A_PHONE: _agent(A_PHONE, a_id, "paused", "lunch"),
        B_PHONE: _agent(B_PHONE, b_id, "paused", "meeting")})])
    assert a.next("agent.state")[1]["state"] == "paused"
    assert (b.next("agent.state")[1]["reason"]) == "meeting"
    rows = {sup.next("agent.update")[1]["interface"] for _ in range(2)}
    assert rows == {A_PHONE, B_PHONE}


def _waiting(*numbers: str) -> dict:
    now = time.time()
    return {"queue": "support", "members": [],
            "waiting": [{"call_id": f"w{i}", "caller_number": number,
                         "queued_at": now - 30 + i} for i, number in enumerate(numbers)]}


SHOWN = {"w0": "020 8333 1234", "w1": "+1 415-555-0100", "w2": HOSTILE, "w3": ""}


def test_waiting_callers_carry_the_display_form(live_server, clients, writer):
    sup = _connected(live_server, "sup_service", clients=clients)["sup_service"]
    writer.handle([QueueSnapshot("support", _waiting("02083331234", "+14155550100",
                                                     HOSTILE, ""))])
    writer.push_figures()
    _, row = sup.next("queue.update")
    assert {c["call_id"]: c["caller_display"] for c in row["callers"]} == SHOWN
    # the PBX's number stays for machines
    assert {c["call_id"]: c["caller_number"] for c in row["callers"]}["w0"] == "02083331234"

    board = requests.get(live_server.base + "/api/v1/wallboard", timeout=WAIT_S, headers={
        "Authorization": f"Bearer {live_server.tokens['sup_service']}"})
    assert board.status_code == 200, board.text
    [support] = [q for q in board.json()["queues"] if q["queue"] == "support"]
    assert {c["call_id"]: c["caller_display"] for c in support["callers"]} == SHOWN


def test_the_display_form_follows_the_region(session):
    from datetime import UTC, datetime
    now = datetime.now(UTC)
    live = {"support": _waiting("02083331234", "+862083331234", "+14155550100")}
    day_start = local_day_start(now, "Asia/Shanghai")
    [cn] = queue_figures(session, ["support"], day_start=day_start, now=now, live=live,
                         region="CN")
    [us] = queue_figures(session, ["support"], day_start=day_start, now=now, live=live,
                         region="US")
    [raw] = queue_figures(session, ["support"], day_start=day_start, now=now, live=live)
    assert [c["caller_display"] for c in cn["callers"]] == [
        "020 8333 1234", "020 8333 1234", "+1 415-555-0100"]
    # "020..." is no US number: shown as it came, never made up
    assert [c["caller_display"] for c in us["callers"]] == [
        "02083331234", "+86 20 8333 1234", "(415) 555-0100"]
    assert [c["caller_display"] for c in raw["callers"]] == [
        "02083331234", "+862083331234", "+14155550100"]
