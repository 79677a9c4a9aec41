"""More than one web process: two `callcenter serve` processes, one bridge, one PBX.

Both servers are real processes (gunicorn) on one PostgreSQL database and one Redis;
the bridge (``run_bridge``) tracks the PBX simulator and publishes once, through the
Redis message queue. Whichever process an agent or a supervisor is connected to, they
get what is meant for them: agent1 sits on one process and agent2 on the other, and
every call rings both; each supervisor sits on the process the other agent is not on.
"""

from __future__ import annotations

import pytest
from serve_support import ServeProcess, serve_env
from simulator_support import originate_inbound
from stack import BridgeThread, Inbox, Stack, interface_of, seed, wait_until

from callcenter.config import load_settings
from callcenter.realtime.live import QUEUES_KEY
from telephony.simulator import SimulatorConfig, ThreadedSimulator, parse_queues

CALLS = 4
CALL_WAIT_S = 30.0


@pytest.fixture
def two_servers(fresh_database, redis_url, redis_conn, tmp_path):
    url, (ids, tokens) = fresh_database.seeded("postgresql", seed)
    instance = tmp_path / "instance"
    instance.mkdir()
    env = serve_env(url, redis_url, instance)
    servers = [ServeProcess(env, tmp_path / f"serve-{n}.log") for n in (1, 2)]
    try:
        for server in servers:
            server.wait_ready()
        settings = load_settings({**{k: env[k] for k in ("DATABASE_URL", "REDIS_URL",
                                                          "CALLCENTER_INSTANCE",
                                                          "SECRET_KEY", "TIMEZONE")},
                                  "ACW_SECONDS": "0"})   # every next call rings agent1
        yield [Stack(server.base, settings, ids, tokens) for server in servers]
    finally:
        for server in servers:
            server.kill()


@pytest.fixture
def pbx(two_servers, redis_conn):
    """support rings agents 1-3 at once; every call is answered within 1-1.5 s and lasts
    about a second; no wrap-up time, so every next call rings agent1 and agent2 again."""
    config = SimulatorConfig(
        ami_port=0, rate=0, seed=7, agents=5,
        queues=parse_queues("support:ringall=1-3;repairs:ringall=4-5", 5, wrapuptime=0.0),
        answer_delay=(1.0, 1.5), talk_time=(0.5, 1.0), no_answer_prob=0.0,
        abandon_prob=0.0, caller_hangup_prob=0.0, transfer_prob=0.0)
    with ThreadedSimulator(config) as sim:
        bridge = BridgeThread(two_servers[0].settings, sim.ami_port).start()
        try:
            assert bridge.leader.wait(15), "the bridge did not become leader"
            wait_until(lambda: redis_conn.hexists(QUEUES_KEY, "support"), 15,
                       what="the bridge's first resync")
            yield sim
        finally:
            bridge.stop()


def _finished(inbox: Inbox, call_id: str) -> bool:
    return any(d.get("call_id") == call_id for d in inbox.of("call.ended", "call.dismissed"))


def test_agents_and_supervisors_on_either_process_get_their_events(two_servers, pbx):
    one, two = two_servers
    agent1, agent2 = Inbox.connect(one, "agent1"), Inbox.connect(two, "agent2")
    # Each supervisor on the process the agent they watch is not on.
    supervisor = Inbox.connect(two, "sup_support")  # watches agent1 (process one)
    admin = Inbox.connect(one, "admin")  # watches agent2 (process two)
    inboxes = (agent1, agent2, supervisor, admin)
    try:
        for inbox in inboxes:
            inbox.wait_for("calls.snapshot")
        marks = {id(inbox): inbox.mark() for inbox in inboxes}
        calls = []
        for n in range(CALLS):
            mark1, mark2 = agent1.mark(), agent2.mark()
            originate_inbound(pbx.ami_port, f'"Caller {n}" <1381234560{n}>')
            call_id = agent1.wait_for("call.ringing", timeout=CALL_WAIT_S,
                                      after=mark1)["call_id"]
            agent2.wait_for("call.ringing", lambda d, c=call_id: d["call_id"] == c,
                            timeout=CALL_WAIT_S, after=mark2)
            calls.append(call_id)
            # One of agents 1-3 answers; the next call must find agent1 and agent2 free.
            wait_until(lambda c=call_id: _finished(agent1, c) and _finished(agent2, c),
                       CALL_WAIT_S, what=f"call {call_id} ended for both agents")

        # Every pop, once, on both processes: nothing lost, nothing doubled.
        for inbox in (agent1, agent2):
            rung = [d["call_id"] for d in inbox.of("call.ringing")]
            assert sorted(rung) == sorted(calls), rung
            seqs = [d["seq"] for e, d in inbox.events if e.startswith("call.")]
            assert len(seqs) == len(set(seqs))

        # The wallboards moved: the queue's figures, and the other process's agent.
        def agent_states(inbox: Inbox, interface: str) -> set[str]:
            return {d["state"] for e, d in inbox.events[marks[id(inbox)]:]
                    if e == "agent.update" and d["interface"] == interface}

        for inbox, interface in ((supervisor, interface_of(1)), (admin, interface_of(2))):
            wait_until(lambda i=inbox, f=interface: {"ringing", "available"}
                       <= agent_states(i, f), what=f"agent.update of {interface}")
            inbox.wait_for("queue.update",
                           lambda d: d["queue"] == "support" and d["offered"] >= CALLS,
                           timeout=CALL_WAIT_S, after=marks[id(inbox)])
    finally:
        for inbox in inboxes:
            inbox.close()
