"""Calls the bridge originates itself (click-to-dial, live monitoring) in the tracker,
on frames a real Asterisk 22 sent (tests/data/asterisk/originated/README.md).

A click-to-dial is an outbound call (the agent who dialled, the number, its outcome
and talk time) and never a queued or "unanswered inbound" one; a ChanSpy session is no
call at all, and the call it listens to stays one call.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from telephony.ami.frames import Frame, FrameReader
from telephony.callstate import (
    ANSWERED,
    BUSY,
    INBOUND,
    OUTBOUND,
    UNANSWERED,
    CallAnswered,
    CallEnded,
    CallFinished,
    CallRinging,
    CallTracker,
    CallUpdated,
    QueueChanged,
)

DATA = Path(__file__).resolve().parent / "data" / "asterisk" / "originated"
STEP_S = 0.05  # the recording has no timestamps: frames are read STEP_S apart
T0 = 1796624182.0


def frames(name: str) -> list[Frame]:
    return FrameReader().feed((DATA / name).read_bytes())


def feed(name: str, tracker: CallTracker | None = None):
    tracker = tracker or CallTracker()
    effects, at = [], {}
    for n, frame in enumerate(frames(name)):
        read_at = T0 + n * STEP_S
        at[id(frame)] = read_at
        effects += tracker.feed(frame, read_at)
    return tracker, effects


def first_at(name: str, match) -> float:
    for n, frame in enumerate(frames(name)):
        if match(frame):
            return T0 + n * STEP_S
    raise AssertionError("no such frame")


def test_a_click_to_dial_answered_is_one_outbound_answered_call_with_its_talk_time():
    tracker, effects = feed("dial_answered.raw")
    done = [e for e in effects if isinstance(e, CallFinished)]
    assert len(done) == 1
    summary = done[0].summary
    assert summary.direction == OUTBOUND
    assert summary.caller_number == "13812345678"
    assert summary.caller_name == "Zhang San"
    assert summary.agent_interface == "Local/agent1@agents/n"
    assert summary.agents == ["Local/agent1@agents/n"]
    assert summary.outcome == ANSWERED
    assert summary.queue is None and summary.queued_at is None and summary.wait_s is None
    # answered when the customer's side answered the agent side's Dial(), talked until
    # the first of the two (the dialled channel, the agent side's) hung up
    dial_end = next(f for f in frames("dial_answered.raw") if f.get("Event") == "DialEnd"
                    and f.get("Channel") and f.get("DialStatus") == "ANSWER")
    answered = first_at("dial_answered.raw", lambda f: f == dial_end)
    ends = (dial_end["DestUniqueid"], dial_end["Uniqueid"])
    hung = first_at("dial_answered.raw", lambda f: f.get("Event") == "Hangup"
                    and f.get("Uniqueid") in ends)
    assert summary.answered_at == pytest.approx(answered)
    assert summary.talk_s == pytest.approx(hung - answered)
    assert summary.talk_s > 0
    # no queue, no ringing member: nothing for the wallboard's queues; the dialling
    # agent's desk pops when the customer answers and gets the wrap-up when the talk ends
    assert not [e for e in effects if isinstance(e, CallRinging)]
    assert [(type(e), e.interface, e.call.direction) for e in effects
            if isinstance(e, (CallAnswered, CallEnded))] == [
        (CallAnswered, "Local/agent1@agents/n", OUTBOUND),
        (CallEnded, "Local/agent1@agents/n", OUTBOUND)]
    assert not [e for e in effects if isinstance(e, QueueChanged) and e.view.waiting]
    # every summary reported of it says outbound (the first comes with CC_CALL_KIND)
    updates = [e.summary for e in effects if isinstance(e, CallUpdated)]
    assert updates and all(s.direction == OUTBOUND for s in updates)
    assert tracker.calls() == []


def test_a_click_to_dial_to_a_busy_number_is_busy_without_talk():
    _tracker, effects = feed("dial_busy.raw")
    [done] = [e.summary for e in effects if isinstance(e, CallFinished)]
    assert (done.direction, done.outcome, done.caller_number) == (OUTBOUND, BUSY, "13900000000")
    assert done.answered_at is None and done.talk_s is None
    assert done.agent_interface == "Local/agent1@agents/n"
    # the agent heard the busy tone on their own phone: no pop, no wrap-up
    assert not [e for e in effects if isinstance(e, (CallRinging, CallAnswered, CallEnded))]


def test_a_click_to_dial_without_a_trunk_is_not_answered():
    _tracker, effects = feed("dial_no_trunk.raw")
    [done] = [e.summary for e in effects if isinstance(e, CallFinished)]
    assert (done.direction, done.outcome) == (OUTBOUND, UNANSWERED)
    assert done.answered_at is None and done.talk_s is None
    assert not [e for e in effects if isinstance(e, (CallRinging, CallAnswered, CallEnded))]


def test_a_monitoring_session_is_no_call_and_the_monitored_call_stays_one():
    spy_link = next(f["Linkedid"] for f in frames("monitor_whisper.raw")
                    if f.get("Variable") == "CC_CALL_KIND")
    tracker, effects = feed("monitor_whisper.raw")
    calls = {e.summary.call_id for e in effects if isinstance(e, (CallUpdated, CallFinished))}
    assert spy_link not in calls
    [done] = [e.summary for e in effects if isinstance(e, CallFinished)]
    assert done.direction == INBOUND and done.outcome == ANSWERED
    assert done.queue == "support" and done.agent_interface == "Local/agent3@agents/n"
    # queue_log's figures for it: CONNECT wait 1 s, COMPLETEAGENT talk 7 s
    assert (done.wait_s, done.talk_s) == (1.0, 7.0)
    assert tracker.calls() == [] and tracker.stats["monitor_sessions"] == 1
    assert tracker.stats["unknown_call"] == 0


def test_the_markers_never_turn_a_queued_call_into_an_originated_one():
    """A CC_CALL_KIND reaching an inbound caller's channel (a dialplan that sets it, an
    inherited variable) changes nothing: only a call that never queued is ours."""
    tracker = CallTracker()
    all_frames = frames("monitor_whisper.raw")
    joined = next(n for n, f in enumerate(all_frames) if f.get("Event") == "QueueCallerJoin")
    join = all_frames[joined]
    for n, frame in enumerate(all_frames[:joined + 1]):
        tracker.feed(frame, T0 + n * STEP_S)
    for value in ("monitor", "outbound"):
        marker = {**join, "Event": "VarSet", "Variable": "CC_CALL_KIND", "Value": value}
        assert tracker.feed(marker, T0 + 100) == []
    assert [c.call_id for c in tracker.calls()] == [join["Linkedid"]]
    assert tracker.summary(join["Linkedid"]).direction == INBOUND


def test_a_spy_the_tracker_meets_first_in_a_resync_is_no_call():
    """After a reconnect CoreShowChannels lists a ChanSpy channel whose VarSet went by
    unseen: it is not adopted as a call, nor are its later frames."""
    spy = [f for f in frames("monitor_whisper.raw")
           if f.get("Channel", "").startswith("Local/supervisor1@")]
    first = spy[0]
    listing = [{"Event": "CoreShowChannel", "Channel": first["Channel"],
                "Uniqueid": first["Uniqueid"], "Linkedid": first["Linkedid"],
                "CallerIDNum": "<unknown>", "CallerIDName": "Monitor",
                "Application": "ChanSpy", "ApplicationData": "Local/agent3@agents-00000006;1,qEuw",
                "Duration": "00:00:03", "BridgeId": ""},
               {"Event": "CoreShowChannelsComplete", "ListItems": "1"}]
    tracker = CallTracker()
    effects = tracker.resync(listing, T0)
    assert not [e for e in effects if isinstance(e, (CallUpdated, CallFinished))]
    later = [f for f in spy if f.get("Event") == "Hangup"]
    assert later
    for frame in later:
        assert tracker.feed(frame, T0 + 1) == []
    assert tracker.calls() == []


def _listing_while_talking(variables: bool = True) -> tuple[list[dict], list[Frame]]:
    """CoreShowChannels as a bridge that was away would get it in the middle of the
    answered click-to-dial (the capture's channels up after both BridgeEnters), with
    the CC_* variables as manager.conf's channelvars adds them; and the frames after."""
    recorded = frames("dial_answered.raw")
    cut = max(n for n, f in enumerate(recorded) if f.get("Event") == "BridgeEnter")
    up: dict[str, Frame] = {}
    bridge_of: dict[str, str] = {}
    marked: set[str] = set()
    for f in recorded[:cut + 1]:
        event = f.get("Event")
        if event == "Newchannel":
            up[f["Uniqueid"]] = f
        elif event == "Hangup":
            up.pop(f["Uniqueid"], None)
        elif event == "BridgeEnter":
            bridge_of[f["Uniqueid"]] = f["BridgeUniqueid"]
        elif event == "VarSet" and f.get("Variable") == "CC_CALL_KIND":
            marked.add(f["Uniqueid"])
    listing = []
    for uid, f in up.items():
        channel = {"Event": "CoreShowChannel", "Channel": f["Channel"], "Uniqueid": uid,
                   "Linkedid": f["Linkedid"], "CallerIDNum": f.get("CallerIDNum", ""),
                   "CallerIDName": f.get("CallerIDName", ""), "ChannelState": "6",
                   "Application": "Dial" if uid in bridge_of else "AppDial",
                   "Duration": "00:00:04", "BridgeId": bridge_of.get(uid, "")}
        if variables:
            channel["ChanVariable"] = (
                "CC_CALL_KIND=outbound\nCC_AGENT=Local/agent1@agents/n\n"
                "CC_NUMBER=13812345678" if uid in marked else
                "CC_CALL_KIND=\nCC_AGENT=\nCC_NUMBER=")
        listing.append(channel)
    listing.append({"Event": "CoreShowChannelsComplete", "ListItems": str(len(listing))})
    return listing, recorded[cut + 1:]


def test_a_click_to_dial_first_met_in_a_resync_is_the_agents_outbound_call():
    """The bridge restarted mid-call: the VarSets went by unseen, the channelvars on
    CoreShowChannel say what the call is. It is adopted outbound, of agent1, to the
    number dialled, talking (agent1's desk pops); its end gives agent1 the wrap-up and
    finishes it answered, with its talk time counted from the listing."""
    listing, rest = _listing_while_talking()
    tracker = CallTracker()
    effects = tracker.resync(listing, T0)
    [answered] = [e for e in effects if isinstance(e, CallAnswered)]
    assert (answered.interface, answered.call.direction) == ("Local/agent1@agents/n", OUTBOUND)
    assert answered.call.caller_number == "13812345678"
    assert not [e for e in effects if isinstance(e, (CallRinging, QueueChanged))]
    effects = []
    for n, frame in enumerate(rest):
        effects += tracker.feed(frame, T0 + 1 + n * STEP_S)
    [ended] = [e for e in effects if isinstance(e, CallEnded)]
    assert ended.interface == "Local/agent1@agents/n"
    [done] = [e.summary for e in effects if isinstance(e, CallFinished)]
    assert (done.direction, done.outcome, done.agent_interface, done.caller_number) == (
        OUTBOUND, ANSWERED, "Local/agent1@agents/n", "13812345678")
    assert done.answered_at == pytest.approx(T0 - 4)
    assert done.talk_s > 4


def test_a_resync_after_the_customer_hung_up_ends_the_talk_of_a_known_click_to_dial():
    """The bridge followed the call until the talk; the customer hung up while it was
    away: the resync lists the agent's side alone, out of the bridge. The talk ends
    (agent1's wrap-up) and the call stays until its last channel goes."""
    tracker, _ = feed_until("dial_answered.raw", lambda f: f.get("Event") == "BridgeEnter"
                            and f.get("Channel", "").startswith("Local/agent1@"))
    listing, _rest = _listing_while_talking()
    alone = [dict(c, BridgeId="") for c in listing
             if c.get("Channel", "").startswith("Local/agent1@")] + [listing[-1]]
    effects = tracker.resync(alone, T0 + 30)
    [ended] = [e for e in effects if isinstance(e, CallEnded)]
    assert (ended.interface, ended.call.direction) == ("Local/agent1@agents/n", OUTBOUND)
    assert not [e for e in effects if isinstance(e, CallFinished)]
    [call] = tracker.calls()
    assert tracker.summary(call.call_id).talk_s == pytest.approx(
        T0 + 30 - tracker.summary(call.call_id).answered_at)


def test_without_the_channelvars_a_click_to_dial_met_in_a_resync_stays_a_plain_call():
    """An Asterisk whose manager.conf lacks the channelvars: no outbound marker, no pop
    for an agent nobody named (what the bridge did before reading them)."""
    listing, _rest = _listing_while_talking(variables=False)
    tracker = CallTracker()
    effects = tracker.resync(listing, T0)
    assert not [e for e in effects if isinstance(e, CallAnswered)]
    [call] = tracker.calls()
    assert tracker.summary(call.call_id).direction == INBOUND


def feed_until(name: str, stop) -> tuple[CallTracker, list]:
    """Feed the capture up to and including the first frame ``stop`` matches."""
    tracker, effects = CallTracker(), []
    for n, frame in enumerate(frames(name)):
        effects += tracker.feed(frame, T0 + n * STEP_S)
        if stop(frame):
            break
    return tracker, effects
