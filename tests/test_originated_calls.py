"""Calls the bridge originates, end to end: web -> Redis -> the real bridge -> AMI
Originate -> the PBX simulator -> AMI events -> the call log, on both databases.

A click-to-dial is an outbound row (the agent who dialled, the number, the customer it
belongs to, answered / busy, talk time) that the wallboard's queue figures never count;
a supervisor's ChanSpy session leaves no row at all, and the call it listened to stays
one inbound call. The same against a real Asterisk: tests/faults/test_live_originated.py;
the tracker on a real Asterisk's frames: tests/test_callstate_originated.py.
"""

from __future__ import annotations

import re

import pytest
import requests
from simulator_support import originate_inbound
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from stack import PASSWORD, WAIT_S, BridgeThread, Inbox, interface_of, wait_until
from test_dial_transfer import _desk_session, _post_as

from callcenter.calls.models import CallRecord, Direction, Outcome
from callcenter.customers.services import create_customer
from callcenter.db import make_engine
from callcenter.realtime.live import QUEUES_KEY
from callcenter.users.models import User
from telephony.simulator import SimulatorConfig, ThreadedSimulator, parse_queues

NUMBER = "13812345678"
BUSY_NUMBER = "13900000000"
SUP_PHONE = "Local/supervisor1@agents/n"
TALK_S = 4.0


@pytest.fixture
def originating(stack, redis_conn):
    """The stack with a customer on NUMBER, sup_support's phone, a simulator whose
    trunk answers NUMBER and finds BUSY_NUMBER busy, and the bridge: (sim, engine,
    customer id)."""
    engine = make_engine(stack.settings.database_url)
    with Session(engine) as session:
        session.execute(update(User).where(User.username == "sup_support")
                        .values(interface=SUP_PHONE))
        admin = session.get(User, stack.ids["admin"])
        customer = create_customer(session, admin, {"name": "北京华通汽车服务有限公司",
                                                    "phones": [NUMBER]}, region="CN")
        session.commit()
        customer_id = customer.id
    config = SimulatorConfig(
        ami_port=0, rate=0, seed=41, agents=5,
        queues=parse_queues("support:ringall=1;repairs:ringall=4-5", 5),
        answer_delay=(0.5, 0.8), talk_time=(TALK_S, TALK_S), no_answer_prob=0.0,
        abandon_prob=0.0, caller_hangup_prob=0.0, transfer_prob=0.0,
        callee_outcomes={NUMBER: "answer", BUSY_NUMBER: "busy"})
    with ThreadedSimulator(config) as sim:
        bridge = BridgeThread(stack.settings, sim.ami_port).start()
        try:
            assert bridge.leader.wait(15), "the bridge did not become leader"
            wait_until(lambda: redis_conn.hexists(QUEUES_KEY, "support"), 15,
                       what="the bridge's first resync")
            yield sim, engine, customer_id
        finally:
            bridge.stop()
            engine.dispose()


def _rows(engine) -> list[CallRecord]:
    with Session(engine, expire_on_commit=False) as session:
        return list(session.scalars(select(CallRecord).order_by(CallRecord.id)))


def _finished(engine, count: int) -> list[CallRecord] | None:
    rows = _rows(engine)
    done = [r for r in rows if r.ended_at is not None]
    return rows if len(done) >= count else None


def _idle(sim) -> bool:
    return sim.call(lambda s: not s.pbx.channels)


def _page_as(stack, username: str, path: str, language: str = "en") -> str:
    """``path`` as ``username`` sees it in ``language`` (en, zh_CN)."""
    http = requests.Session()
    page = http.get(stack.base + "/login", timeout=WAIT_S).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    # the language chosen on the login page (as webtools.login does)
    http.post(stack.base + "/language", timeout=WAIT_S,
              data={"locale": language, "csrf_token": token})
    http.post(stack.base + "/login", timeout=WAIT_S, data={
        "username": username, "password": PASSWORD, "csrf_token": token})
    response = http.get(stack.base + path, timeout=WAIT_S)
    assert response.status_code == 200, response.text
    return response.text


def _support(stack) -> dict:
    board = stack.api("/api/v1/wallboard").json()
    return next(row for row in board["queues"] if row["queue"] == "support")


def test_a_click_to_dial_is_an_outbound_call_of_the_agent_to_the_customer(stack, originating):
    sim, engine, customer_id = originating
    agent1 = _desk_session(stack, "agent1")
    for number in (NUMBER, BUSY_NUMBER):
        response = _post_as(stack, agent1, "/desk/dial", {"number": number})
        assert response.status_code == 200, response.text
        wait_until(lambda: _idle(sim), 30, what="the click-to-dial to end")
    rows = wait_until(lambda: _finished(engine, 2), 15, what="two finished rows")
    assert len(rows) == 2, [(r.call_id, r.caller_number, r.direction) for r in rows]
    answered, busy = rows
    for row in rows:
        assert row.direction == Direction.OUTBOUND
        assert row.agent_id == stack.ids["agent1"]
        assert row.agent_interface == interface_of(1) and row.agents == [interface_of(1)]
        assert row.queue is None and row.queued_at is None and row.wait_s is None
    # the number as dialled; its E.164 form finds the customer
    assert (answered.caller_number, answered.caller_e164) == (NUMBER, "+86" + NUMBER)
    assert answered.customer_id == customer_id
    assert answered.outcome == Outcome.ANSWERED and answered.answered_at is not None
    assert TALK_S - 0.5 <= answered.talk_s <= TALK_S + 1.5
    assert busy.caller_e164 == "+86" + BUSY_NUMBER and busy.customer_id is None
    assert busy.outcome == Outcome.BUSY
    assert busy.answered_at is None and busy.talk_s is None

    # The API keeps its fields and adds the direction; the queue's figures count nothing.
    items = stack.api("/api/v1/calls").json()["items"]
    by_id = {item["call_id"]: item for item in items}
    item = by_id[answered.call_id]
    assert item["direction"] == "outbound" and item["outcome"] == "answered"
    assert item["caller"]["e164"] == "+86" + NUMBER and item["customer_id"] == customer_id
    assert item["agent"] == "agent1" and item["queue"] is None
    assert by_id[busy.call_id]["outcome"] == "busy"
    support = _support(stack)
    assert (support["offered"], support["abandoned"]) == (0, 0)

    # The call log page says it in the reader's language; the CSV has a direction column.
    english = _page_as(stack, "admin", "/calls/")
    assert english.count('data-direction="outbound"') == 2
    assert ">Outbound<" in english and "Busy" in english
    chinese = _page_as(stack, "admin", "/calls/", language="zh_CN")
    assert ">呼出<" in chinese and "占线" in chinese
    csv = _page_as(stack, "admin", "/calls/export.csv").lstrip("\ufeff").splitlines()
    header = csv[0].split(",")
    assert header[-1] == "direction" and header[:3] == ["call_id", "started_at",
                                                        "caller_number"]
    assert sorted(line.split(",")[-1] for line in csv[1:]) == ["outbound", "outbound"]


def test_a_monitoring_session_leaves_no_call_and_the_monitored_call_stays_one(
        stack, originating):
    sim, engine, _customer_id = originating
    agent1 = Inbox.connect(stack, "agent1")
    try:
        agent1.wait_for("calls.snapshot", timeout=WAIT_S)
        originate_inbound(sim.ami_port, f'"Zhang San" <{NUMBER}>')
        answered = agent1.wait_for("call.answered", timeout=20)
        supervisor = _desk_session(stack, "sup_support")
        response = _post_as(stack, supervisor, "/wallboard/monitor",
                            {"interface": interface_of(1), "mode": "listen"})
        assert response.status_code == 200, response.text
        wait_until(lambda: sim.call(lambda s: list(s.pbx.spies)) or None, 10,
                   what="ChanSpy to start")
        agent1.wait_for("call.ended", timeout=20)
    finally:
        agent1.close()
    wait_until(lambda: _idle(sim), 20, what="the call and the spy to end")
    rows = wait_until(lambda: _finished(engine, 1), 15, what="the call's row")
    # a moment for a late row of the spy, were there one
    wait_until(lambda: sim.call(lambda s: all("ended" in r for r in s.pbx.spies)), 5)
    rows = _rows(engine)
    assert [(r.call_id, r.direction, r.outcome, r.queue, r.agent_id) for r in rows] == [
        (answered["call_id"], Direction.INBOUND, Outcome.ANSWERED, "support",
         stack.ids["agent1"])]
    support = _support(stack)
    assert (support["offered"], support["answered"], support["abandoned"]) == (1, 1, 0)
