"""Event handlers for the member legs app_queue dials: ring, answer, dismiss, complete.

A rung member is ``Local/agentN@agents-XXXXXXXX;1``; AgentCalled names it in
``DestChannel``/``DestUniqueid`` next to the member's ``Interface``, and every later
event of that leg (DialEnd, Hangup, AgentRingNoAnswer, AgentConnect, AgentComplete) is
matched by that Uniqueid, falling back to the Interface when the Dest* part is missing
(AgentComplete after the member channel is gone, 02; a member removed mid-call, 05).
"""

from __future__ import annotations

from telephony.callstate.calls import CallEvents, Frame, seconds_field
from telephony.callstate.effects import (
    ANSWERED_ELSEWHERE,
    CALL_CONNECTED,
    CALL_RINGING,
    CALLER_LEFT,
    NO_ANSWER,
    NO_EFFECTS,
    OUTBOUND,
    CallAnswered,
    CallRinging,
    Effect,
)
from telephony.callstate.model import LEG_CONNECTED, LEG_ENDED, LEG_RINGING, Call, Leg


class LegEvents(CallEvents):
    """Mixin of CallTracker (after CallEvents): the member-leg handlers."""

    def _on_agent_called(self, f: Frame, now: float) -> list[Effect]:
        uid, interface = f.get("DestUniqueid"), f.get("Interface")
        if not uid or not interface:
            self.stats["missing_fields"] += 1
            return NO_EFFECTS
        call, adopted = self._lookup_or_adopt(f, now)
        if call is None or uid in call.legs:
            return NO_EFFECTS
        out: list[Effect] = []
        if adopted:
            self._updated(call, now, out)
        return out + self._ring(call, uid, f.get("DestChannel") or "", interface,
                          f.get("MemberName") or "", f.get("Queue") or call.queue, now)

    def _ring(self, call: Call, uid: str, channel: str, interface: str, name: str,
              queue: str | None, now: float) -> list[Effect]:
        leg = call.legs[uid] = Leg(uid, channel, interface, name, queue, now)
        call.channels.add(uid)  # normally known from Newchannel; not after a reconnect
        call.ringing += 1
        call.touched = now
        if call.current is None:
            call.state = CALL_RINGING
        agent = self._book.agent(interface, name, now)
        agent.ringing.add(leg.uid)
        out: list[Effect] = [CallRinging(call.view(), interface, now)]
        self._book.ensure_member(agent, queue, now, out)
        self._book.refresh(agent, now, out)
        return out

    def _ringing_leg(self, call: Call, f: Frame) -> Leg | None:
        leg = call.legs.get(f.get("DestUniqueid") or "")
        if leg is None:
            interface = f.get("Interface")
            for candidate in call.legs.values():
                if candidate.status == LEG_RINGING and candidate.interface == interface:
                    return candidate
        return leg

    def _on_dial_end(self, f: Frame, now: float) -> list[Effect]:
        link = f.get("Linkedid") or f.get("DestLinkedid")
        call = self._calls.get(link) if link else None
        if call is None:
            return NO_EFFECTS  # the originate's own DialEnd carries no caller: not ours
        if call.direction == OUTBOUND:
            return self._outbound_dial_end(call, f, now)
        leg = call.legs.get(f.get("DestUniqueid") or "")
        if leg is None or leg.status != LEG_RINGING:
            return NO_EFFECTS  # not a member leg, or a duplicate CANCEL (02)
        status = f.get("DialStatus")
        if status == "ANSWER":
            leg.dial_answered = call.dial_answered = True
            return NO_EFFECTS
        if status == "CANCEL":
            reason = ANSWERED_ELSEWHERE if (call.dial_answered or call.current) else CALLER_LEFT
        else:  # NOANSWER, BUSY, CONGESTION, CHANUNAVAIL, ...
            reason = NO_ANSWER
        out: list[Effect] = []
        self._dismiss(call, leg, reason, now, out)
        return out

    def _on_ring_no_answer(self, f: Frame, now: float) -> list[Effect]:
        call = self._lookup(f)
        if call is None:
            return NO_EFFECTS
        leg = self._ringing_leg(call, f)
        if leg is None or leg.status != LEG_RINGING:
            return NO_EFFECTS
        out: list[Effect] = []
        self._dismiss(call, leg, NO_ANSWER, now, out)
        return out

    def _on_agent_connect(self, f: Frame, now: float) -> list[Effect]:
        interface = f.get("Interface")
        call, _ = self._lookup_or_adopt(f, now)
        if call is None or not interface:
            return NO_EFFECTS
        leg = self._ringing_leg(call, f)
        if leg is not None and leg.status in (LEG_CONNECTED, LEG_ENDED):
            return NO_EFFECTS  # duplicate
        out: list[Effect] = []
        agent = self._book.agent(interface, f.get("MemberName"), now)
        if leg is None:  # AgentCalled missed (reconnect): connect without a ring
            uid = f.get("DestUniqueid") or f"{call.call_id}/{interface}/{len(call.legs)}"
            leg = call.legs[uid] = Leg(uid, f.get("DestChannel") or "", interface,
                                       f.get("MemberName") or "", f.get("Queue"), now,
                                       LEG_CONNECTED)
        elif leg.status == LEG_RINGING:
            call.ringing -= 1
            agent.ringing.discard(leg.uid)
        leg.status = LEG_CONNECTED
        leg.connected_at = now
        leg.queue = f.get("Queue") or leg.queue
        agent.talking.add(leg.uid)
        hold = seconds_field(f.get("HoldTime"))
        if hold is None and call.stint_joined is not None:
            hold = max(0.0, now - call.stint_joined)
        call.count_wait(hold or 0.0)
        self._leave_waiting(call, now, out)
        call.current = leg
        call.agents.append(interface)
        if call.answered_at is None:
            call.answered_at = now
        call.state = CALL_CONNECTED
        call.last_transferred = call.transfer_pending = False
        call.left_bridge = call.hangup_requested = False
        call.touched = now
        self._dismiss_all(call, ANSWERED_ELSEWHERE, now, out)
        out.append(CallAnswered(call.view(), interface, now))
        self._book.ensure_member(agent, leg.queue, now, out)
        self._book.refresh(agent, now, out)
        self._updated(call, now, out)
        return out

    def _on_agent_complete(self, f: Frame, now: float) -> list[Effect]:
        call = self._lookup(f)
        if call is None:
            return NO_EFFECTS
        leg = call.legs.get(f.get("DestUniqueid") or "")
        if leg is None:
            # No Dest* part when the member channel is already gone (02) or the member was
            # removed mid-call: match the interface, or take the connected leg.
            interface = f.get("Interface")
            current = call.current
            leg = current if current is not None and interface in (None, current.interface) \
                else next((c for c in reversed(call.legs.values())
                           if c.interface == interface and c.talk_estimate is not None), None)
        if leg is None:
            return NO_EFFECTS
        out: list[Effect] = []
        if leg.status == LEG_ENDED and leg.talk_estimate is not None:
            # the leg's Hangup came first and ended it: put Asterisk's TalkTime in place
            talk = seconds_field(f.get("TalkTime"))
            if talk is not None:
                call.talk_total += talk - leg.talk_estimate
            leg.talk_estimate = None
            if f.get("Reason") == "transfer" and call.current is None and \
                    call.agents and call.agents[-1] == leg.interface:
                call.last_transferred = True
            self._updated(call, now, out)
            return out
        if leg.status != LEG_CONNECTED:
            return NO_EFFECTS
        transferred = f.get("Reason") == "transfer" or self._was_transfer(call)
        self._end_leg(call, leg, seconds_field(f.get("TalkTime")), transferred, now, out)
        call.touched = now
        self._updated(call, now, out)
        return out
