"""Call state from AMI events: ``CallTracker.feed(frame, read_at) -> [effects]``.

A pure state machine (no I/O, no clock): the bridge feeds it every frame the AMI
client reads, with the time it was read, and turns the effects into screen pops,
call-log rows, Redis live state and wallboard figures. The effects and their fields
are the contract in ``telephony/README.md`` ("Call-state effects").
"""

from telephony.callstate.effects import (
    ABANDONED,
    ACW_REASON,
    AGENT_STATES,
    ANSWERED,
    ANSWERED_ELSEWHERE,
    AVAILABLE,
    CALL_CONNECTED,
    CALL_DIALPLAN,
    CALL_FINISHED,
    CALL_QUEUED,
    CALL_RINGING,
    CALL_STATES,
    CALLER_LEFT,
    HANGUP,
    IN_PROGRESS,
    LOGGED_OUT,
    NO_ANSWER,
    NO_EFFECTS,
    ON_CALL,
    OUTCOMES,
    PAUSED,
    RINGING,
    TRANSFERRED,
    UNANSWERED,
    WRAP_UP,
    AgentChanged,
    AgentView,
    CallAnswered,
    CallDismissed,
    CallEnded,
    CallFinished,
    CallRinging,
    CallSummary,
    CallUpdated,
    CallView,
    Effect,
    QueueChanged,
    QueueView,
    WaitingCaller,
)
from telephony.callstate.tracker import CallTracker

__all__ = [
    "ABANDONED", "AGENT_STATES", "ANSWERED", "ANSWERED_ELSEWHERE", "AVAILABLE",
    "CALLER_LEFT", "CALL_CONNECTED", "CALL_DIALPLAN", "CALL_FINISHED", "CALL_QUEUED",
    "CALL_RINGING", "CALL_STATES", "HANGUP", "IN_PROGRESS", "LOGGED_OUT", "NO_ANSWER",
    "NO_EFFECTS", "ON_CALL", "OUTCOMES", "PAUSED", "RINGING", "TRANSFERRED", "UNANSWERED",
    "WRAP_UP", "ACW_REASON", "AgentChanged", "AgentView", "CallAnswered", "CallDismissed",
    "CallEnded",
    "CallFinished", "CallRinging", "CallSummary", "CallTracker", "CallUpdated", "CallView",
    "Effect", "QueueChanged", "QueueView", "WaitingCaller",
]
