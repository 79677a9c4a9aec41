"""Reconcile the tracker with a fresh snapshot after an AMI reconnect.

The bridge sends ``QueueStatus`` and ``CoreShowChannels`` after every login and passes
all their list events here (shapes as in captures 02/03/05 ``actions.raw``):

* ``QueueParams`` per queue, ``QueueMember`` per member (``Name``/``Location``, not
  ``MemberName``/``Interface``), ``QueueEntry`` per waiting caller (the Queue() channel's
  ``Uniqueid``, ``Wait`` seconds, *no* Linkedid), ``QueueStatusComplete``;
* ``CoreShowChannel`` per channel (``Uniqueid``, ``Linkedid``, ``Application``,
  ``ApplicationData``, ``BridgeId``, ``Duration`` HH:MM:SS), ``CoreShowChannelsComplete``.

What follows from them, so nothing is lost, duplicated or left ringing:

* a tracked call none of whose channels is listed is finished now (connected ->
  answered, queued -> abandoned; anyone ringing is dismissed);
* a listed Linkedid the tracker does not know is adopted (started ``Duration`` ago);
  its Queue() channel in a ``QueueEntry`` makes it waiting (queued ``Wait`` ago), its
  Queue() channel sharing a ``BridgeId`` with a member leg ``Local/agentN@agents-X;1``
  makes it connected to that member, an unbridged member leg makes that member ringing;
* rung or connected legs whose channel is gone are dismissed / ended;
* a call the bridge originated is known by its CC_* variables (``ChanVariable`` lines,
  manager.conf's ``channelvars``): a click-to-dial is adopted as outbound, of its agent,
  to its number, answered while its own channel shares a bridge; a monitoring session
  is no call (``resync_own``);
* memberships, pauses and reasons are rebuilt from ``QueueMember`` for every queue the
  snapshot lists.

A snapshot is older than events read after the actions were sent: calls touched by such
events (``started_at``) are left to the events, Linkedids already finished are never
adopted again, and channels whose Hangup was already fed are not taken as alive.
Queue entries are only adopted when CoreShowChannels gives their Linkedid: a call keyed
by anything else would never see its Hangup.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from telephony.callstate.effects import (
    ANSWERED_ELSEWHERE,
    CALL_CONNECTED,
    CALLER_LEFT,
    NO_ANSWER,
    OUTBOUND,
    AgentChanged,
    CallAnswered,
    Effect,
    QueueChanged,
)
from telephony.callstate.model import LEG_CONNECTED, LEG_RINGING, Call, Leg, clean_cid
from telephony.callstate.resync_own import (
    is_monitoring,
    mark_outbound,
    own_variables,
    reconcile_outbound,
)

if TYPE_CHECKING:
    from telephony.callstate.tracker import CallTracker

Frame = Mapping[str, str]
_MEMBER_LEG = re.compile(r"^(?P<base>.+)-[0-9a-fA-F]{8};1$")


def _duration(value: str | None) -> float:
    try:
        parts = [int(p) for p in (value or "").split(":")]
    except ValueError:
        return 0.0
    seconds = 0
    for part in parts:
        seconds = seconds * 60 + part
    return float(seconds) if 0 <= seconds < 10 * 86400 else 0.0


def _number(value: str | None) -> float:
    try:
        number = float(value or 0)
    except ValueError:
        return 0.0
    return number if 0 <= number < 10 * 86400 else 0.0


class _Snapshot:
    def __init__(self, events: list[Frame], gone: Mapping[str, None]) -> None:
        self.params: dict[str, Frame] = {}
        self.members: dict[str, dict[str, Frame]] = {}
        self.entries: dict[str, Frame] = {}  # Queue() channel Uniqueid -> QueueEntry
        self.channels: dict[str, Frame] = {}  # Uniqueid -> CoreShowChannel
        self.by_link: dict[str, list[Frame]] = {}
        self.have_status = self.have_channels = False
        self.ignored = 0
        for event in events:
            if not isinstance(event, Mapping):
                self.ignored += 1
                continue
            name = event.get("Event")
            if name == "QueueParams" and event.get("Queue"):
                self.params[event["Queue"]] = event
                self.members.setdefault(event["Queue"], {})
            elif name == "QueueMember" and event.get("Queue") and event.get("Location"):
                self.members.setdefault(event["Queue"], {})[event["Location"]] = event
            elif name == "QueueEntry" and event.get("Queue") and event.get("Uniqueid"):
                self.entries[event["Uniqueid"]] = event
            elif name == "CoreShowChannel" and event.get("Uniqueid") and event.get("Linkedid"):
                if event["Uniqueid"] not in gone:
                    self.channels[event["Uniqueid"]] = event
                    self.by_link.setdefault(event["Linkedid"], []).append(event)
            elif name not in ("QueueStatusComplete", "CoreShowChannelsComplete"):
                self.ignored += 1
                continue
            if name and name.startswith("Queue"):
                self.have_status = True
            else:
                self.have_channels = True


def resync(tracker: CallTracker, events: list[Frame], now: float,
           started_at: float | None) -> list[Effect]:
    """See the module docstring; called through :meth:`CallTracker.resync`."""
    book = tracker._book
    snap = _Snapshot(events, tracker._gone)
    tracker.stats["resync_ignored"] += snap.ignored
    before = {name: queue.view() for name, queue in book.queues.items()}
    out: list[Effect] = []
    agent_effects: list[Effect] = []

    if snap.have_status:
        for queue_name, listed in snap.members.items():
            queue = book.queue(queue_name)
            strategy = snap.params.get(queue_name, {}).get("Strategy")
            queue.strategy = strategy or queue.strategy
            for interface in [i for i in queue.members if i not in listed]:
                agent_effects += book.member_event(
                    {"Queue": queue_name, "Interface": interface}, now, removed=True)
            for member in listed.values():
                agent_effects += book.member_event(member, now, "Location", "Name")

    def fresh(call: Call) -> bool:
        return started_at is not None and call.touched >= started_at

    known = set(book.agents)
    if snap.have_channels:
        for call in list(tracker._calls.values()):
            listed = snap.by_link.get(call.call_id)
            if fresh(call):
                # events after the snapshot know better; only learn channels we missed
                call.channels.update(c["Uniqueid"] for c in listed or ())
                continue
            if not listed:
                tracker._finish(call, now, out)
                continue
            call.channels = {c["Uniqueid"] for c in listed}
            if call.direction == OUTBOUND:
                if reconcile_outbound(tracker, call, listed, now, _duration, out):
                    tracker._updated(call, now, out)
                continue
            _reconcile_legs(tracker, call, listed, known, snap, now, out)
        for link, listed in snap.by_link.items():
            if link in tracker._calls or link in tracker._finished or \
                    link in tracker._not_calls:
                continue
            variables = own_variables(listed)
            if is_monitoring(listed, variables):
                # a monitoring session whose CC_CALL_KIND went by unseen: no call
                tracker._not_calls[link] = None
                continue
            call = tracker._calls[link] = Call(link, now - max(_duration(c.get("Duration"))
                                                               for c in listed))
            call.channels = {c["Uniqueid"] for c in listed}
            call.seen_channels = [c["Uniqueid"] for c in listed][:8]
            first = next((c for c in listed if c["Uniqueid"] == link), listed[0])
            call.caller_number = clean_cid(first.get("CallerIDNum"))
            call.caller_name = clean_cid(first.get("CallerIDName"))
            if mark_outbound(call, variables):  # a click-to-dial: no queue, no member leg
                reconcile_outbound(tracker, call, listed, now, _duration, out)
                tracker._updated(call, now, out)
                continue
            queue_channel = next((c for c in listed if c.get("Application") == "Queue"), None)
            if queue_channel is not None:
                call.queue_uniqueid = queue_channel["Uniqueid"]
                call.queue_channel = queue_channel.get("Channel") or None
                call.queue = (queue_channel.get("ApplicationData") or "").split(",")[0] or None
                call.ever_queued = True
            _reconcile_legs(tracker, call, listed, known, snap, now, out)
            tracker._updated(call, now, out)

    if snap.have_status:
        _reconcile_entries(tracker, snap, now, out, fresh)

    for agent in book.agents.values():
        book.refresh(agent, now, agent_effects)
    # one AgentChanged per agent (the last), then one QueueChanged per changed queue
    last: dict[str, Effect] = {}
    for effect in agent_effects:
        if isinstance(effect, AgentChanged):
            last[effect.interface] = effect
    out += last.values()
    for name, queue in book.queues.items():
        view = queue.view()
        if before.get(name) != view:
            out.append(QueueChanged(name, view, now))
    return out


def _member_interface(name: str, known: set[str]) -> str | None:
    match = _MEMBER_LEG.match(name)
    if match is None:
        return None
    base = match.group("base")
    for candidate in (base + "/n", base):
        if candidate in known:
            return candidate
    return None


def _reconcile_legs(tracker: CallTracker, call: Call, listed: list[Frame], known: set[str],
                    snap: _Snapshot, now: float, out: list[Effect]) -> None:
    """Rung/connected member legs against the channels that are really up."""
    book = tracker._book
    queue_channel = next((c for c in listed if c["Uniqueid"] == call.queue_uniqueid
                          or (call.queue_uniqueid is None
                              and c.get("Application") == "Queue")), None)
    bridge = queue_channel.get("BridgeId") if queue_channel is not None else None
    legs = []
    for channel in listed:
        interface = _member_interface(channel.get("Channel") or "", known)
        leg = call.legs.get(channel["Uniqueid"])
        if interface is None and leg is not None:
            interface = leg.interface
        if interface is not None:
            legs.append((channel, interface, leg))
    bridged = next(((c, i, leg) for c, i, leg in legs if bridge and c.get("BridgeId") == bridge),
                   None)
    current = call.current
    live = call.channels
    moved = queue_channel is not None and queue_channel["Uniqueid"] in snap.entries
    if current is not None and (current.uid not in live or moved):
        # the agent's leg is gone, or the caller is waiting in a queue again (so it was
        # transferred). A leg up but not (yet, or no longer) bridged is a moment around
        # AgentConnect/AgentComplete: the events will say.
        tracker._end_leg(call, current, None, moved or tracker._was_transfer(call), now, out)
    for leg in list(call.legs.values()):
        if leg.status == LEG_RINGING and leg.uid not in live:
            reason = (ANSWERED_ELSEWHERE if bridged is not None else
                      NO_ANSWER if queue_channel is not None else CALLER_LEFT)
            tracker._dismiss(call, leg, reason, now, out)
    if bridged is not None and call.current is None and (
            bridged[2] is None or bridged[2].status == LEG_RINGING):
        # (a leg that completed is still bridged for a moment before it hangs up)
        channel, interface, leg = bridged
        if leg is None:
            leg = call.legs[channel["Uniqueid"]] = Leg(
                channel["Uniqueid"], channel.get("Channel") or "", interface, "", call.queue,
                now, LEG_CONNECTED)
        elif leg.status == LEG_RINGING:
            call.ringing -= 1
            book.agents[interface].ringing.discard(leg.uid)
        leg.status = LEG_CONNECTED
        leg.connected_at = now - _duration(channel.get("Duration"))
        agent = book.agent(interface, None, now)
        agent.talking.add(leg.uid)
        call.close_stint(now)
        tracker._leave_waiting(call, now, out)
        call.current = leg
        call.agents.append(interface)
        call.answered_at = call.answered_at or leg.connected_at
        call.state = CALL_CONNECTED
        tracker._dismiss_all(call, ANSWERED_ELSEWHERE, now, out)
        out.append(CallAnswered(call.view(), interface, now))
    elif bridged is None and queue_channel is not None and call.current is None:
        for channel, interface, leg in legs:
            if leg is None and (channel.get("ChannelState") in ("4", "5")):
                out += tracker._ring(call, channel["Uniqueid"], channel.get("Channel") or "",
                                     interface, "", call.queue, now)


def _reconcile_entries(tracker: CallTracker, snap: _Snapshot, now: float,
                       out: list[Effect], fresh: Callable[[Call], bool]) -> None:
    """Waiting lists from QueueEntry, in Position order."""
    book = tracker._book
    by_queue_uid = {call.queue_uniqueid: call for call in tracker._calls.values()
                    if call.queue_uniqueid}
    for call in list(tracker._calls.values()):
        if fresh(call) or call.waiting_in is None:
            continue
        entry = snap.entries.get(call.queue_uniqueid or "")
        listed = call.waiting_in in snap.members or not snap.members
        if listed and (entry is None or entry.get("Queue") != call.waiting_in):
            # left the queue while we were away (answered: see the legs; else gave up)
            call.stint_left = now
            tracker._leave_waiting(call, now, out)
            if call.current is None:
                tracker._dismiss_all(call, CALLER_LEFT, now, out)
                call.state = call.idle_state()
    positions: dict[str, dict[str, float]] = {}
    for uid, entry in snap.entries.items():
        call = by_queue_uid.get(uid)
        if call is None:
            channel = snap.channels.get(uid)
            call = tracker._calls.get(channel["Linkedid"]) if channel else None
            if call is None:
                tracker.stats["resync_unlinked_entries"] += 1
                continue
        name = entry["Queue"]
        positions.setdefault(name, {})[call.call_id] = _number(entry.get("Position"))
        if fresh(call) or call.waiting_in == name:
            continue
        if call.current is not None:
            # back in a queue while we thought it connected: the agent transferred it
            tracker._end_leg(call, call.current, None, True, now, out)
        tracker._leave_waiting(call, now, out)
        call.close_stint(now)
        joined = now - _number(entry.get("Wait"))
        call.queue_uniqueid = call.queue_uniqueid or uid
        call.queue = name
        call.queued_at = call.queued_at or joined
        call.ever_queued = True
        call.stint_joined, call.stint_left, call.stint_final = joined, None, False
        if not call.caller_number:
            number = entry.get("CallerIDNum")
            call.caller_number = "" if number == "unknown" else clean_cid(number)
        call.waiting_in = name
        book.queue(name).waiting[call.call_id] = (call.caller_number, joined)
        call.state = call.idle_state()
        tracker._updated(call, now, out)
    for name, ranks in positions.items():
        queue = book.queue(name)
        ordered = sorted(queue.waiting, key=lambda cid: ranks.get(cid, float("inf")))
        queue.waiting = {cid: queue.waiting[cid] for cid in ordered}
