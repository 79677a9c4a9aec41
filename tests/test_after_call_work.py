"""After-call work (issue 12), end to end over real sockets: the PBX simulator, the
bridge, Redis and RQ. When an agent's call ends the bridge pauses them in the PBX with
the reason ``wrap-up`` (the simulator's own member state says so), the live state and
the wallboard show them in wrap-up, and the end is scheduled; saving the wrap-up, or
the time running out, makes them available again, but never undoes a pause the agent
chose meanwhile. A call nobody wraps up gets the default disposition, once, without
overwriting a wrap-up saved at the same moment."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
import requests
from rq import SimpleWorker
from sqlalchemy.orm import Session
from stack import WAIT_S, BridgeThread, interface_of, wait_until
from test_bridge_commands import _desk_session, agent_state, member
from test_bridge_standby import place_call

from callcenter.calls.models import CallRecord
from callcenter.calls.services import apply_default_wrapup, save_wrapup
from callcenter.db import make_engine
from callcenter.desk.acw import CURRENT_KEY, end_after_call_work
from callcenter.jobs import fetch_job, get_queue
from callcenter.users.models import User
from telephony.simulator import SimulatorConfig, ThreadedSimulator, parse_queues

AGENT1 = interface_of(1)


@pytest.fixture
def acw(sqlite_stack, redis_conn, monkeypatch):
    """Simulator with agent1 alone in "support", a bridge with after-call work on, and the
    environment a job run reads its settings from pointing at this stack."""
    stack = sqlite_stack
    settings = replace(stack.settings, acw_seconds=30, acw_default_after_s=600)
    for name, value in {"DATABASE_URL": settings.database_url,
                        "REDIS_URL": settings.redis_url,
                        "CALLCENTER_INSTANCE": str(settings.instance_path),
                        "SECRET_KEY": "stack-test-secret-key", "ACW_SECONDS": "30",
                        "TIMEZONE": "Asia/Shanghai"}.items():
        monkeypatch.setenv(name, value)
    config = SimulatorConfig(ami_port=0, rate=0, seed=7, agents=5, queues=parse_queues(
        "support:ringall=1-1", 5, timeout=5.0, retry=0.3))
    with ThreadedSimulator(config) as sim:
        bridge = BridgeThread(settings, sim.ami_port).start()
        try:
            assert bridge.leader.wait(5)
            wait_until(lambda: agent_state(redis_conn, AGENT1), 10, what="the first resync")
            engine = make_engine(settings.database_url)
            yield stack, sim, engine
            engine.dispose()
        finally:
            bridge.stop()


def _run_jobs(redis_conn) -> None:
    SimpleWorker([get_queue("default", connection=redis_conn)],
                 connection=redis_conn).work(burst=True)


def _call_ends_in_wrap_up(stack, sim, redis_conn) -> str:
    call_id = place_call(sim, talk_s=0.3)
    wait_until(lambda: member(sim, "support", AGENT1) == (True, "wrap-up"), WAIT_S,
               what="the PBX pausing agent1 for the wrap-up")
    # (first the queue's own short wrapuptime, then the pause for the wrap-up)
    wait_until(lambda: (agent_state(redis_conn, AGENT1)["state"],
                        agent_state(redis_conn, AGENT1)["reason"]) == ("wrap_up", "wrap-up"),
               WAIT_S, what="the live state showing the wrap-up")
    return call_id


def test_saving_the_wrap_up_ends_the_pause(acw, redis_conn):
    stack, sim, engine = acw
    call_id = _call_ends_in_wrap_up(stack, sim, redis_conn)
    slug = call_id.replace(".", "_")
    user_id = stack.ids["agent1"]
    for job_id in (f"acw-end-{user_id}-{slug}", f"acw-default-{slug}"):
        job = fetch_job(job_id, connection=redis_conn)
        assert job is not None and job.get_status() == "scheduled", job_id
    assert redis_conn.get(CURRENT_KEY.format(user_id)).decode() == call_id
    # the wallboard's API shows it too
    board = stack.api("/api/v1/wallboard", "sup_support").json()
    assert {a["interface"]: a["state"] for a in board["agents"]}[AGENT1] == "wrap_up"

    wait_until(lambda: _logged(engine, call_id), WAIT_S, what="the call in the call log")
    r = requests.post(f"{stack.base}/api/v1/calls/{call_id}/wrapup", timeout=WAIT_S,
                      json={"disposition": "resolved", "notes": "ok"},
                      headers={"Authorization": f"Bearer {stack.tokens['agent1']}"})
    assert r.status_code == 200, r.text
    _run_jobs(redis_conn)
    wait_until(lambda: member(sim, "support", AGENT1) == (False, ""), WAIT_S,
               what="agent1 available again")
    wait_until(lambda: agent_state(redis_conn, AGENT1)["state"] == "available", WAIT_S)
    assert redis_conn.get(CURRENT_KEY.format(user_id)) is None
    # the timer's job, when it comes, finds nothing to end
    with Session(engine) as session:
        user = session.get(User, user_id)
        assert end_after_call_work(session, redis_conn, user, call_id) == "not_in_wrap_up"
    assert member(sim, "support", AGENT1) == (False, "")


def test_a_pause_the_agent_chose_meanwhile_stays(acw, redis_conn):
    stack, sim, engine = acw
    call_id = _call_ends_in_wrap_up(stack, sim, redis_conn)
    http, csrf = _desk_session(stack, "agent1")
    r = http.post(stack.base + "/desk/status", json={"status": "paused", "reason": "lunch"},
                  headers={"X-CSRFToken": csrf}, timeout=WAIT_S)
    assert r.status_code == 200, r.text
    wait_until(lambda: member(sim, "support", AGENT1) == (True, "lunch"), WAIT_S)
    wait_until(lambda: agent_state(redis_conn, AGENT1)["reason"] == "lunch", WAIT_S)
    with Session(engine) as session:
        user = session.get(User, stack.ids["agent1"])
        assert end_after_call_work(session, redis_conn, user, call_id) == "not_in_wrap_up"
        session.commit()
    time.sleep(0.3)
    assert member(sim, "support", AGENT1) == (True, "lunch")


def test_the_time_running_out_ends_the_pause(acw, redis_conn):
    stack, sim, engine = acw
    call_id = _call_ends_in_wrap_up(stack, sim, redis_conn)
    with Session(engine) as session:
        user = session.get(User, stack.ids["agent1"])
        # a newer call's wrap-up is not ended by the older call's timer
        redis_conn.set(CURRENT_KEY.format(user.id), "9999.1")
        assert end_after_call_work(session, redis_conn, user, call_id) == "newer_call"
        assert member(sim, "support", AGENT1) == (True, "wrap-up")
        redis_conn.set(CURRENT_KEY.format(user.id), call_id)
        assert end_after_call_work(session, redis_conn, user, call_id) == "ended"
        session.commit()
    wait_until(lambda: member(sim, "support", AGENT1) == (False, ""), WAIT_S)


def _logged(engine, call_id: str) -> bool:
    with Session(engine) as session:
        return session.query(CallRecord).filter_by(call_id=call_id).count() == 1


def test_the_default_wrap_up_never_overwrites_a_saved_one(session, make_user):
    from datetime import UTC, datetime
    agent = make_user("agent", username="agentx", interface="Local/agentx@agents/n")
    t0 = datetime(2026, 12, 1, 9, tzinfo=UTC)
    for call_id in ("1.1", "1.2"):
        session.add(CallRecord(call_id=call_id, caller_number="13812345678",
                               outcome="answered", agent_id=agent.id, started_at=t0,
                               answered_at=t0, ended_at=t0, agent_interface=agent.interface))
    session.flush()
    save_wrapup(session, agent, "1.1", "callback", "call back at 3", access_window_h=10**6)
    assert apply_default_wrapup(session, "1.1", "other") is False
    assert apply_default_wrapup(session, "1.2", "other") is True
    assert apply_default_wrapup(session, "1.2", "resolved") is False   # once
    session.expire_all()
    saved = session.get(CallRecord, session.query(CallRecord.id).filter_by(call_id="1.1")
                        .scalar())
    auto = session.query(CallRecord).filter_by(call_id="1.2").one()
    assert (saved.disposition, saved.wrapup_notes, saved.wrapup_by_id) == (
        "callback", "call back at 3", agent.id)
    assert (auto.disposition, auto.wrapup_by_id) == ("other", None)
    with pytest.raises(ValueError):
        apply_default_wrapup(session, "1.2", "bogus")
