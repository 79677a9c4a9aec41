"""Calls the bridge originates, against a real Asterisk 22: the rows they leave.

The bridge runs as a real process. Two click-to-dials of agent1 (the bridge's
``originate`` command, as ``POST /desk/dial`` sends it): the site's trunk is
``OUTBOUND_TRUNK=Local`` here, and two extensions of ``[default]`` play the customers:
one answers and talks 3 s, one is busy. Then a customer calls in, and while an agent
talks a supervisor listens (ChanSpy). The call log must hold exactly: two outbound rows
of agent1 (answered with its talk time and the customer linked by the number; busy)
and one inbound answered row; no row of the spy, nothing offered twice. The simulator's
side: tests/test_originated_calls.py; the frames: tests/data/asterisk/originated.
"""

from __future__ import annotations

import time

import pytest
from live_pbx import Caller
from sqlalchemy import select
from sqlalchemy.orm import Session
from test_live_agent_day import _chanspy_lines, _monitor_any_agent, _wait

from callcenter.calls.models import CallRecord, Direction, Outcome
from callcenter.customers.services import create_customer
from callcenter.realtime.agent_calls import read_snapshot
from callcenter.realtime.commands import request_pbx_action
from callcenter.users.models import User

pytestmark = pytest.mark.live_pbx

AGENT1 = "Local/agent1@agents/n"
NUMBER, BUSY_NUMBER = "+8613812345678", "+8613900000000"
TALK_S = 3


def _rows(rig) -> list[CallRecord]:
    with Session(rig.engine, expire_on_commit=False) as session:
        return list(session.scalars(select(CallRecord).order_by(CallRecord.started_at)))


def _dial(rig, client, number: str) -> None:
    result = request_pbx_action(client, {
        "action": "originate", "user_id": rig.ids["agent1"], "interface": AGENT1,
        "number": number, "caller_name": "Zhang San"}, timeout=5)
    assert result == {"ok": True}, result
    assert rig.pbx.wait_idle(40), rig.pbx.log_tail(30)


def test_click_to_dial_and_a_spy_session_leave_the_right_rows(rig):
    with Session(rig.engine) as session:
        admin = session.get(User, rig.ids["admin"])
        customer_id = create_customer(session, admin, {"name": "北京华通汽车服务有限公司",
                                                       "phones": [NUMBER]}, region="CN").id
        session.commit()
    # The customers' side: [outbound] strips the "+" and dials Local/<digits>.
    for exten, steps in {NUMBER[1:]: ["Answer()", f"Wait({TALK_S})", "Hangup()"],
                         BUSY_NUMBER[1:]: ["Busy(2)"]}.items():
        for priority, app in enumerate(steps, 1):
            rig.pbx.cli(f"dialplan add extension {exten},{priority},{app} into default "
                        "replace")
    rig.pbx.cli("dialplan set global OUTBOUND_TRUNK Local")
    bridge = rig.start_bridge()
    rig.wait_bridge(bridge, time.time() - 1)
    client = rig.redis()
    caller = Caller(rig.pbx)
    try:
        _dial(rig, client, NUMBER)
        _dial(rig, client, BUSY_NUMBER)
        spied = None
        for _attempt in range(3):   # an agent's talk is 3-12 s: a short one may end first
            caller.call("s", '"Li Si" <13700000000>', 60)
            _phone, result = _monitor_any_agent(rig, client, "listen", time.monotonic() + 30)
            assert result["ok"] and result["call_id"]
            deadline = time.monotonic() + 8
            while spied is None and time.monotonic() < deadline:
                spied = _chanspy_lines(rig) or None
                time.sleep(0.1)
            assert rig.pbx.wait_idle(40), rig.pbx.log_tail(30)
            if spied:
                break
        assert spied, "ChanSpy never ran:\n" + rig.pbx.log_tail(40)
    finally:
        caller.close()
        client.close()

    def settled():
        rows = _rows(rig)
        return rows if rows and all(r.ended_at is not None for r in rows) else None

    rows = _wait(settled, 20, "the call log did not settle", rig)
    outbound = [r for r in rows if r.direction == Direction.OUTBOUND]
    inbound = [r for r in rows if r.direction == Direction.INBOUND]
    assert [(r.caller_e164, r.outcome) for r in outbound] == [
        (NUMBER, Outcome.ANSWERED), (BUSY_NUMBER, Outcome.BUSY)], rows
    answered, busy = outbound
    assert all(r.agent_id == rig.ids["agent1"] and r.queue is None for r in outbound)
    assert answered.customer_id == customer_id
    assert TALK_S - 1 <= answered.talk_s <= TALK_S + 1.5, answered.talk_s
    assert busy.talk_s is None and busy.answered_at is None
    # the calls that came in (one per attempt): queued, answered; the spy left none
    assert inbound and all(r.queue == "support" and r.outcome == Outcome.ANSWERED
                           and r.caller_number == "13700000000" for r in inbound), rows
    assert not [r for r in rows if r.caller_name == "Monitor" or not r.caller_number], rows
    assert len(rows) == 2 + len(inbound)

    # agent1's desk: the answered click-to-dial waits for its wrap-up (the pop came when
    # the customer answered and turned into call.ended when the talk ended); the busy
    # number left nothing on the desk
    dialled = [entry for entry in read_snapshot(rig.redis(), rig.ids["agent1"])["calls"]
               if entry.get("direction") == "outbound"]
    assert [(e["call_id"], e["event"], e["customer"]["id"]) for e in dialled] == [
        (answered.call_id, "call.ended", customer_id)], dialled
    assert TALK_S - 1 <= dialled[0]["talk_s"] <= TALK_S + 1.5, dialled


LONG_TALK_S = 15


def test_a_click_to_dial_survives_a_bridge_killed_mid_call(rig):
    """SIGKILL of the bridge while agent1 talks to the customer they dialled; a new
    bridge takes over. Its resync finds the call by the CC_* variables Asterisk adds to
    CoreShowChannel (manager.conf channelvars): one row, outbound, agent1's, answered,
    with the whole talk; agent1's desk keeps the call and gets its wrap-up."""
    with Session(rig.engine) as session:
        admin = session.get(User, rig.ids["admin"])
        customer_id = create_customer(session, admin, {"name": "广州顺达物流有限公司",
                                                       "phones": [NUMBER]}, region="CN").id
        session.commit()
    for priority, app in enumerate(["Answer()", f"Wait({LONG_TALK_S})", "Hangup()"], 1):
        rig.pbx.cli(f"dialplan add extension {NUMBER[1:]},{priority},{app} into default "
                    "replace")
    # agent1's phone answers at once and talks longer than the customer (the [agents]
    # pattern's agents hang up after 3-12 s)
    for priority, app in enumerate(["Answer()", f"Wait({LONG_TALK_S + 10})", "Hangup()"], 1):
        rig.pbx.cli(f"dialplan add extension agent1,{priority},{app} into agents replace")
    rig.pbx.cli("dialplan set global OUTBOUND_TRUNK Local")
    bridge = rig.start_bridge()
    rig.wait_bridge(bridge, time.time() - 1)
    client = rig.redis()
    agent1 = rig.ids["agent1"]

    def desk(event: str):
        return [e for e in read_snapshot(client, agent1)["calls"]
                if e.get("direction") == "outbound" and e.get("event") == event] or None

    try:
        result = request_pbx_action(client, {
            "action": "originate", "user_id": agent1, "interface": AGENT1,
            "number": NUMBER, "caller_name": "Zhang San"}, timeout=5)
        assert result == {"ok": True}, result
        [talking] = _wait(lambda: desk("call.answered"), 20, "agent1's pop never came", rig)
        time.sleep(2)
        bridge.kill()
        killed_at = time.time()
        successor = rig.start_bridge()
        rig.wait_bridge(successor, killed_at)
        assert rig.pbx.channels() > 0, "the call ended early:\n" + rig.pbx.log_tail(30)
        assert rig.pbx.wait_idle(40), rig.pbx.log_tail(30)
        [ended] = _wait(lambda: desk("call.ended"), 20, "agent1's wrap-up never came", rig)
    finally:
        client.close()
    assert ended["call_id"] == talking["call_id"]
    assert LONG_TALK_S - 1 <= ended["talk_s"] <= LONG_TALK_S + 1.5, ended

    def settled():
        rows = _rows(rig)
        return rows if rows and all(r.ended_at is not None for r in rows) else None

    [row] = _wait(settled, 20, "the call log did not settle", rig)
    assert (row.call_id, row.direction, row.outcome, row.agent_id, row.caller_e164,
            row.customer_id) == (talking["call_id"], Direction.OUTBOUND, Outcome.ANSWERED,
                                 agent1, NUMBER, customer_id)
    assert LONG_TALK_S - 1 <= row.talk_s <= LONG_TALK_S + 1.5, row.talk_s
