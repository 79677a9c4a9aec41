"""What the call-state machine hands out: read-only views and effects (telephony/README.md).

Everything here is a frozen dataclass, so a consumer can keep, queue or serialise an
effect without it changing under its feet when the tracker moves on. ``slots=True``
keeps them small and quick to build: the bridge creates a few per call, not per event.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# Agent states (README "Agent states").
LOGGED_OUT = "logged_out"
AVAILABLE = "available"
RINGING = "ringing"
ON_CALL = "on_call"
WRAP_UP = "wrap_up"
#: The pause reason of after-call work: a member paused in every queue for this reason
#: is in wrap-up (``WRAP_UP``), not on a break.
ACW_REASON = "wrap-up"
PAUSED = "paused"
AGENT_STATES = (LOGGED_OUT, AVAILABLE, RINGING, ON_CALL, WRAP_UP, PAUSED)

# Call states as CallView.state shows them.
CALL_DIALPLAN = "dialplan"  # up, not queued and not connected (IVR, AGI, after a transfer)
CALL_QUEUED = "queued"  # waiting in a queue, nobody ringing
CALL_RINGING = "ringing"  # in a queue with at least one member ringing
CALL_CONNECTED = "connected"  # talking to an agent
CALL_FINISHED = "finished"  # every channel is gone
CALL_STATES = (CALL_DIALPLAN, CALL_QUEUED, CALL_RINGING, CALL_CONNECTED, CALL_FINISHED)

# CallDismissed.reason / CallEnded.reason.
ANSWERED_ELSEWHERE = "answered_elsewhere"
NO_ANSWER = "no_answer"
CALLER_LEFT = "caller_left"
HANGUP = "hangup"
TRANSFERRED = "transferred"

# CallSummary.outcome: the values of callcenter.calls.models.Outcome.
IN_PROGRESS = "in_progress"
ANSWERED = "answered"
ABANDONED = "abandoned"
UNANSWERED = "unanswered"
#: An outbound (click-to-dial) call whose callee was busy.
BUSY = "busy"
OUTCOMES = (IN_PROGRESS, ANSWERED, ABANDONED, TRANSFERRED, UNANSWERED, BUSY)

# CallSummary.direction: who started the call.
INBOUND = "inbound"  # a caller came in (through the dialplan, usually a queue)
OUTBOUND = "outbound"  # click-to-dial: the bridge rang an agent, then dialled the customer
DIRECTIONS = (INBOUND, OUTBOUND)

#: The channel variable the bridge's own Originate sets (``Variable: CC_CALL_KIND=...``)
#: so the tracker knows what it started: Asterisk reports it as ``VarSet`` on both
#: halves of the Local channel right after their ``Newchannel`` (read=dialplan), before
#: any dialling. ``CALL_KIND_OUTBOUND``: click-to-dial; ``CALL_KIND_MONITOR``: a
#: supervisor's phone running ChanSpy, which is no call at all for the call log.
CALL_KIND_VARIABLE = "CC_CALL_KIND"
CALL_KIND_OUTBOUND = "outbound"
CALL_KIND_MONITOR = "monitor"
#: With ``CALL_KIND_OUTBOUND``: the agent's interface that dialled, and the number dialled.
CALL_AGENT_VARIABLE = "CC_AGENT"
CALL_NUMBER_VARIABLE = "CC_NUMBER"


@dataclass(frozen=True, slots=True)
class CallView:
    """A live call as screens show it. ``call_id`` is the Linkedid; ``state`` one of
    CALL_STATES; ``agent_interface`` the connected agent (else the last one who talked);
    ``queue_uniqueid`` the Queue() channel's Uniqueid (queue_log's callid);
    ``started_at`` when its first channel appeared (beyond the README's list)."""

    call_id: str
    caller_number: str
    caller_name: str
    queue: str | None
    queued_at: float | None
    answered_at: float | None
    state: str
    agent_interface: str | None
    customer_id: int | None
    queue_uniqueid: str | None
    started_at: float
    #: INBOUND, or OUTBOUND for click-to-dial (then ``caller_number`` is the number
    #: dialled and ``agent_interface`` the agent who dialled).
    direction: str = INBOUND


@dataclass(frozen=True, slots=True)
class CallSummary:
    """The call-log row: field names are the ``CallRecord`` columns (calls/models.py).

    ``queue`` is the queue the call was last in (after a transfer to another queue, that
    one); ``agent_interface`` the last agent who talked, ``agents`` all of them in order.
    ``wait_s`` adds up every stay in a queue and ``talk_s`` every agent's talk time, each
    as Asterisk's queue_log reports it (whole seconds) when the AMI event carried it.
    """

    call_id: str
    queue_uniqueid: str | None
    caller_number: str
    caller_name: str
    customer_id: int | None
    queue: str | None
    agent_interface: str | None
    agents: list[str]
    outcome: str
    started_at: float
    queued_at: float | None
    answered_at: float | None
    ended_at: float | None
    wait_s: float | None
    talk_s: float | None
    #: Uniqueids of the caller's side (not a column): ties queue_log's callid of a call
    #: the bridge saw only in part to this Linkedid (calls.recording.record_call).
    channel_ids: tuple[str, ...] = ()
    #: INBOUND, or OUTBOUND for click-to-dial (then ``caller_number`` is the number
    #: dialled, ``agent_interface`` the agent who dialled, ``answered_at`` when the
    #: customer answered).
    direction: str = INBOUND

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class WaitingCaller:
    call_id: str
    caller_number: str
    queued_at: float


@dataclass(frozen=True, slots=True)
class QueueView:
    """One queue: callers waiting (in join order) and member interfaces."""

    queue: str
    waiting: tuple[WaitingCaller, ...]
    members: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """The ``cc:live:queues`` JSON shape."""
        return {"queue": self.queue,
                "waiting": [{"call_id": w.call_id, "caller_number": w.caller_number,
                             "queued_at": w.queued_at} for w in self.waiting],
                "members": list(self.members)}


@dataclass(frozen=True, slots=True)
class AgentView:
    """One member interface across all its queues."""

    interface: str
    name: str
    state: str
    reason: str | None
    since: float
    queues: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """The ``cc:live:agents`` JSON shape."""
        return {"interface": self.interface, "name": self.name, "state": self.state,
                "reason": self.reason, "since": self.since, "queues": list(self.queues)}


@dataclass(frozen=True, slots=True)
class CallRinging:
    call: CallView
    interface: str
    read_at: float


@dataclass(frozen=True, slots=True)
class CallAnswered:
    call: CallView
    interface: str
    read_at: float


@dataclass(frozen=True, slots=True)
class CallDismissed:
    call: CallView
    interface: str
    reason: str  # answered_elsewhere | no_answer | caller_left
    read_at: float


@dataclass(frozen=True, slots=True)
class CallEnded:
    call: CallView
    interface: str
    reason: str  # hangup | transferred
    read_at: float


@dataclass(frozen=True, slots=True)
class CallUpdated:
    call: CallView
    summary: CallSummary
    read_at: float


@dataclass(frozen=True, slots=True)
class CallFinished:
    call: CallView
    summary: CallSummary
    read_at: float


@dataclass(frozen=True, slots=True)
class QueueChanged:
    """Waiting callers *or* members of ``queue`` changed; ``view`` is the new state
    (what ``cc:live:queues`` keeps)."""

    queue: str
    view: QueueView
    read_at: float


@dataclass(frozen=True, slots=True)
class AgentChanged:
    """``view`` adds the name and queues ``cc:live:agents`` keeps."""

    interface: str
    state: str
    reason: str | None  # the pause reason when paused, else None
    since: float
    view: AgentView
    read_at: float


Effect = (CallRinging | CallAnswered | CallDismissed | CallEnded | CallUpdated | CallFinished
          | QueueChanged | AgentChanged)


class NoEffects(list):  # type: ignore[type-arg]
    """The shared empty result for the ~80 % of frames that change nothing.

    Returning one object instead of a fresh ``[]`` per frame saves an allocation on the
    hot path; it refuses mutation so one consumer cannot poison it for everybody.
    """

    __slots__ = ()

    def _refuse(self, *args: object, **kwargs: object) -> None:
        raise TypeError("the shared empty effect list is read-only; copy it first")

    append = extend = insert = remove = pop = clear = sort = reverse = _refuse  # type: ignore
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse  # type: ignore


NO_EFFECTS: list[Effect] = NoEffects()
