"""CallTracker against every real Asterisk 22 capture, replayed with the recorded times.

queue_log is Asterisk's own account of the same calls (queue_uniqueid == its callid):
outcomes, agents, wait and talk must agree with it exactly.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from simulator_support import CAPTURES
from test_callstate_support import (
    CAPTURE_DIRS,
    check_against_queue_log,
    check_ring_pairs,
    feed_all,
    finished,
    member_names,
    read_queue_log,
    timed_frames,
)

from telephony.ami.frames import FrameReader
from telephony.callstate import (
    AVAILABLE,
    LOGGED_OUT,
    NO_EFFECTS,
    ON_CALL,
    PAUSED,
    RINGING,
    WRAP_UP,
    AgentChanged,
    CallAnswered,
    CallDismissed,
    CallFinished,
    CallRinging,
    CallTracker,
    CallUpdated,
    QueueChanged,
)

IDS = [p.name for p in CAPTURE_DIRS]


@pytest.fixture(scope="module", params=CAPTURE_DIRS, ids=IDS)
def capture(request):
    directory: Path = request.param
    frames = timed_frames(directory)
    tracker = CallTracker()
    effects = feed_all(tracker, frames)
    return {"dir": directory, "frames": frames, "tracker": tracker, "effects": effects}


def test_captures_found():
    assert {"01_single_answered", "02_ringall_10_calls", "03_abandon"} <= set(IDS)


def test_one_finished_per_call_and_nothing_left(capture):
    frames, tracker = capture["frames"], capture["tracker"]
    linkedids = {f["Linkedid"] for f, _ in frames if f.get("Event") == "Newchannel"}
    done = finished(capture["effects"])
    assert set(done) == linkedids
    assert tracker.calls() == []
    assert all(not view.waiting for view in tracker.queues().values())
    for effect in done.values():
        summary = effect.summary
        assert summary.ended_at is not None and summary.started_at <= summary.ended_at
        assert summary.outcome in {"answered", "abandoned", "unanswered"}
    assert tracker.stats.get("errors", 0) == 0


def test_agrees_with_queue_log(capture):
    done = finished(capture["effects"])
    log = read_queue_log(capture["dir"] / "queue_log")
    assert check_against_queue_log(done, log, member_names(capture["frames"])) == len(log)
    # calls that never queued are 'unanswered' and have no queue_log lines
    for effect in done.values():
        if effect.summary.queue_uniqueid is None:
            assert effect.summary.outcome == "unanswered" and effect.summary.wait_s is None


def test_every_agent_called_rings_and_is_closed(capture):
    effects = capture["effects"]
    called = [f for f, _ in capture["frames"] if f.get("Event") == "AgentCalled"]
    rings = [e for e in effects if isinstance(e, CallRinging)]
    assert [(e.call.call_id, e.interface) for e in rings] == \
        [(f["Linkedid"], f["Interface"]) for f in called]
    check_ring_pairs(effects)
    answered = [e for e in effects if isinstance(e, CallAnswered)]
    assert len(answered) == sum(f.get("Event") == "AgentConnect" for f, _ in capture["frames"])


def test_ringall_losers_are_answered_elsewhere():
    frames = timed_frames(CAPTURES / "01_single_answered")
    effects = feed_all(CallTracker(), frames)
    dismissed = sorted((e.interface, e.reason) for e in effects if isinstance(e, CallDismissed))
    assert dismissed == [("Local/agent1@agents/n", "answered_elsewhere"),
                         ("Local/agent3@agents/n", "answered_elsewhere")]
    (answered,) = [e for e in effects if isinstance(e, CallAnswered)]
    assert answered.interface == "Local/agent2@agents/n"
    assert answered.call.customer_id == 42 and answered.call.caller_name == "Zhang San"
    assert answered.call.queue == "support" and answered.call.queue_uniqueid == "1795455872.9"
    (done,) = [e for e in effects if isinstance(e, CallFinished)]
    assert done.summary.channel_ids[:2] == ("1795455872.8", "1795455872.9")
    assert {k: v for k, v in done.summary.as_dict().items() if k != "channel_ids"} | {
        "started_at": 0, "queued_at": 0, "answered_at": 0, "ended_at": 0} == {
        "call_id": "1795455872.8", "queue_uniqueid": "1795455872.9",
        "caller_number": "13812345678", "caller_name": "Zhang San", "customer_id": 42,
        "queue": "support", "agent_interface": "Local/agent2@agents/n",
        "agents": ["Local/agent2@agents/n"], "outcome": "answered", "started_at": 0,
        "queued_at": 0, "answered_at": 0, "ended_at": 0, "wait_s": 1.0, "talk_s": 13.0,
        "direction": "inbound"}


def test_ring_timeout_is_no_answer():
    effects = feed_all(CallTracker(), timed_frames(CAPTURES / "02b_ringall_no_answer"))
    reasons = [e.reason for e in effects if isinstance(e, CallDismissed)]
    assert reasons.count("no_answer") == 9  # 3 rounds x 3 agents (RINGNOANSWER|15000)


def test_abandon_scenarios():
    effects = feed_all(CallTracker(), timed_frames(CAPTURES / "03_abandon"))
    done = finished(effects)
    outcomes = sorted(f.summary.outcome for f in done.values())
    assert outcomes == ["abandoned"] * 4 + ["answered", "unanswered"]
    busy = [e for e in effects if isinstance(e, CallDismissed)]
    assert ("Local/agent2@agents/n", "no_answer") in [(e.interface, e.reason) for e in busy]
    # the waiting list went up to 5 callers and back to 0
    sizes = [len(e.view.waiting) for e in effects if isinstance(e, QueueChanged)]
    assert max(sizes) == 5 and sizes[-1] == 0


def _agent_history(effects) -> dict[str, list[tuple[str, str | None]]]:
    history: dict[str, list[tuple[str, str | None]]] = {}
    for effect in effects:
        if isinstance(effect, AgentChanged):
            history.setdefault(effect.interface, []).append((effect.state, effect.reason))
    return history


def test_paused_with_reason_meeting():
    history = _agent_history(feed_all(CallTracker(), timed_frames(CAPTURES / "03_abandon")))
    for n in (1, 2, 3):
        assert history[f"Local/agent{n}@agents/n"][0] == (PAUSED, "meeting")
        assert (AVAILABLE, None) in history[f"Local/agent{n}@agents/n"]


def test_member_pause_add_remove():
    frames = timed_frames(CAPTURES / "05_member_pause_add_remove")
    tracker = CallTracker()
    history = _agent_history(feed_all(tracker, frames))
    assert (PAUSED, "lunch") in history["Local/agent2@agents/n"]
    assert history["Local/agent7@agents/n"][0] == (PAUSED, "not-ready")
    # agent6: added, took a call, removed while on it, logged out once it was over
    six = [state for state, _ in history["Local/agent6@agents/n"]]
    assert six[:3] == [AVAILABLE, RINGING, ON_CALL] and six[-1] == LOGGED_OUT
    assert WRAP_UP in six
    tracker.tick(frames[-1][1] + 60)
    agents = tracker.agents()
    assert agents["Local/agent6@agents/n"].queues == ()
    assert agents["Local/agent1@agents/n"].state == AVAILABLE
    assert agents["Local/agent1@agents/n"].name == "Agent 1"
    assert set(tracker.queues()["support"].members) == {
        f"Local/agent{n}@agents/n" for n in (1, 2, 3)}


def test_wrap_up_ends_on_tick_not_before():
    frames = timed_frames(CAPTURES / "01_single_answered")
    tracker = CallTracker(wrapup_s=5)
    complete_at = next(t for f, t in frames if f.get("Event") == "AgentComplete")
    feed_all(tracker, [(f, t) for f, t in frames if t <= complete_at + 1])
    assert tracker.agents()["Local/agent2@agents/n"].state == WRAP_UP
    assert tracker.next_deadline == pytest.approx(complete_at + 5)
    assert tracker.tick(complete_at + 4.9) == []
    (change,) = tracker.tick(complete_at + 5)
    assert (change.interface, change.state, change.since) == (
        "Local/agent2@agents/n", AVAILABLE, complete_at + 5)
    assert tracker.next_deadline is None


def test_same_stream_twice_gives_no_second_finish(capture):
    tracker = CallTracker()
    first = feed_all(tracker, capture["frames"])
    again = feed_all(tracker, capture["frames"])
    assert finished(first + again).keys() == finished(first).keys()
    assert not [e for e in again if isinstance(e, CallRinging | CallUpdated | CallFinished)]
    check_ring_pairs(first + again)
    assert tracker.calls() == []


def test_hostile_caller_ids_pass_through():
    effects = feed_all(CallTracker(), timed_frames(CAPTURES / "02_ringall_10_calls"))
    numbers = {e.summary.caller_number for e in effects if isinstance(e, CallFinished)}
    names = {e.summary.caller_name for e in effects if isinstance(e, CallFinished)}
    assert {"", "anonymous", "+44207946095812345678901", "01062345678"} <= numbers
    assert "张三" in names and "Beijing Office" in names


def _garble(frame: dict[str, str], rnd: random.Random) -> object:
    junk = ["", "-1", "abc", "9" * 40, "<unknown>", "\x00\x1b[31m", "'; DROP TABLE calls;--",
            "1795455890.17", "nan", "1e999", " 42 "]
    kind = rnd.randrange(6)
    frame = dict(frame)
    if kind == 0 and frame:
        del frame[rnd.choice(list(frame))]
    elif kind == 1 and frame:
        frame[rnd.choice(list(frame))] = rnd.choice(junk)
    elif kind == 2:
        frame = {k: rnd.choice(junk) for k in frame}
        frame["Event"] = rnd.choice(["AgentConnect", "Hangup", "QueueMemberPause", "VarSet",
                                     "QueueCallerJoin", "AgentComplete", "Nonsense"])
    elif kind == 3:
        return rnd.choice([None, 42, "Event: Hangup", [("Event", "Hangup")], {None: None},
                           {"Event": ["Hangup"]}])
    elif kind == 4:
        frame["Event"] = "Event" + str(rnd.randrange(1000))
    return frame


def test_malformed_frames_never_raise():
    rnd = random.Random(7)
    tracker = CallTracker()
    count = 0
    for directory in CAPTURE_DIRS:
        for frame, t in timed_frames(directory):
            for _ in range(2):
                tracker.feed(_garble(frame, rnd), t)  # type: ignore[arg-type]
                count += 1
            tracker.feed(frame, rnd.choice([t, None, "now", float("nan"), -1.0]))
    tracker.tick(None)  # type: ignore[arg-type]
    tracker.resync([{"Event": "QueueEntry", "Queue": "support", "Uniqueid": "x"},
                    {"Event": "CoreShowChannel"}, "garbage"], 1.0)  # type: ignore[list-item]
    assert tracker.frames > count
    assert tracker.stats["errors"] + tracker.stats["missing_fields"] > 0
    tracker.calls(), tracker.queues(), tracker.agents()


def test_noise_returns_the_shared_empty_result():
    tracker = CallTracker()
    for event in ("Newexten", "AGIExecStart", "DeviceStateChange", "Cdr", "Newstate"):
        assert tracker.feed({"Event": event}, 1.0) is NO_EFFECTS
    assert tracker.feed({"Event": "VarSet", "Variable": "MEMBERNAME"}, 1.0) is NO_EFFECTS
    with pytest.raises(TypeError):
        NO_EFFECTS.append(None)  # type: ignore[arg-type]
    assert NO_EFFECTS == []


def _shifted_stream(copies: int) -> bytes:
    raw = (CAPTURES / "02_ringall_10_calls" / "ami.raw").read_bytes()
    one = b"".join(b + b"\r\n\r\n" for b in raw.split(b"\r\n\r\n") if b.startswith(b"Event: "))
    # every copy's Uniqueid/Linkedid epoch moved, so each copy is ten new calls
    return b"".join(one.replace(b": 1795455", b": %07d" % (1795455 + n)) for n in range(copies))


def test_fifty_copies_of_a_capture_end_every_call():
    """101,000 events through FrameReader + CallTracker, fed in 64 KiB reads as the bridge
    reads them: every one of the 500 calls finishes. (How fast: bench/ami_ingest.py.)"""
    stream = _shifted_stream(50)
    reader, tracker = FrameReader(expect_banner=False), CallTracker()
    finishes = events = 0
    for offset in range(0, len(stream), 65536):
        for frame in reader.feed(stream[offset:offset + 65536]):
            events += 1
            for effect in tracker.feed(frame, 1795455890.0 + events * 0.03):
                finishes += isinstance(effect, CallFinished)
    assert (events, finishes) == (101_000, 500)
