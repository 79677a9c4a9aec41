"""CallTracker on live simulator traffic (real sockets) against the simulator's queue_log.

Two queues (ringall and rrmemory), many transfers and abandons, a few seconds of
traffic: every call finishes once, agrees with queue_log, and nobody is left ringing.
"""

from __future__ import annotations

import os
import time

import pytest
from simulator_support import FastAgiRecorder
from test_callstate_support import (
    AmiRecorder,
    check_against_queue_log,
    check_ring_pairs,
    feed_all,
    finished,
    member_names,
    read_queue_log,
)

from telephony.callstate import (
    AVAILABLE,
    LOGGED_OUT,
    TRANSFERRED,
    CallEnded,
    CallRinging,
    CallTracker,
)
from telephony.simulator import SimulatorConfig, ThreadedSimulator, parse_queues

DEFAULT_SEED = 4242
SEED = int(os.environ.get("CALLSTATE_SIM_SEED", DEFAULT_SEED))


def idle(sim) -> bool:
    """Traffic generation over and every call finished (``wait_done`` with a short
    timeout would cancel the simulator's tasks)."""
    arrivals = sim._arrivals
    return (arrivals is None or arrivals.done()) and sim.calls_finished == sim.calls_started


def sim_config(queue_log: str, agi_port: int, **overrides) -> SimulatorConfig:
    queues = parse_queues("support:ringall=1-3;repairs:rrmemory=4-6", 6,
                          timeout=1.5, retry=0.2, wrapuptime=0.3)
    settings = dict(
        ami_port=0, rate=6.0, seed=SEED, duration=3.0, queues=queues,
        talk_time=(0.4, 1.5), answer_delay=(0.05, 0.6), no_answer_prob=0.2,
        abandon_prob=0.4, patience=(0.2, 2.0), queue_timeout=5.0, transfer_prob=0.6,
        caller_hangup_prob=0.3, hostile_share=0.5, agi_host="127.0.0.1", agi_port=agi_port,
        queue_log=queue_log)
    settings.update(overrides)
    return SimulatorConfig(**settings)


@pytest.fixture(scope="module")
def traffic(tmp_path_factory):
    agi = FastAgiRecorder()
    path = tmp_path_factory.mktemp("callstate") / "queue_log"
    try:
        with ThreadedSimulator(sim_config(str(path), agi.port)) as sim:
            recorder = AmiRecorder(sim.ami_port)
            try:
                frames = []
                redirected = []
                for frame, read_at in recorder.frames(3.3):
                    frames.append((frame, read_at))
                    if frame.get("Event") == "AgentConnect" and len(redirected) < 3:
                        # an AMI Redirect of the connected caller out of the bridge to a
                        # number outside the queues: outcome transferred
                        redirected.append(frame["Linkedid"])
                        recorder.send(Action="Redirect", ActionID=f"redirect-{len(redirected)}",
                                      Channel=frame["Channel"], Context="outside", Exten="100",
                                      Priority="1")
                deadline = time.monotonic() + 60
                while not sim.call(idle):  # keep reading: read_at is when a frame is read
                    frames += recorder.frames(0.2)
                    assert time.monotonic() < deadline, "simulated calls did not finish"
                frames += list(recorder.frames(0.5))
                started = sim.sim.calls_started
            finally:
                recorder.close()
    finally:
        agi.close()
    return {"frames": frames, "queue_log": path, "calls": started, "redirected": redirected}


def test_every_call_finishes_once_and_agrees_with_queue_log(traffic):
    tracker = CallTracker(wrapup_s=0.3)
    effects = feed_all(tracker, traffic["frames"])
    done = finished(effects)
    assert len(done) == traffic["calls"] and not tracker.calls()
    log = read_queue_log(traffic["queue_log"])
    checked = check_against_queue_log(done, log, member_names(traffic["frames"]))
    assert checked == len(log) > 5
    check_ring_pairs(effects)
    outcomes = {f.summary.outcome for f in done.values()}
    assert {"answered", "transferred"} <= outcomes, outcomes
    assert ("abandoned" in outcomes) == any(t.outcome == "abandoned" for t in log.values())
    if SEED == DEFAULT_SEED:  # other seeds explore; this one is known to have them all
        # a transfer into the other queue answered there: two agents, outcome answered
        assert any(len(f.summary.agents) == 2 and f.summary.outcome == "answered"
                   for f in done.values())
        assert "abandoned" in outcomes
    transfers = [e for e in effects if isinstance(e, CallEnded) and e.reason == TRANSFERRED]
    assert transfers
    for call_id in traffic["redirected"]:
        assert done[call_id].summary.outcome == "transferred", done[call_id]
    assert sum(isinstance(e, CallRinging) for e in effects) == sum(
        f.get("Event") == "AgentCalled" for f, _ in traffic["frames"])
    assert tracker.stats.get("errors", 0) == 0


def test_agents_settle_and_queues_empty(traffic):
    tracker = CallTracker(wrapup_s=0.3)
    feed_all(tracker, traffic["frames"])
    last = traffic["frames"][-1][1]
    tracker.tick(last + 5)
    states = {a.interface: a.state for a in tracker.agents().values()}
    assert states and set(states.values()) <= {AVAILABLE, LOGGED_OUT}, states
    assert all(not q.waiting for q in tracker.queues().values())
    assert set(tracker.queues()) == {"support", "repairs"}
    by_queue = {name: set(view.members) for name, view in tracker.queues().items()}
    assert by_queue["support"] <= {f"Local/agent{n}@agents/n" for n in (1, 2, 3)}
    assert by_queue["repairs"] <= {f"Local/agent{n}@agents/n" for n in (4, 5, 6)}


def test_customer_id_from_the_fastagi_lookup(traffic):
    tracker = CallTracker()
    done = finished(feed_all(tracker, traffic["frames"]))
    assert {f.summary.customer_id for f in done.values()} == {42}
