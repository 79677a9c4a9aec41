"""Nothing is lost when the bridge or Redis dies: a real Asterisk 22, a real bridge.

Each test starts its own Asterisk (tests/live_pbx.py, the deployed dialplan and
queues: support ringall agent1-3, repairs rrmemory agent4-5, agents that ring 1-5 s and
talk 3-12 s), its own Redis and ``python -m callcenter bridge``, places calls by AMI
Originate and, once every call has ended, holds the call log, the agents' pops and the
wallboard to Asterisk's queue_log, call by call (tests/faults/live_oracle.py):

* baseline: no fault;
* the bridge SIGKILLed while 20 or so calls are up, restarted 13 s later (calls begin
  and end while it is away);
* Redis stopped for 15 s while calls run, then started again (with its AOF);
* the AMI link cut (tests/tcp_proxy.py) and refused for 10 s.

After a fault the checks must hold within 30 s of the recovery (or 10 s after the last
call ended, whichever is later). Each test prints one JSON line of counters.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
from live_oracle import Counters, PlannedCall, Timeline, in_window, plan_calls
from live_pbx import Caller
from queue_log import call_times, parse
from tcp_proxy import TcpProxy

pytestmark = pytest.mark.live_pbx

#: When the fault starts, and the load around it: a burst, then short calls meanwhile.
FAULT_AT_S = 7.5
BURST = 24
RECOVER_WITHIN_S = 30.0
IDLE_TIMEOUT_S = 90.0


def burst_and_outage_calls(seed: int, outage_s: float) -> list[PlannedCall]:
    """``BURST`` calls over the first 7 s (so about 20 are up at the fault), then calls
    with 3-6 s of patience during the outage: they begin and end while it lasts."""
    during = max(2, int(outage_s / 2))
    return (plan_calls(BURST, start=0.0, spread_s=7.0, seed=seed)
            + plan_calls(during, start=FAULT_AT_S + 1.0, spread_s=outage_s - 8.0,
                         seed=seed + 1, patience=(3, 6), impatient=0.0, first=BURST))


def finish(rig, counters: Counters, caller: Caller, started: float,
           recovered: float | None = None) -> None:
    """Waits for the PBX to go idle, then for the checks to hold; fails listing each
    disagreement."""
    counters.calls_made = caller.made
    caller.close()
    assert not caller.failed, f"originates refused: {caller.failed}"
    assert rig.pbx.wait_idle(IDLE_TIMEOUT_S), "calls still up on the PBX"
    until = time.monotonic() + 10.0
    if recovered is not None:
        until = max(until, recovered + RECOVER_WITHIN_S)
    problems = rig.settle(counters, until)
    counters.wrong = len(problems)
    counters.extra["outcomes"] = outcomes(rig.pbx.queue_log)
    counters.duration_s = round(time.monotonic() - started, 1)
    counters.publish()
    assert counters.calls_checked >= counters.calls_made, \
        f"queue_log has {counters.calls_checked} calls for {counters.calls_made} placed"
    if problems:
        pytest.fail(f"{counters.test}: {len(problems)} disagreement(s) with the PBX's "
                    f"queue_log ({counters.calls_checked} calls checked; logs in "
                    f"{rig.tmp}):\n  " + "\n  ".join(problems), pytrace=False)


def outcomes(queue_log) -> dict[str, int]:
    """How the calls ended, by queue_log (the mix the test exercised)."""
    times = call_times(parse(queue_log.read_text().splitlines()).records)
    return dict(Counter(t.outcome for t in times.values()))


def outage(rig, counters: Counters, start_epoch: float, end_epoch: float) -> None:
    counters.outage_s = round(end_epoch - start_epoch, 1)
    during = in_window(rig.pbx.queue_log, start_epoch, end_epoch)
    counters.calls_in_outage = len(during)


def test_baseline_the_call_log_pops_and_wallboard_agree_with_queue_log(rig):
    counters = Counters("baseline")
    started = time.monotonic()
    bridge = rig.start_bridge()
    rig.wait_bridge(bridge, time.time() - 1)
    caller = Caller(rig.pbx)
    Timeline(caller).calls(plan_calls(16, start=0.0, spread_s=14.0, seed=901)).run()
    finish(rig, counters, caller, started)


def test_bridge_killed_mid_traffic_and_restarted_loses_nothing(rig):
    counters = Counters("bridge_sigkill")
    started = time.monotonic()
    outage_s = 13.0
    bridge = rig.start_bridge()
    rig.wait_bridge(bridge, time.time() - 1)
    caller = Caller(rig.pbx)
    marks: dict[str, float] = {}

    def kill() -> None:
        counters.calls_up_at_fault = rig.pbx.calls_up()
        marks["down"] = time.time()
        bridge.kill()
        counters.kills += 1
        counters.outages += 1

    def restart() -> None:
        marks["up"] = time.time()
        marks["recovered"] = time.monotonic()
        rig.start_bridge()

    (Timeline(caller).calls(burst_and_outage_calls(911, outage_s))
     .at(FAULT_AT_S, kill).at(FAULT_AT_S + outage_s, restart).run())
    rig.wait_bridge(rig.bridges[-1], marks["up"])
    outage(rig, counters, marks["down"], marks["up"])
    finish(rig, counters, caller, started, marks["recovered"])


def test_redis_down_for_15_s_mid_traffic_loses_nothing(rig):
    counters = Counters("redis_outage")
    started = time.monotonic()
    outage_s = 15.0
    bridge = rig.start_bridge()
    rig.wait_bridge(bridge, time.time() - 1)
    caller = Caller(rig.pbx)
    marks: dict[str, float] = {}

    def stop_redis() -> None:
        counters.calls_up_at_fault = rig.pbx.calls_up()
        marks["down"] = time.time()
        rig.redis_server.stop()
        counters.outages += 1

    def start_redis() -> None:
        rig.redis_server.restart()
        marks["up"] = time.time()
        marks["recovered"] = time.monotonic()

    (Timeline(caller).calls(burst_and_outage_calls(921, outage_s))
     .at(FAULT_AT_S, stop_redis).at(FAULT_AT_S + outage_s, start_redis).run())
    rig.wait_bridge(bridge, marks["up"], timeout=40)
    outage(rig, counters, marks["down"], marks["up"])
    finish(rig, counters, caller, started, marks["recovered"])


def test_ami_link_cut_for_10_s_mid_traffic_loses_nothing(rig):
    counters = Counters("ami_cut")
    started = time.monotonic()
    outage_s = 10.0
    with TcpProxy(rig.pbx.ami_port) as proxy:
        bridge = rig.start_bridge(ami_port=proxy.port)
        rig.wait_bridge(bridge, time.time() - 1)
        caller = Caller(rig.pbx)
        marks: dict[str, float] = {}

        def cut() -> None:
            counters.calls_up_at_fault = rig.pbx.calls_up()
            marks["down"] = time.time()
            proxy.pause(accept=False)
            counters.extra["links_cut"] = proxy.cut()
            counters.outages += 1

        def reconnect() -> None:
            proxy.resume()
            marks["up"] = time.time()
            marks["recovered"] = time.monotonic()

        (Timeline(caller).calls(burst_and_outage_calls(931, outage_s))
         .at(FAULT_AT_S, cut).at(FAULT_AT_S + outage_s, reconnect).run())
        rig.wait_bridge(bridge, marks["up"])
        counters.extra["reconnects_refused"] = proxy.refused
        outage(rig, counters, marks["down"], marks["up"])
        finish(rig, counters, caller, started, marks["recovered"])


def test_database_connections_killed_mid_traffic_lose_nothing(rig):
    """Every backend of the test's database terminated five times, 2 s apart, while
    calls ring, connect and end: the bridge's writes and lookups retry on fresh
    connections, and nothing is lost or doubled."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    counters = Counters("db_connections_killed")
    started = time.monotonic()
    bridge = rig.start_bridge()
    rig.wait_bridge(bridge, time.time() - 1)
    caller = Caller(rig.pbx)
    database = make_url(rig.database_url).database
    killed: list[int] = []

    def kill_backends() -> None:
        if not killed:
            counters.calls_up_at_fault = rig.pbx.calls_up()
        with rig.engine.connect() as conn:
            killed.append(conn.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = :db AND pid <> pg_backend_pid()"), {"db": database}).scalar())
        counters.outages += 1

    timeline = Timeline(caller).calls(plan_calls(BURST, start=0.0, spread_s=12.0, seed=941))
    for n in range(5):
        timeline.at(FAULT_AT_S - 3 + 2 * n, kill_backends)
    timeline.run()
    counters.extra["backends_killed"] = sum(killed)
    assert sum(killed) >= 5, f"the bridge held no connections to kill: {killed}"
    finish(rig, counters, caller, started, time.monotonic())
