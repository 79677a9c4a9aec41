"""A click-to-dial call pops on the dialling agent's desk, over real sockets: web ->
Redis -> the real bridge -> AMI Originate -> the PBX simulator -> AMI events -> the
bridge's pops -> Socket.IO. The agent who dialled (and nobody else) gets call.answered
when the customer answers, with the customer's card and ``direction: outbound``, then
call.ended with the talk time; the wrap-up saved for it lands on the call log row. A
busy number pops nothing (the agent heard it on their own phone). With after-call work
on, the agent is paused for the wrap-up as after a queue call."""

from __future__ import annotations

from dataclasses import replace

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session
from stack import WAIT_S, BridgeThread, Inbox, interface_of, wait_until
from test_bridge_commands import agent_state, member
from test_dial_transfer import _desk_session, _post_as
from test_originated_calls import BUSY_NUMBER, NUMBER, TALK_S, _finished, _idle, originating

from callcenter.calls.models import CallRecord, Direction
from callcenter.customers.services import create_customer
from callcenter.db import make_engine
from callcenter.desk.acw import CURRENT_KEY
from callcenter.users.models import User
from telephony.simulator import SimulatorConfig, ThreadedSimulator, parse_queues

__all__ = ["originating"]  # the fixture, shared with test_originated_calls
AGENT1 = interface_of(1)


def _calls_of(inbox: Inbox, call_id: str) -> list[dict]:
    return [d for e, d in list(inbox.events)
            if e.startswith("call.") and isinstance(d, dict) and d.get("call_id") == call_id]


def test_the_dialling_agent_alone_gets_the_pop_and_the_wrap_up(stack, originating):
    sim, engine, customer_id = originating
    inboxes = {name: Inbox.connect(stack, name) for name in ("agent1", "agent2",
                                                              "sup_support")}
    try:
        for inbox in inboxes.values():
            inbox.wait_for("calls.snapshot", timeout=WAIT_S)
        agent1 = inboxes["agent1"]
        desk = _desk_session(stack, "agent1")
        response = _post_as(stack, desk, "/desk/dial", {"number": NUMBER})
        assert response.status_code == 200, response.text
        answered = agent1.wait_for("call.answered", timeout=20)
        assert answered["direction"] == "outbound" and answered["queue"] is None
        assert answered["interface"] == AGENT1
        assert answered["caller"]["number"] == NUMBER
        assert answered["caller"]["e164"] == "+86" + NUMBER
        assert answered["customer"]["id"] == customer_id
        assert answered["customer"]["name"] == "北京华通汽车服务有限公司"
        # a call the agent dialled is in no queue: the bridge refuses to transfer it
        # (its first channel is the agent's own phone, not the customer's)
        refused = _post_as(stack, desk, "/desk/transfer",
                           {"call_id": answered["call_id"], "queue": "repairs"})
        assert refused.status_code == 409, refused.text
        assert "call you dialled" in refused.json()["error"]
        ended = agent1.wait_for("call.ended", lambda d: d["call_id"] == answered["call_id"],
                                timeout=20)
        assert ended["direction"] == "outbound" and ended["reason"] == "hangup"
        assert ended["customer"]["id"] == customer_id
        assert TALK_S - 0.5 <= ended["talk_s"] <= TALK_S + 1.5
        # never rang the desk: the agent's own phone rang first, that was the dial
        assert not agent1.of("call.ringing", "call.dismissed")

        # a busy number: the call log has it, the desk gets nothing
        response = _post_as(stack, desk, "/desk/dial", {"number": BUSY_NUMBER})
        assert response.status_code == 200, response.text
        wait_until(lambda: _idle(sim), 30, what="the busy click-to-dial to end")
        rows = wait_until(lambda: _finished(engine, 2), 15, what="two finished rows")
        busy = next(r for r in rows if r.caller_number == BUSY_NUMBER)
        assert _calls_of(agent1, busy.call_id) == []
        for name in ("agent2", "sup_support"):
            assert _calls_of(inboxes[name], answered["call_id"]) == [], name
            assert not inboxes[name].of("call.ringing", "call.answered", "call.ended"), name
    finally:
        for inbox in inboxes.values():
            inbox.close()

    # the wrap-up from the desk's form, as the desk posts it, is the dialling agent's
    call_id = answered["call_id"]
    denied = requests.post(f"{stack.base}/api/v1/calls/{call_id}/wrapup", timeout=WAIT_S,
                           json={"disposition": "resolved", "notes": "x"},
                           headers={"Authorization": f"Bearer {stack.tokens['agent2']}"})
    assert denied.status_code in (403, 404), denied.text
    saved = requests.post(f"{stack.base}/api/v1/calls/{call_id}/wrapup", timeout=WAIT_S,
                          json={"disposition": "callback", "notes": "回电：周三"},
                          headers={"Authorization": f"Bearer {stack.tokens['agent1']}"})
    assert saved.status_code == 200, saved.text
    with Session(engine) as session:
        row = session.scalar(select(CallRecord).where(CallRecord.call_id == call_id))
        assert row.direction == Direction.OUTBOUND
        assert (row.disposition, row.wrapup_notes, row.wrapup_by_id) == (
            "callback", "回电：周三", stack.ids["agent1"])


@pytest.fixture
def dialling_with_acw(sqlite_stack, redis_conn):
    """agent1 alone in "support", a trunk that answers NUMBER, a bridge with after-call
    work on."""
    stack = sqlite_stack
    settings = replace(stack.settings, acw_seconds=30, acw_default_after_s=600)
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        admin = session.get(User, stack.ids["admin"])
        create_customer(session, admin, {"name": "客户甲", "phones": [NUMBER]}, region="CN")
        session.commit()
    config = SimulatorConfig(
        ami_port=0, rate=0, seed=43, agents=5, queues=parse_queues("support:ringall=1-1", 5),
        answer_delay=(0.3, 0.5), talk_time=(1.0, 1.0), no_answer_prob=0.0,
        abandon_prob=0.0, caller_hangup_prob=0.0, transfer_prob=0.0,
        callee_outcomes={NUMBER: "answer"})
    with ThreadedSimulator(config) as sim:
        bridge = BridgeThread(settings, sim.ami_port).start()
        try:
            assert bridge.leader.wait(15)
            wait_until(lambda: agent_state(redis_conn, AGENT1), 15, what="the first resync")
            yield stack, sim, engine
        finally:
            bridge.stop()
            engine.dispose()


def test_after_an_outbound_call_the_agent_is_paused_for_the_wrap_up(dialling_with_acw,
                                                                     redis_conn):
    stack, sim, engine = dialling_with_acw
    desk = _desk_session(stack, "agent1")
    response = _post_as(stack, desk, "/desk/dial", {"number": NUMBER})
    assert response.status_code == 200, response.text
    wait_until(lambda: member(sim, "support", AGENT1) == (True, "wrap-up"), 30,
               what="the PBX pausing agent1 for the outbound call's wrap-up")
    rows = wait_until(lambda: _finished(engine, 1), 15, what="the call's row")
    assert redis_conn.get(CURRENT_KEY.format(stack.ids["agent1"])).decode() == \
        rows[0].call_id
    saved = requests.post(f"{stack.base}/api/v1/calls/{rows[0].call_id}/wrapup",
                          timeout=WAIT_S, json={"disposition": "resolved", "notes": ""},
                          headers={"Authorization": f"Bearer {stack.tokens['agent1']}"})
    assert saved.status_code == 200, saved.text
