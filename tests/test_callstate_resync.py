"""CallTracker.resync after a lost AMI connection: nothing lost, duplicated or left ringing.

Three sources of list events: 03_abandon's real QueueStatus + CoreShowChannels (sent
by the capture driver mid-scenario), snapshots rebuilt from the capture streams at
moments mid-call, and the simulator answering the actions over a real socket after a
reconnect.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
from simulator_support import CAPTURES, FastAgiRecorder
from test_callstate_simulator import idle, sim_config
from test_callstate_support import (
    CAPTURE_DIRS,
    LIST_EVENTS,
    AmiRecorder,
    check_against_queue_log,
    check_ring_pairs,
    feed_all,
    finished,
    list_events,
    member_names,
    read_queue_log,
    recorder_conn,
    snapshot_at,
    timed_frames,
)

from telephony.callstate import (
    PAUSED,
    AgentChanged,
    CallAnswered,
    CallDismissed,
    CallEnded,
    CallFinished,
    CallRinging,
    CallTracker,
    CallUpdated,
)
from telephony.simulator import ThreadedSimulator

CALL_EFFECTS = (CallRinging, CallAnswered, CallDismissed, CallEnded, CallFinished)


def touched_between(frames, start: float, end: float) -> set[str]:
    return {f.get("Linkedid") or f.get("DestLinkedid") for f, t in frames if start <= t < end}


def split_and_resync(frames, gap_start: float, at: float, events=None, started_at=None):
    """A tracker that lost the events in [gap_start, at), resynced at ``at``."""
    tracker = CallTracker()
    effects = feed_all(tracker, [(f, t) for f, t in frames if t < gap_start])
    effects += tracker.resync(events if events is not None else snapshot_at(frames, at), at,
                              started_at)
    effects += feed_all(tracker, [(f, t) for f, t in frames if t >= at])
    return tracker, effects


def assert_same_calls(frames, effects, tracker, lost: set[str],
                      unseen: set[str] = frozenset()) -> None:
    """Same calls finished as a tracker that saw everything, except ``unseen`` ones (begun
    and ended while disconnected: no snapshot can show them; queue_log still has them)."""
    reference = finished(feed_all(CallTracker(), frames))
    for call_id in unseen:
        reference.pop(call_id, None)
    done = finished(effects)
    assert done.keys() == reference.keys()
    assert tracker.calls() == []
    check_ring_pairs(effects)
    assert tracker.stats.get("errors", 0) == 0
    for call_id, ref in reference.items():
        got = done[call_id].summary
        if call_id not in lost:
            assert got == ref.summary, call_id
        elif got.outcome != ref.summary.outcome:
            # the call ended unseen: best guess from what was known before the gap
            assert got.outcome in ("answered", "abandoned", "unanswered"), got


@pytest.mark.parametrize("directory", CAPTURE_DIRS, ids=[p.name for p in CAPTURE_DIRS])
def test_consistent_snapshot_changes_nothing(directory):
    """With no event lost, a snapshot at any moment is a no-op for calls."""
    frames = timed_frames(directory)
    times = sorted({t for _, t in frames})
    for at in times[len(times) // 5::max(1, len(times) // 6)]:
        tracker = CallTracker()
        feed_all(tracker, [(f, t) for f, t in frames if t < at])
        before = tracker.calls()
        extra = tracker.resync(snapshot_at(frames, at), at)
        assert not [e for e in extra if isinstance(e, CALL_EFFECTS + (CallUpdated,))], extra
        assert tracker.calls() == before
        rest = feed_all(tracker, [(f, t) for f, t in frames if t >= at])
        assert_same_calls(frames, feed_all(CallTracker(), [(f, t) for f, t in frames
                                                          if t < at]) + extra + rest,
                          tracker, set())


#: The scenarios with calls in them (00_protocol has none to lose events of).
CALL_DIRS = [p for p in CAPTURE_DIRS if b"Event: AgentCalled" in (p / "ami.raw").read_bytes()]


@pytest.mark.parametrize("directory", CALL_DIRS, ids=[p.name for p in CALL_DIRS])
@pytest.mark.parametrize("gap", [1.0, 4.0, 12.0])
def test_lost_events_mid_call(directory, gap):
    frames = timed_frames(directory)
    calls = [t for f, t in frames if f.get("Event") == "AgentCalled"]
    assert calls
    for at in (calls[0] + 0.5, calls[len(calls) // 2] + 0.2, calls[-1] + 0.1):
        tracker, effects = split_and_resync(frames, at - gap, at)
        outside = touched_between(frames, 0, at - gap) | touched_between(frames, at, 1e12)
        lost = touched_between(frames, at - gap, at)
        assert_same_calls(frames, effects, tracker, lost, lost - outside)


def test_real_list_events_of_03_abandon():
    """The driver's own QueueStatus (5 waiting, agents paused 'meeting') and, after two
    AMI Hangups, CoreShowChannels; the tracker lost everything since the first caller."""
    directory = CAPTURES / "03_abandon"
    frames = timed_frames(directory)
    timeline = [json.loads(line)
                for line in (directory / "timeline.jsonl").read_text().splitlines()]
    sent = {c["data"].split("ActionID: ")[1].split("\r\n")[0]: c["t"] for c in timeline
            if c["conn"] == "drv" and c["dir"] == "out" and "ActionID: " in c["data"]}
    rec = recorder_conn(directory)
    assert rec == "rec"
    events = list_events(directory, "drv-11") + list_events(directory, "drv-14")
    assert sum(e["Event"] == "QueueEntry" for e in events) == 5
    first_join = next(t for f, t in frames if f.get("Event") == "QueueCallerJoin")
    at = max(c["t"] for c in timeline if c["conn"] == "drv" and "CoreShowChannelsComplete"
             in c["data"])
    tracker = CallTracker()
    effects = feed_all(tracker, [(f, t) for f, t in frames if t < first_join - 0.5])
    # events read between sending QueueStatus and the last list event are fed normally
    effects += feed_all(tracker, [(f, t) for f, t in frames if sent["drv-11"] <= t < at])
    resynced = tracker.resync(events, at, started_at=sent["drv-11"])
    effects += resynced
    assert {a.state for a in tracker.agents().values()} == {PAUSED}
    assert {a.reason for a in tracker.agents().values()} == {"meeting"}
    assert not [e for e in resynced if isinstance(e, AgentChanged)]  # known before
    waiting = tracker.queues()["support"].waiting
    assert 3 <= len(waiting) <= 5  # two were hung up by the driver meanwhile
    effects += feed_all(tracker, [(f, t) for f, t in frames if t >= at])
    lost = touched_between(frames, first_join - 0.5, sent["drv-11"])
    done = finished(effects)
    assert len(done) == 6 and tracker.calls() == []
    check_ring_pairs(effects)
    log = read_queue_log(directory / "queue_log")
    assert {f.summary.outcome for f in done.values()} == {"abandoned", "answered",
                                                          "unanswered"}
    answered = [f.summary for f in done.values() if f.summary.outcome == "answered"]
    assert [a.agents for a in answered] == [["Local/agent1@agents/n"]]
    assert answered[0].talk_s == log[answered[0].queue_uniqueid].talk_s
    assert lost  # the test did lose events


# -- a real reconnect to the simulator ---------------------------------------------------
@pytest.fixture(scope="module")
def reconnect(tmp_path_factory):
    """The bridge's connection reads 1.5 s of traffic, drops for 1.2 s, reconnects,
    sends QueueStatus + CoreShowChannels, feeds events as they come and resyncs when the
    lists are complete. A second connection records everything for reference."""
    agi = FastAgiRecorder()
    path = tmp_path_factory.mktemp("resync") / "queue_log"
    config = sim_config(str(path), agi.port, duration=4.0, rate=5.0)
    tracker = CallTracker(wrapup_s=0.3)
    effects: list = []
    frames: list = []
    stop = threading.Event()

    def feed(items) -> None:
        for frame, read_at in items:
            effects.extend(tracker.feed(frame, read_at))
    try:
        with ThreadedSimulator(config) as sim:
            full = AmiRecorder(sim.ami_port)

            def record() -> None:
                while not stop.is_set():
                    frames.extend(full.frames(0.2))
            thread = threading.Thread(target=record, daemon=True)
            thread.start()
            first = AmiRecorder(sim.ami_port)
            feed(first.pending)
            feed(first.frames(1.5))
            first.close()
            offline = time.time()
            time.sleep(1.2)  # offline: whatever happens now is lost for `tracker`
            second = AmiRecorder(sim.ami_port)
            online = time.time()
            feed(second.pending)
            second.pending.clear()
            started = time.time()
            second.send(Action="QueueStatus", ActionID="rs-qs")
            second.send(Action="CoreShowChannels", ActionID="rs-cs")
            listed = []
            for frame, read_at in second.frames(10.0):
                if frame.get("ActionID", "").startswith("rs-") and \
                        frame.get("Event") in LIST_EVENTS:
                    listed.append(frame)
                    if frame["Event"] == "CoreShowChannelsComplete":
                        break
                else:
                    effects.extend(tracker.feed(frame, read_at))
            effects.extend(tracker.resync(listed, read_at, started_at=started))
            deadline = time.monotonic() + 60
            while not sim.call(idle):  # keep reading: read_at is when a frame is read
                feed(second.frames(0.2))
                assert time.monotonic() < deadline, "simulated calls did not finish"
            feed(second.frames(0.5))
            stop.set()
            thread.join(5)
            second.close()
            full.close()
    finally:
        agi.close()
    reference = CallTracker(wrapup_s=0.3)
    return {"tracker": tracker, "effects": effects, "reference": reference,
            "ref_effects": feed_all(reference, frames), "frames": frames,
            "queue_log": path, "listed": listed, "offline": (offline, online)}


def test_reconnect_to_simulator_loses_nothing(reconnect):
    tracker, effects = reconnect["tracker"], reconnect["effects"]
    ref = finished(reconnect["ref_effects"])
    log = read_queue_log(reconnect["queue_log"])
    check_against_queue_log(ref, log, member_names(reconnect["frames"]))
    frames = reconnect["frames"]
    start, end = reconnect["offline"]
    outside = touched_between(frames, 0, start) | touched_between(frames, end, 1e12)
    unseen = set(ref) - outside  # begun and ended while offline: no snapshot shows them
    assert len(unseen) < len(ref) / 3
    done = finished(effects)
    assert done.keys() == ref.keys() - unseen
    assert tracker.calls() == [] and reconnect["reference"].calls() == []
    check_ring_pairs(effects)
    assert any(e.get("Event") == "CoreShowChannel" for e in reconnect["listed"])
    lost = touched_between(frames, start, end)
    for call_id in done:
        got, want = done[call_id].summary, ref[call_id].summary
        if call_id not in lost:
            assert (got.outcome, got.agents, got.wait_s, got.talk_s) == (
                want.outcome, want.agents, want.wait_s, want.talk_s), (got, want)
        else:
            # part of it happened unseen: a best guess, with no agent it never had
            assert got.outcome in ("answered", "abandoned", "transferred"), (got, want)
            assert set(got.agents) <= set(want.agents), (got, want)
