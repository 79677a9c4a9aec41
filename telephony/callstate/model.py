"""The tracker's mutable bookkeeping per call and per rung member leg.

Plain ``__slots__`` classes, not dataclasses: they are created and touched on the hot
path and never leave the package (consumers get the frozen views of effects.py).
"""

from __future__ import annotations

from telephony.callstate.effects import (
    ABANDONED,
    ANSWERED,
    BUSY,
    CALL_DIALPLAN,
    CALL_FINISHED,
    CALL_QUEUED,
    CALL_RINGING,
    IN_PROGRESS,
    INBOUND,
    OUTBOUND,
    TRANSFERRED,
    UNANSWERED,
    CallSummary,
    CallView,
)

LEG_RINGING = 1
LEG_DISMISSED = 2
LEG_CONNECTED = 3
LEG_ENDED = 4

UNKNOWN_CID = frozenset(("<unknown>", ""))


def clean_cid(value: str | None) -> str:
    """Asterisk shows a missing caller ID as ``<unknown>``; the call log keeps ``""``.

    Anything else (quotes, markup, control bytes) is data and passes through unchanged:
    the consumers escape it.
    """
    if value is None or value in UNKNOWN_CID:
        return ""
    return value


class Leg:
    """A member channel app_queue dialled: ``Local/agentN@agents-XXXXXXXX;1``.

    ``uid`` is the DestUniqueid of AgentCalled; ``interface`` the member's Interface
    (``Local/agentN@agents/n``), which is what agents are keyed by.
    """

    __slots__ = ("uid", "channel", "interface", "name", "queue", "rung_at", "status",
                 "dial_answered", "connected_at", "talk_estimate")

    def __init__(self, uid: str, channel: str, interface: str, name: str, queue: str | None,
                 rung_at: float, status: int = LEG_RINGING) -> None:
        self.uid = uid
        self.channel = channel
        self.interface = interface
        self.name = name
        self.queue = queue
        self.rung_at = rung_at
        self.status = status
        self.dial_answered = False
        self.connected_at = 0.0
        # talk counted from read_at because the leg hung up before AgentComplete (02
        # has one); AgentComplete's TalkTime replaces it when it follows
        self.talk_estimate: float | None = None


class Call:
    """Everything known about one Linkedid while any of its channels is up."""

    __slots__ = (
        "call_id", "started_at", "caller_number", "caller_name", "customer_id", "queue",
        "queue_uniqueid", "queue_channel", "queued_at", "answered_at", "ended_at", "state",
        "channels", "seen_channels", "legs", "ringing", "current", "agents", "wait_total",
        "has_wait", "talk_total", "has_talk", "stint_joined", "stint_left", "stint_final",
        "waiting_in", "ever_queued", "abandoned", "last_transferred", "transfer_pending",
        "left_bridge", "hangup_requested", "dial_answered", "queue_status", "touched",
        "direction", "dial_status", "callee_uid",
    )

    def __init__(self, call_id: str, started_at: float) -> None:
        self.call_id = call_id
        self.started_at = started_at
        self.caller_number = ""
        self.caller_name = ""
        self.customer_id: int | None = None
        self.queue: str | None = None
        self.queue_uniqueid: str | None = None
        # the Queue() channel's name (``Local/s@inbound-XXXXXXXX;2``): what a transfer
        # redirects (CallTracker.caller_channel)
        self.queue_channel: str | None = None
        self.queued_at: float | None = None
        self.answered_at: float | None = None
        self.ended_at: float | None = None
        self.state = CALL_DIALPLAN
        self.channels: set[str] = set()  # Uniqueids still up
        #: The caller's side's Uniqueids ever seen (the Linkedid's, the one that ran
        #: Queue(): queue_log's callid), so the call log can tie queue_log's record of a
        #: call it missed to this Linkedid.
        self.seen_channels: list[str] = []
        self.legs: dict[str, Leg] = {}  # DestUniqueid -> leg, every leg ever rung
        self.ringing = 0  # legs in LEG_RINGING
        self.current: Leg | None = None  # the connected leg
        self.agents: list[str] = []
        self.wait_total = 0.0
        self.has_wait = False
        self.talk_total = 0.0
        self.has_talk = False
        # the current stay in a queue ("stint"): joined, left (QueueCallerLeave), and
        # whether its wait has been counted (from HoldTime, or read_at at the end)
        self.stint_joined: float | None = None
        self.stint_left: float | None = None
        self.stint_final = True
        self.waiting_in: str | None = None  # queue whose waiting list holds the call
        self.ever_queued = False
        self.abandoned = False
        self.last_transferred = False  # the last agent's talk ended in a transfer
        self.transfer_pending = False  # BlindTransfer/AttendedTransfer seen while connected
        self.left_bridge = False  # the queue channel left the bridge while connected
        self.hangup_requested = False  # the caller's side was asked to hang up
        self.dial_answered = False  # a member leg got DialEnd ANSWER (ringall winner)
        self.queue_status: str | None = None  # VarSet QUEUESTATUS (TIMEOUT, FULL, ...)
        self.touched = started_at  # read_at of the last event about this call
        #: INBOUND, or OUTBOUND once the bridge's CC_CALL_KIND marks it click-to-dial.
        self.direction = INBOUND
        #: Outbound: the DialStatus of the dial to the customer (ANSWER, BUSY, ...).
        self.dial_status: str | None = None
        #: Outbound: the Uniqueid of the channel that dialled the customer; while the
        #: customer talks, its Hangup (or the agent side's) ends the talk.
        self.callee_uid: str | None = None

    def see_channel(self, uid: str) -> None:
        """A channel of the caller's side is up."""
        self.channels.add(uid)
        if uid not in self.seen_channels and len(self.seen_channels) < 8:
            self.seen_channels.append(uid)

    # -- derived ----------------------------------------------------------------------
    def outcome(self) -> str:
        if self.state != CALL_FINISHED:
            return IN_PROGRESS
        if self.direction == OUTBOUND:
            if self.answered_at is not None:
                return ANSWERED
            return BUSY if self.dial_status == "BUSY" else UNANSWERED
        if self.agents:
            return TRANSFERRED if self.last_transferred else ANSWERED
        return ABANDONED if self.ever_queued else UNANSWERED

    def idle_state(self) -> str:
        """State when no agent is connected."""
        if self.ringing:
            return CALL_RINGING
        return CALL_QUEUED if self.waiting_in is not None else CALL_DIALPLAN

    def view(self) -> CallView:
        current = self.current
        return CallView(
            self.call_id, self.caller_number, self.caller_name, self.queue, self.queued_at,
            self.answered_at, self.state,
            current.interface if current is not None else (self.agents[-1] if self.agents
                                                             else None),
            self.customer_id, self.queue_uniqueid, self.started_at, self.direction)

    def summary(self) -> CallSummary:
        return CallSummary(
            call_id=self.call_id, queue_uniqueid=self.queue_uniqueid,
            caller_number=self.caller_number, caller_name=self.caller_name,
            customer_id=self.customer_id, queue=self.queue,
            agent_interface=self.agents[-1] if self.agents else None,
            agents=list(self.agents), outcome=self.outcome(), started_at=self.started_at,
            queued_at=self.queued_at, answered_at=self.answered_at, ended_at=self.ended_at,
            wait_s=self.wait_total if self.has_wait else None,
            talk_s=self.talk_total if self.has_talk else None,
            channel_ids=tuple(self.seen_channels), direction=self.direction)

    # -- queue stays --------------------------------------------------------------------
    def count_wait(self, wait: float) -> None:
        """Close the current stay in the queue with ``wait`` seconds (once)."""
        if not self.stint_final:
            self.stint_final = True
            self.wait_total += wait
            self.has_wait = True

    def end_outbound_talk(self, now: float) -> None:
        """Outbound: the customer or the agent hung up; the talk since the customer
        answered ends (once)."""
        if self.direction == OUTBOUND and self.answered_at is not None and not self.has_talk:
            self.talk_total = max(0.0, now - self.answered_at)
            self.has_talk = True

    def close_stint(self, now: float) -> None:
        """No HoldTime came (EXITEMPTY, missed events): fall back to read_at times."""
        if not self.stint_final and self.stint_joined is not None:
            end = self.stint_left if self.stint_left is not None else now
            self.count_wait(max(0.0, end - self.stint_joined))


__all__ = ["LEG_CONNECTED", "LEG_DISMISSED", "LEG_ENDED", "LEG_RINGING", "Call", "Leg",
           "clean_cid"]
