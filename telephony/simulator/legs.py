"""Member legs: the ``Local/agentN@agents-XXXXXXXX;1/;2`` pair app_queue dials per member.

Event order follows 01_single_answered / 02b_ringall_no_answer: Newchannel x2, the
[agents] dialplan noise, LocalBridge, Newstate Ringing, AgentCalled, DialBegin, then the
device going INUSE (QueueMemberStatus Status 2, never 6 for Local members).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from telephony.simulator.frames import Channel

if TYPE_CHECKING:
    from telephony.simulator.callerid import CallerId
    from telephony.simulator.pbx import Pbx
    from telephony.simulator.queues import Member, Queue

PRES_ALLOWED = [("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")]


@dataclass(eq=False)
class AgentLeg:
    member: Member
    one: Channel  # dialled by app_queue, ends up in the bridge
    two: Channel  # runs [agents]
    answer_after: float | None  # seconds of ringing before the agent answers; None: never
    started: float
    answered: float | None = None


def member_pairs(queue: Queue, member: Member) -> list[tuple[str, str]]:
    return [("Queue", queue.name), ("Interface", member.interface),
            ("MemberName", member.name)]


def ring(pbx: Pbx, caller: Channel, cid: CallerId, queue: Queue, member: Member,
         answer_after: float | None, qtimeout: str) -> AgentLeg:
    device = member.device
    exten = device.exten
    one, two = pbx.new_local_pair(exten, "agents", linkedid=caller.linkedid)
    one.role, two.role = "agent1", "agent2"
    one.owner = two.owner = caller.owner
    pbx.newchannel(one)
    pbx.newchannel(two)
    one.cid_num, one.cid_name = cid.num, cid.name
    pbx.newexten(one, 1, "AppQueue", "(Outgoing Line)")
    if cid.num or cid.name:
        pbx.chan_event("NewCallerid", "call", one, PRES_ALLOWED)
    peer = member.interface.split("/", 1)[-1]
    pbx.varsets(one, [("__QTIMEOUT", qtimeout), ("DIALEDPEERNUMBER", peer)])
    pbx.varsets(two, [("DIALEDPEERNUMBER", peer), ("__QTIMEOUT", qtimeout)])
    pbx.set_callerid(two, cid.num, cid.name, connected=True)
    pbx.local_bridge(one, two, optimize=False)
    pbx.newexten(two, 1, "Set", f"AGENT={exten}")
    pbx.varset(two, "AGENT", exten)
    pbx.newexten(two, 2, "Goto", "agent,1")
    pbx.newexten(two, 1, "NoOp", f"{exten} ringing for {cid.num} queue=", exten="agent")
    pbx.newexten(two, 2, "Ringing", "")
    one.exten = "s"
    pbx.set_state(one, 5)
    pbx.newexten(one, 1, "AppQueue", "(Outgoing Line)")
    if cid.num or cid.name:
        one.conn_num, one.conn_name = cid.num, cid.name
        pbx.chan_event("NewConnectedLine", "call", one)
    if answer_after is None:
        pbx.newexten(two, 3, "GotoIf", "1?away")
        pbx.newexten(two, 10, "Wait", "60")
    else:
        ringsecs = str(max(1, round(answer_after)))
        pbx.newexten(two, 3, "Set", f"RINGSECS={ringsecs}")
        pbx.varset(two, "RINGSECS", ringsecs)
        pbx.newexten(two, 4, "ExecIf", "0?Busy(3)")
        pbx.newexten(two, 5, "Wait", ringsecs)
    pbx.dial_event("AgentCalled", caller, one, member_pairs(queue, member), privilege="agent")
    pbx.dial_event("DialBegin", caller, one, [("DialString", member.interface)])
    device.ringing += 1
    pbx.device_changed(device)
    return AgentLeg(member, one, two, answer_after, time.time())


def dial_state_ringing(pbx: Pbx, caller: Channel, legs: list[AgentLeg]) -> None:
    for leg in reversed(legs):
        pbx.dial_event("DialState", caller, leg.one, [("DialStatus", "RINGING")])


def answer(pbx: Pbx, caller: Channel, leg: AgentLeg) -> None:
    pbx.newexten(leg.two, 6, "Answer", "")
    pbx.set_state(leg.two, 6)
    pbx.set_state(leg.one, 6)
    leg.answered = time.time()
    pbx.dial_event("DialEnd", caller, leg.one, [("DialStatus", "ANSWER")])


def cancel_answered_elsewhere(pbx: Pbx, caller: Channel, leg: AgentLeg) -> None:
    """First half of a ringall loser: DialEnd CANCEL, the ;1 hangs up with cause 26."""
    pbx.dial_event("DialEnd", caller, leg.one, [("DialStatus", "CANCEL")])
    pbx.chan_event("HangupRequest", "call", leg.two, [("Cause", "26")])
    pbx.hangup(leg.one, 26)


def finish_answered_elsewhere(pbx: Pbx, leg: AgentLeg) -> None:
    """Second half: the ;2 goes with cause 26, CDR NO ANSWER, the device frees up."""
    pbx.hangup(leg.two, 26, request="SoftHangupRequest", request_cause=16)
    pbx.cdr(leg.two, "NO ANSWER", None)
    leg.member.device.ringing -= 1
    pbx.device_changed(leg.member.device)


def cancel(pbx: Pbx, caller: Channel, leg: AgentLeg, dial_status: str) -> None:
    """Ring timeout (NOANSWER) or the caller going away (CANCEL): cause 0 everywhere."""
    pbx.dial_event("DialEnd", caller, leg.one, [("DialStatus", dial_status)])
    pbx.chan_event("HangupRequest", "call", leg.two, [("Cause", "0")])
    pbx.hangup(leg.one, 0)
    pbx.cdr(leg.two, "FAILED" if dial_status == "NOANSWER" else "NO ANSWER", None)
    pbx.hangup(leg.two, 0, request="SoftHangupRequest", request_cause=16)
    leg.member.device.ringing -= 1
    pbx.device_changed(leg.member.device)


def ring_no_answer(pbx: Pbx, caller: Channel, queue: Queue, legs: list[AgentLeg],
                   ring_ms: int) -> None:
    for leg in legs:
        pbx.dial_event("AgentRingNoAnswer", caller, leg.one,
                       [*member_pairs(queue, leg.member), ("RingTime", str(ring_ms))],
                       privilege="agent")
        pbx.log(caller.uniqueid, queue.name, leg.member.name, "RINGNOANSWER", ring_ms)
    for leg in legs:
        cancel(pbx, caller, leg, "NOANSWER")
