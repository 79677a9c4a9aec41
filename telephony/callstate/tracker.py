"""CallTracker: AMI frames in, call-state effects out. Pure: no I/O, no clock.

Speed is part of the contract (the bridge must do >= 100,000 events/s through the frame
parser *and* this on one core). Most of the stream is noise for call state (VarSet,
Newexten, AGIExec*, DeviceStateChange, Cdr, Newstate...), so ``feed`` is one dict lookup
on the Event name, and a frame without a handler costs that lookup and returns the
shared :data:`NO_EFFECTS`. Time only enters through ``read_at``: wrap-up timers expire on
the first ``feed``/``tick`` at or after their deadline, one float comparison per frame.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

from telephony.callstate.agents import AgentBook
from telephony.callstate.effects import (
    NO_EFFECTS,
    OUTBOUND,
    AgentView,
    CallSummary,
    CallView,
    Effect,
    QueueView,
)
from telephony.callstate.legs import LegEvents
from telephony.callstate.model import LEG_CONNECTED, LEG_RINGING, Call

log = logging.getLogger(__name__)

Handler = Callable[[Mapping[str, str], float], list[Effect]]


class CallTracker(LegEvents):
    """Follows calls by Linkedid, queues by name and agents by member Interface.

    ``wrapup_s`` is the wrap-up shown after a call when neither the member
    (``Wrapuptime`` of its QueueMember* events) nor ``wrapup_by_queue`` says otherwise;
    Asterisk 22 does not put the queue's wrapuptime in QueueParams, so the bridge passes
    what queues.conf has (the captured PBX: 2 s).

    ``finished_memory`` Linkedids of finished calls are remembered, so feeding the same
    events again (a replay, a resync snapshot older than the events already fed) never
    starts a call again nor gives a second CallFinished for it.
    """

    def __init__(self, *, wrapup_s: float = 2.0,
                 wrapup_by_queue: Mapping[str, float] | None = None,
                 finished_memory: int = 50_000) -> None:
        self.stats: dict[str, int] = defaultdict(int)
        self.finished_memory = finished_memory
        self._calls: dict[str, Call] = {}
        self._finished: dict[str, None] = {}
        self._gone: dict[str, None] = {}  # Uniqueids hung up recently (for resync)
        #: Linkedids of monitoring sessions (the bridge's ChanSpy originates): no calls
        self._not_calls: dict[str, None] = {}
        self._book = AgentBook(wrapup_s, wrapup_by_queue, self.stats)
        self.frames = 0
        self.ignored = 0
        book = self._book
        self._handlers: dict[str | None, Handler] = {
            "Newchannel": self._on_newchannel,
            "NewCallerid": self._on_newcallerid,
            "Hangup": self._on_hangup,
            "HangupRequest": self._on_hangup_request,
            "SoftHangupRequest": self._on_hangup_request,
            "VarSet": self._on_varset,
            "QueueCallerJoin": self._on_queue_join,
            "QueueCallerLeave": self._on_queue_leave,
            "QueueCallerAbandon": self._on_queue_abandon,
            "AgentCalled": self._on_agent_called,
            "AgentRingNoAnswer": self._on_ring_no_answer,
            "AgentConnect": self._on_agent_connect,
            "AgentComplete": self._on_agent_complete,
            "DialEnd": self._on_dial_end,
            "BridgeLeave": self._on_bridge_leave,
            "BlindTransfer": self._on_transfer,
            "AttendedTransfer": self._on_transfer,
            "QueueMemberStatus": book.member_event,
            "QueueMemberAdded": book.member_event,
            "QueueMemberPause": book.member_event,
            "QueueMemberPaused": book.member_event,  # the pre-12 spelling
            "QueueMemberPenalty": book.member_event,
            "QueueMemberRinginuse": book.member_event,
            "QueueMemberRemoved": self._on_member_removed,
        }

    # -- input ----------------------------------------------------------------------------
    def feed(self, frame: Mapping[str, str], read_at: float) -> list[Effect]:
        """One AMI frame (as FrameReader yields it) read at epoch ``read_at``.

        Never raises: a frame that is not a mapping, lacks fields or carries garbage is
        counted in :attr:`stats` and changes nothing (or as little as it can).
        """
        self.frames += 1
        try:
            expired = self._book.expire(read_at) if read_at >= self._book.deadline else None
            handler = self._handlers.get(frame.get("Event"))
            if handler is None:
                self.ignored += 1
                return expired or NO_EFFECTS
            out = handler(frame, read_at)
        except Exception:  # noqa: BLE001 - a bad frame must never stop the bridge
            self.stats["errors"] += 1
            log.debug("frame not understood: %r", frame, exc_info=True)
            return NO_EFFECTS
        if expired:
            expired.extend(out)
            return expired
        return out

    def tick(self, now: float) -> list[Effect]:
        """Time-based changes due by ``now`` (wrap-up ending); call it every second or so
        when no frames arrive."""
        try:
            if now >= self._book.deadline:
                return self._book.expire(now)
        except TypeError:
            self.stats["errors"] += 1
        return NO_EFFECTS

    def resync(self, events: list[Mapping[str, str]], read_at: float,
               started_at: float | None = None) -> list[Effect]:
        """Reconcile with QueueStatus + CoreShowChannels list events after a reconnect.

        ``started_at`` is when the bridge sent those actions: calls the tracker heard of
        through events read after it are newer than the snapshot and are left alone.
        See :mod:`telephony.callstate.resync`.
        """
        from telephony.callstate.resync import resync

        try:
            return resync(self, events, read_at, started_at)
        except Exception:  # noqa: BLE001 - same promise as feed()
            self.stats["errors"] += 1
            log.warning("resync failed", exc_info=True)
            return NO_EFFECTS

    def _on_member_removed(self, frame: Mapping[str, str], read_at: float) -> list[Effect]:
        return self._book.member_event(frame, read_at, removed=True)

    # -- accessors --------------------------------------------------------------------------
    def calls(self) -> list[CallView]:
        """Live calls (every call with a channel up), oldest first."""
        return [call.view() for call in self._calls.values()]

    def call(self, call_id: str) -> CallView | None:
        call = self._calls.get(call_id)
        return call.view() if call is not None else None

    def caller_channel(self, call_id: str) -> str | None:
        """The live call's Queue() channel (``Local/s@inbound-XXXXXXXX;2``): the caller's
        side a transfer redirects. Its Uniqueid when the name was never seen (a call
        taken up from a resync without CoreShowChannels); None for no such call."""
        call = self._calls.get(call_id)
        if call is None:
            return None
        return call.queue_channel or call.queue_uniqueid

    def connected_leg(self, interface: str) -> tuple[str, str] | None:
        """(call_id, channel) of the call ``interface`` is talking on right now: the
        member leg's channel name (``Local/agentN@agents-XXXXXXXX;1``), or its Uniqueid
        when the name was never seen; None when that phone is on no connected call. What
        live monitoring (ChanSpy) listens to."""
        for call_id, call in self._calls.items():
            leg = call.current
            if leg is not None and leg.status == LEG_CONNECTED and leg.interface == interface:
                return call_id, leg.channel or leg.uid
        return None

    def summary(self, call_id: str) -> CallSummary | None:
        call = self._calls.get(call_id)
        return call.summary() if call is not None else None

    def queues(self) -> dict[str, QueueView]:
        """Queue name -> callers waiting (join order, with queued_at) and members."""
        return {name: queue.view() for name, queue in self._book.queues.items()}

    def agents(self) -> dict[str, AgentView]:
        """Interface -> state, reason, since, queues, name (every interface ever seen)."""
        return {iface: agent.view() for iface, agent in self._book.agents.items()}

    def live_legs(self) -> dict[str, dict[str, str]]:
        """call_id -> {interface: "ringing" | "connected"} of every live call (a call
        no agent is on maps to {}): what each agent's screen should show right now."""
        out: dict[str, dict[str, str]] = {}
        for call_id, call in self._calls.items():
            legs = out[call_id] = {}
            for leg in call.legs.values():
                if leg.status == LEG_CONNECTED:
                    legs[leg.interface] = "connected"
                elif leg.status == LEG_RINGING and legs.get(leg.interface) != "connected":
                    legs[leg.interface] = "ringing"
            if call.direction == OUTBOUND and call.answered_at is not None and \
                    not call.has_talk and call.agents:
                legs[call.agents[-1]] = "connected"  # click-to-dial: no queue leg
        return out

    def member_interfaces(self) -> dict[str, str]:
        """Member name (queue_log's agent column) -> interface, of every agent seen."""
        return {agent.name: iface for iface, agent in self._book.agents.items()
                if agent.name and agent.name != iface}

    def is_finished(self, call_id: str) -> bool:
        return call_id in self._finished

    def counters(self) -> dict[str, Any]:
        """stats plus frame totals, for logs and metrics."""
        return {"frames": self.frames, "ignored": self.ignored, "live_calls": len(self._calls),
                **self.stats}

    @property
    def next_deadline(self) -> float | None:
        """When the next wrap-up ends (so the bridge can schedule tick), or None."""
        deadline = self._book.deadline
        return None if deadline == math.inf else deadline
