"""One active bridge per PBX: a standby waits, takes over when the leader dies, and a
leader that lost its lock (taken by another, or a stall past the TTL) stops bridging at
once and waits as a standby.

Two ``run_bridge`` threads share one Redis and one PBX simulator; the leader lock has a
two-second TTL. Calls are placed one at a time in the simulator (no random traffic) so
the test knows which bridge should have seen them.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest
from stack import BridgeThread, Inbox, wait_until
from test_bridge import all_calls
from test_bridge_reconnect import RecordingBridge

from callcenter.bridge import main as bridge_main
from callcenter.bridge import service
from callcenter.bridge.leader import LEADER_KEY, LeaderLock
from callcenter.realtime.commands import NOT_ANSWERING, request_pbx_action
from telephony.simulator import SimulatorConfig, ThreadedSimulator, parse_queues

TTL_S = 2.0  # 1 s was too tight on a loaded 2-core CI machine: a standby deposed itself


class RecordingLock(LeaderLock):
    """The real lock, remembered with the thread (the BridgeThread) that made it."""

    made: list[tuple[threading.Thread, LeaderLock]] = []

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        RecordingLock.made.append((threading.current_thread(), self))


@pytest.fixture
def recorded_bridges(monkeypatch):
    """Every Bridge the leaders start, in order (run_bridge makes one per leadership)."""
    RecordingBridge.instances = []
    monkeypatch.setattr(service, "Bridge", RecordingBridge)
    return RecordingBridge.instances


@pytest.fixture
def locks(monkeypatch):
    RecordingLock.made = []
    monkeypatch.setattr(bridge_main, "LeaderLock", RecordingLock)
    return RecordingLock.made


@pytest.fixture
def stack(sqlite_stack):
    # One backend is enough here: this is about Redis and the AMI link, not the database.
    return sqlite_stack


@pytest.fixture
def sim():
    config = SimulatorConfig(
        ami_port=0, rate=0, seed=4242, agents=5,
        queues=parse_queues("support:ringall=1-3;repairs:rrmemory=4-5", 5,
                            timeout=3.0, retry=0.3, wrapuptime=0.5),
        talk_time=(0.6, 1.0), answer_delay=(0.3, 0.6), no_answer_prob=0.0,
        abandon_prob=0.0, transfer_prob=0.0, caller_hangup_prob=0.3)
    with ThreadedSimulator(config) as simulator:
        yield simulator


@pytest.fixture
def bridges(stack):
    started: list[BridgeThread] = []

    def start(**kwargs) -> BridgeThread:
        started.append(BridgeThread(stack.settings, **kwargs).start())
        return started[-1]
    yield start
    for bridge in started:
        if bridge.alive():
            bridge.stop()


@pytest.fixture
def inboxes(stack):
    boxes = {n: Inbox.connect(stack, f"agent{n}") for n in range(1, 6)}
    yield boxes
    for box in boxes.values():
        box.close()


def place_call(sim, talk_s: float | None = None) -> str:
    """One seeded inbound call (talking ``talk_s`` once answered); its Linkedid."""
    async def spawn(pbx_sim):
        pbx_sim._generated_call()
        call = max(pbx_sim.calls, key=lambda c: c.number)
        if talk_s is not None:
            call.talk_time = talk_s  # before its task first runs
        while getattr(call, "one", None) is None:
            await asyncio.sleep(0.005)
        return call.linkedid
    return sim.call(spawn)


def ami_sessions(sim) -> int:
    """Logged-in AMI connections the simulator has right now."""
    return sim.call(lambda s: sum(x.authenticated and not x.closed for x in s.ami.sessions))


def pops_for(inboxes, call_id: str, event: str = "call.ringing") -> list[int]:
    return [n for n, box in inboxes.items()
            if any(d["call_id"] == call_id for d in box.of(event))]


def logged(stack, call_id: str, final: bool = True) -> dict | None:
    for call in all_calls(stack):
        if call["call_id"] == call_id and (not final or call["outcome"] != "in_progress"):
            return call
    return None


def lock_of(locks, bridge: BridgeThread) -> LeaderLock:
    return next(lock for thread, lock in locks if thread is bridge._thread)


def test_one_leader_the_standby_waits_then_takes_over_when_the_leader_dies(
        stack, sim, bridges, inboxes, locks, recorded_bridges, redis_conn):
    first = bridges(ami_port=sim.ami_port, ttl_s=TTL_S)
    assert first.leader.wait(5)
    second = bridges(ami_port=sim.ami_port, ttl_s=TTL_S)
    wait_until(lambda: len(locks) == 2, 5, what="the standby's lock")
    first_lock, second_lock = lock_of(locks, first), lock_of(locks, second)
    wait_until(lambda: ami_sessions(sim) == 1, 5, what="the leader's AMI login")

    # Three TTLs later the standby is still waiting: the leader keeps renewing.
    time.sleep(3 * TTL_S)
    assert not second.leader.is_set()
    assert redis_conn.get(LEADER_KEY).decode() == first_lock.holder != second_lock.holder
    assert ami_sessions(sim) == 1, "the standby must not log in to the PBX"
    assert len(recorded_bridges) == 1, "only the leader runs a Bridge"

    call_id = place_call(sim)
    wait_until(lambda: pops_for(inboxes, call_id), 5, what="the leader's pop")
    wait_until(lambda: logged(stack, call_id), 10, 0.1, what="the leader's call log row")

    # The leader dies without releasing the lock (as a killed process would): the
    # standby takes over once the key lapses, within a TTL and one poll.
    first_lock.release = lambda: None
    first.stop()
    stopped_at = time.monotonic()
    assert second.leader.wait(TTL_S + second_lock.renew_every_s + 1.0), "no takeover"
    took = time.monotonic() - stopped_at
    assert took <= TTL_S + second_lock.renew_every_s + 0.5, took
    assert redis_conn.get(LEADER_KEY).decode() == second_lock.holder
    successor = wait_until(lambda: len(recorded_bridges) == 2 and recorded_bridges[1], 5)
    wait_until(lambda: successor.resyncs >= 1, 5, what="the successor's login and resync")
    assert ami_sessions(sim) == 1

    # The successor bridges: a call made now pops up and reaches the call log.
    after = place_call(sim)
    wait_until(lambda: pops_for(inboxes, after), 5, what="a pop after the takeover")
    answered = wait_until(lambda: pops_for(inboxes, after, "call.answered"), 5)
    # Read the ringing pops only now: a ring-all queue rings three agents, and their pops
    # arrive one by one, so the one who answers may not have had theirs at the first pop.
    assert set(answered) <= set(pops_for(inboxes, after))
    row = wait_until(lambda: logged(stack, after), 10, 0.1, what="the call after takeover")
    assert row["outcome"] == "answered"
    assert row["agent"] == f"agent{answered[0]}"


def test_a_leader_that_lost_its_lock_stops_bridging_and_goes_back_to_standby(
        stack, sim, bridges, inboxes, locks, recorded_bridges, redis_conn, caplog):
    caplog.set_level(logging.INFO, logger="callcenter.bridge.main")
    bridge = bridges(ami_port=sim.ami_port, ttl_s=TTL_S)
    assert bridge.leader.wait(5)
    lock = lock_of(locks, bridge)
    active = wait_until(lambda: recorded_bridges and recorded_bridges[0], 5)
    wait_until(lambda: active.resyncs >= 1 and ami_sessions(sim) == 1, 5)

    # A stall past the TTL, and another bridge took the lock meanwhile.
    redis_conn.set(LEADER_KEY, "another-bridge:1:cafe", px=60_000)
    deposed_at = time.monotonic()
    wait_until(lambda: ami_sessions(sim) == 0, 5, what="the deposed bridge's AMI logoff")
    assert time.monotonic() - deposed_at < 2 * TTL_S, "a deposed bridge stops at once"
    assert not active.ami.connected
    # (the command thread's blocking pop ends within its one-second timeout)
    wait_until(lambda: not active.pop_worker._thread.is_alive()
               and not active.log_worker._thread.is_alive()
               and not active._command_thread.is_alive(), 5,
               what="the deposed bridge's threads to stop")
    wait_until(lambda: any("lost the leader lock" in r.getMessage() for r in caplog.records),
               5, what="the deposed bridge to say so")
    assert bridge.alive(), "a deposed bridge waits as a standby; it does not exit"

    # While it is not the leader it does nothing: no pops, no call log, no commands.
    call_id = place_call(sim, talk_s=4.0)  # still talking when this bridge is back
    result = request_pbx_action(redis_conn, {
        "action": "queue_pause", "interface": "Local/agent1@agents/n", "queue": None,
        "paused": True, "reason": "lunch", "user_id": stack.ids["agent1"]}, timeout=1.0)
    assert result == {"ok": False, "error": NOT_ANSWERING}
    assert not pops_for(inboxes, call_id)
    assert logged(stack, call_id, final=False) is None
    assert len(recorded_bridges) == 1
    assert redis_conn.get(LEADER_KEY) == b"another-bridge:1:cafe", "it must not take it back"
    assert any("standby" in r.getMessage() for r in caplog.records)

    # The other bridge goes away: this one is the leader again and picks up the PBX's
    # state, the call in progress included.
    redis_conn.delete(LEADER_KEY)
    again = wait_until(lambda: len(recorded_bridges) == 2 and recorded_bridges[1], 5,
                       what="a new Bridge after the lock freed")
    wait_until(lambda: again.resyncs >= 1, 5, what="the new Bridge's resync")
    assert redis_conn.get(LEADER_KEY).decode() == lock.holder
    assert ami_sessions(sim) == 1
    agent = wait_until(lambda: pops_for(inboxes, call_id, "call.answered"), 5,
                       what="the resync's pop for the call already connected")
    assert not pops_for(inboxes, call_id), "it was connected: no ringing pop any more"
    row = wait_until(lambda: logged(stack, call_id), 10, 0.1,
                     what="the call made while deposed, adopted by the resync")
    assert row["outcome"] == "answered" and row["agent"] == f"agent{agent[0]}"
    after = place_call(sim)
    wait_until(lambda: pops_for(inboxes, after), 5, what="a pop once leader again")
    wait_until(lambda: logged(stack, after), 10, 0.1, what="its call log row")


def test_a_leader_whose_loop_stalls_past_the_ttl_sends_nothing_when_it_wakes(
        stack, sim, bridges, inboxes, locks, recorded_bridges, redis_conn):
    stalled = bridges(ami_port=sim.ami_port, ttl_s=TTL_S)
    assert stalled.leader.wait(5)
    old = wait_until(lambda: recorded_bridges and recorded_bridges[0], 5)
    wait_until(lambda: old.resyncs >= 1, 5)
    successor = bridges(ami_port=sim.ami_port, ttl_s=TTL_S)
    wait_until(lambda: len(locks) == 2, 5)
    pops_before = old.pops.stats["pops"]
    written_before = old.log_writer.stats["calls_written"]

    # The old leader's event loop hangs (a long GC pause, a blocking call...): its lock
    # lapses, the standby takes over, and a call rings while the old one is frozen; the
    # PBX keeps writing that call's events to the frozen bridge's socket too.
    stall_s = TTL_S + 3.5
    stalled._loop.call_soon_threadsafe(time.sleep, stall_s)
    stalled_at = time.monotonic()
    assert successor.leader.wait(TTL_S + 1.5), "the standby did not take over"
    new = wait_until(lambda: len(recorded_bridges) == 2 and recorded_bridges[1], 5)
    wait_until(lambda: new.resyncs >= 1, 5)
    call_id = place_call(sim)
    wait_until(lambda: pops_for(inboxes, call_id, "call.answered"), 5,
               what="the successor's pops")
    assert time.monotonic() - stalled_at < stall_s, "the stall ended too early to tell"
    wait_until(lambda: logged(stack, call_id), 10, 0.1, what="the successor's row")

    # The frozen bridge wakes up with the call's events buffered: it must drop them and
    # stop (its lock is gone), not pop the call to the agents a second time.
    wait_until(lambda: not old.log_worker._thread.is_alive(), stall_s + 5,
               what="the old leader to stop once awake")
    assert old.pops.stats["pops"] == pops_before, "a stalled ex-leader sent pops"
    assert old.log_writer.stats["calls_written"] == written_before
    for n, box in inboxes.items():
        rings = [d for d in box.of("call.ringing") if d["call_id"] == call_id]
        assert len(rings) <= 1, (n, rings)
    # It is a standby now; the successor keeps the lock and the PBX link.
    assert stalled.alive()
    assert redis_conn.get(LEADER_KEY).decode() == lock_of(locks, successor).holder
    assert len(recorded_bridges) == 2 and ami_sessions(sim) == 1
    after = place_call(sim)
    wait_until(lambda: logged(stack, after), 10, 0.1, what="the successor's next call")
    assert old.pops.stats["pops"] == pops_before
