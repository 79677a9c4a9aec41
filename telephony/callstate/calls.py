"""Event handlers for calls: channels, the queue, the bridge, transfers (legs.py has the
member legs), and the helpers both share.

Orders that matter, all from the captures (01/02/02b/03/05):

* ringall: the winner's ``DialEnd ANSWER``, the losers' ``DialEnd CANCEL`` (sometimes
  twice) and ``Hangup Cause 26`` come *before* ``QueueCallerLeave`` and ``AgentConnect``;
  losers get no Agent* event. So a CANCEL after an ANSWER on the same call means
  "answered elsewhere", a CANCEL without one "the caller left".
* ``AgentComplete`` usually precedes the Hangup of the agent's ``;1`` leg, but not always
  (02 has one after it, without the Dest* part). Its ``TalkTime`` and ``AgentConnect``'s
  ``HoldTime`` are the numbers queue_log writes, so they are used as is, and read_at
  differences only when a field is missing or garbage (or to bridge the gap until a
  late AgentComplete corrects them).
* abandon/timeout: ``QueueCallerAbandon`` (HoldTime) then ``QueueCallerLeave``.
* a transfer of the connected caller: ``BlindTransfer``/``AttendedTransfer`` (or an AMI
  Redirect, which shows only as the queue channel leaving the bridge while the customer
  is still up), then ``AgentComplete Reason: transfer``; the caller may join a queue
  again with the same Queue() channel.
"""

from __future__ import annotations

from collections.abc import Mapping

from telephony.callstate.agents import AgentBook
from telephony.callstate.effects import (
    ANSWERED_ELSEWHERE,
    CALL_AGENT_VARIABLE,
    CALL_CONNECTED,
    CALL_DIALPLAN,
    CALL_FINISHED,
    CALL_KIND_MONITOR,
    CALL_KIND_OUTBOUND,
    CALL_KIND_VARIABLE,
    CALL_NUMBER_VARIABLE,
    CALLER_LEFT,
    HANGUP,
    NO_ANSWER,
    NO_EFFECTS,
    OUTBOUND,
    TRANSFERRED,
    CallAnswered,
    CallDismissed,
    CallEnded,
    CallFinished,
    CallUpdated,
    Effect,
)
from telephony.callstate.model import (
    LEG_CONNECTED,
    LEG_DISMISSED,
    LEG_ENDED,
    LEG_RINGING,
    Call,
    Leg,
    clean_cid,
)

Frame = Mapping[str, str]
_OWN_VARIABLES = frozenset((CALL_KIND_VARIABLE, CALL_AGENT_VARIABLE, CALL_NUMBER_VARIABLE))


def seconds_field(value: str | None) -> float | None:
    """HoldTime/TalkTime: whole non-negative seconds, or None for missing/garbage."""
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        return None
    return float(number) if 0 <= number < 10_000_000 else None


class CallEvents:
    """Mixin of CallTracker: the per-call handlers. State lives on the tracker."""

    _calls: dict[str, Call]
    _finished: dict[str, None]
    _gone: dict[str, None]
    _not_calls: dict[str, None]
    _book: AgentBook
    stats: dict[str, int]
    finished_memory: int

    # -- helpers ----------------------------------------------------------------------
    def _lookup(self, frame: Frame) -> Call | None:
        link = frame.get("Linkedid") or frame.get("DestLinkedid")
        call = self._calls.get(link) if link else None
        if call is None and link not in self._not_calls:
            self.stats["unknown_call"] += 1
        return call

    def _adopt(self, link: str, now: float) -> Call | None:
        call = self._calls.get(link)
        if call is None:
            if link in self._not_calls:
                return None  # a monitoring session's channels: no call
            if link in self._finished:
                self.stats["replayed"] += 1  # a Linkedid is never reused: a replay
                return None
            call = self._calls[link] = Call(link, now)
        return call

    def _lookup_or_adopt(self, f: Frame, now: float) -> tuple[Call | None, bool]:
        """For the caller's queue events (Abandon, AgentCalled, AgentConnect): a call
        whose start was missed (reconnect, tracker started mid-call) is taken up from the
        event's caller snapshot, its Queue() channel and a stay open since ``now``."""
        link, uid = f.get("Linkedid"), f.get("Uniqueid")
        call = self._calls.get(link) if link else None
        if call is not None or not link or not uid or not f.get("Queue"):
            if call is None:
                self.stats["unknown_call"] += 1
            return call, False
        call = self._adopt(link, now)
        if call is None:
            return None, False
        self.stats["adopted"] += 1
        call.see_channel(uid)
        call.queue_uniqueid = uid
        call.queue_channel = f.get("Channel") or None
        call.queue = f.get("Queue")
        call.queued_at = now
        call.ever_queued = True
        call.stint_joined, call.stint_final = now, False
        call.caller_number = clean_cid(f.get("CallerIDNum"))
        call.caller_name = clean_cid(f.get("CallerIDName"))
        return call, True

    def _updated(self, call: Call, now: float, out: list[Effect]) -> None:
        out.append(CallUpdated(call.view(), call.summary(), now))

    def _leave_waiting(self, call: Call, now: float, out: list[Effect]) -> None:
        name = call.waiting_in
        if name is not None:
            call.waiting_in = None
            queue = self._book.queues.get(name)
            if queue is not None and queue.waiting.pop(call.call_id, None) is not None:
                self._book.queue_changed(name, now, out)

    def _dismiss(self, call: Call, leg: Leg, reason: str, now: float,
                 out: list[Effect]) -> None:
        leg.status = LEG_DISMISSED
        call.ringing -= 1
        agent = self._book.agents.get(leg.interface)
        out.append(CallDismissed(call.view(), leg.interface, reason, now))
        if call.current is None and call.state != CALL_FINISHED:
            call.state = call.idle_state()
        if agent is not None:
            agent.ringing.discard(leg.uid)
            self._book.refresh(agent, now, out)

    def _dismiss_all(self, call: Call, reason: str, now: float, out: list[Effect]) -> None:
        if call.ringing:
            for leg in list(call.legs.values()):
                if leg.status == LEG_RINGING:
                    self._dismiss(call, leg, reason, now, out)

    def _end_leg(self, call: Call, leg: Leg, talk: float | None, transferred: bool,
                 now: float, out: list[Effect]) -> None:
        leg.status = LEG_ENDED
        if talk is None:
            talk = leg.talk_estimate = max(0.0, now - leg.connected_at)
        call.talk_total += talk
        call.has_talk = True
        call.current = None
        call.last_transferred = transferred
        call.transfer_pending = call.left_bridge = False
        if call.state != CALL_FINISHED:
            call.state = call.idle_state()
        out.append(CallEnded(call.view(), leg.interface, TRANSFERRED if transferred else HANGUP,
                             now))
        agent = self._book.agents.get(leg.interface)
        if agent is not None:
            agent.talking.discard(leg.uid)
            self._book.start_wrapup(agent, leg.queue, now)
            self._book.refresh(agent, now, out)

    def _was_transfer(self, call: Call) -> bool:
        # A Redirect of the caller out of the bridge leaves no transfer event: the queue
        # channel leaves the bridge while the customer's channel is up and nobody asked
        # for a hangup. An agent or caller hang-up leaves it *after* AgentComplete.
        return call.transfer_pending or (call.left_bridge and not call.hangup_requested
                                         and call.call_id in call.channels)

    def _finish(self, call: Call, now: float, out: list[Effect]) -> None:
        self._dismiss_all(call, CALLER_LEFT, now, out)
        if call.current is not None:
            self._end_leg(call, call.current, None, self._was_transfer(call), now, out)
        self._leave_waiting(call, now, out)
        call.close_stint(now)
        self._end_outbound_talk(call, now, out)
        call.ended_at = now
        call.state = CALL_FINISHED
        out.append(CallFinished(call.view(), call.summary(), now))
        self._calls.pop(call.call_id, None)
        finished = self._finished
        finished[call.call_id] = None
        if len(finished) > self.finished_memory:
            del finished[next(iter(finished))]

    # -- channels -----------------------------------------------------------------------
    def _on_newchannel(self, f: Frame, now: float) -> list[Effect]:
        link = f.get("Linkedid")
        uid = f.get("Uniqueid")
        if not link or not uid:
            self.stats["missing_fields"] += 1
            return NO_EFFECTS
        call = self._adopt(link, now)
        if call is not None:
            call.see_channel(uid)
            call.touched = now
            if uid == link and not call.caller_number:
                call.caller_number = clean_cid(f.get("CallerIDNum"))
                call.caller_name = clean_cid(f.get("CallerIDName"))
        return NO_EFFECTS

    def _on_newcallerid(self, f: Frame, now: float) -> list[Effect]:
        call = self._lookup(f)
        if call is not None and call.waiting_in is None and call.current is None:
            uid = f.get("Uniqueid")
            if uid == call.call_id or uid == call.queue_uniqueid:
                if call.direction != OUTBOUND:  # outbound: CC_NUMBER is the number
                    call.caller_number = clean_cid(f.get("CallerIDNum"))
                call.caller_name = clean_cid(f.get("CallerIDName"))
        return NO_EFFECTS

    def _on_hangup_request(self, f: Frame, now: float) -> list[Effect]:
        call = self._calls.get(f.get("Linkedid") or "")
        if call is not None:
            uid = f.get("Uniqueid")
            if uid == call.call_id or uid == call.queue_uniqueid:
                call.hangup_requested = True
        return NO_EFFECTS

    def _on_hangup(self, f: Frame, now: float) -> list[Effect]:
        uid = f.get("Uniqueid")
        call = self._lookup(f)
        if call is None or not uid:
            return NO_EFFECTS
        call.touched = now
        call.channels.discard(uid)
        gone = self._gone
        gone[uid] = None
        if len(gone) > 4 * self.finished_memory:
            del gone[next(iter(gone))]
        out: list[Effect] = []
        leg = call.legs.get(uid)
        if call.direction == OUTBOUND:
            if uid in (call.call_id, call.callee_uid) and \
                    self._end_outbound_talk(call, now, out):  # the customer or agent hung up
                self._updated(call, now, out)
        elif leg is not None:
            if leg.status == LEG_RINGING:
                if f.get("Cause") == "26" or call.dial_answered or call.current is not None:
                    reason = ANSWERED_ELSEWHERE
                elif call.waiting_in is None or call.call_id not in call.channels:
                    reason = CALLER_LEFT
                else:
                    reason = NO_ANSWER
                self._dismiss(call, leg, reason, now, out)
            elif leg.status == LEG_CONNECTED:
                # no AgentComplete came (missed, or an agent leg outside app_queue)
                self._end_leg(call, leg, None, self._was_transfer(call), now, out)
                self._updated(call, now, out)
        elif uid == call.queue_uniqueid:
            self._dismiss_all(call, CALLER_LEFT, now, out)
        if not call.channels:
            self._finish(call, now, out)
        return out or NO_EFFECTS

    def _on_varset(self, f: Frame, now: float) -> list[Effect]:
        variable = f.get("Variable")
        if variable in _OWN_VARIABLES:
            return self._on_own_variable(variable, f, now)
        if variable == "CUSTOMER_ID":
            call = self._lookup(f)
            if call is None:
                return NO_EFFECTS
            value = (f.get("Value") or "").strip()
            customer = int(value) if value.isascii() and value.isdigit() and len(value) < 19 \
                else None
            if customer is None and value:
                self.stats["bad_values"] += 1
            if customer != call.customer_id:
                call.customer_id = customer
                out: list[Effect] = []
                self._updated(call, now, out)
                return out
        elif variable == "QUEUESTATUS":
            call = self._lookup(f)
            if call is not None:
                call.queue_status = f.get("Value")
        return NO_EFFECTS

    # -- calls the bridge originated ----------------------------------------------------
    def _on_own_variable(self, variable: str, f: Frame, now: float) -> list[Effect]:
        """CC_CALL_KIND / CC_AGENT / CC_NUMBER of the bridge's own Originate (both Local
        halves report them, right after their Newchannel: the second changes nothing)."""
        link = f.get("Linkedid")
        call = self._calls.get(link) if link else None
        if call is None or call.ever_queued:
            return NO_EFFECTS  # unknown, or a queued caller: never ours to re-mark
        value = (f.get("Value") or "").strip()
        if variable == CALL_KIND_VARIABLE:
            if value == CALL_KIND_MONITOR:
                # a supervisor's phone running ChanSpy: no customer call. Nothing was
                # reported of it yet (Newchannel/NewCallerid give no effects): forget it
                # and every later frame of its Linkedid.
                del self._calls[call.call_id]
                not_calls = self._not_calls
                not_calls[call.call_id] = None
                if len(not_calls) > self.finished_memory:
                    del not_calls[next(iter(not_calls))]
                self.stats["monitor_sessions"] += 1
                return NO_EFFECTS
            if value != CALL_KIND_OUTBOUND or call.direction == OUTBOUND:
                return NO_EFFECTS
            call.direction = OUTBOUND
        elif call.direction != OUTBOUND:
            return NO_EFFECTS
        elif variable == CALL_AGENT_VARIABLE:
            if not value or call.agents == [value]:
                return NO_EFFECTS
            call.agents = [value]
        else:  # CALL_NUMBER_VARIABLE
            if value == call.caller_number:
                return NO_EFFECTS
            call.caller_number = clean_cid(value)
        call.touched = now
        out: list[Effect] = []
        self._updated(call, now, out)
        return out

    def _outbound_dial_end(self, call: Call, f: Frame, now: float) -> list[Effect]:
        """The DialEnd of the agent side's Dial() to the customer ([outbound]): its
        Channel is the call's own (the Originate's DialEnd, of the agent's phone,
        carries only Dest* fields and says nothing of the customer)."""
        if f.get("Linkedid") != call.call_id or f.get("Uniqueid") not in call.channels:
            return NO_EFFECTS
        status = f.get("DialStatus") or ""
        if status == call.dial_status:
            return NO_EFFECTS
        call.dial_status = status
        call.touched = now
        out: list[Effect] = []
        if status == "ANSWER" and call.answered_at is None:
            self._answer_outbound(call, f.get("DestUniqueid") or None, now, now, out)
        self._updated(call, now, out)
        return out

    def _answer_outbound(self, call: Call, callee_uid: str | None, answered_at: float,
                         now: float, out: list[Effect]) -> None:
        """Outbound: the customer answered (``callee_uid``, at ``answered_at``); the
        dialling agent's desk pops, as for a queue call."""
        call.answered_at = answered_at
        call.callee_uid = callee_uid
        call.dial_status = "ANSWER"
        call.state = CALL_CONNECTED
        call.touched = now
        if call.agents:
            out.append(CallAnswered(call.view(), call.agents[-1], now))

    def _end_outbound_talk(self, call: Call, now: float, out: list[Effect]) -> bool:
        """Outbound: the talk with the customer ends (once); the dialling agent gets
        ``CallEnded`` like an agent of a queue call (their wrap-up). False when there
        was no talk to end (never answered, or already over)."""
        if call.direction != OUTBOUND or call.answered_at is None or call.has_talk:
            return False
        call.end_outbound_talk(now)
        if call.state != CALL_FINISHED:
            call.state = CALL_DIALPLAN
        if call.agents:
            out.append(CallEnded(call.view(), call.agents[-1], HANGUP, now))
        return True

    # -- the queue ----------------------------------------------------------------------
    def _on_queue_join(self, f: Frame, now: float) -> list[Effect]:
        link, uid, name = f.get("Linkedid"), f.get("Uniqueid"), f.get("Queue")
        if not link or not uid or not name:
            self.stats["missing_fields"] += 1
            return NO_EFFECTS
        call = self._adopt(link, now)
        if call is None or call.waiting_in == name:
            return NO_EFFECTS
        out: list[Effect] = []
        self._leave_waiting(call, now, out)
        call.close_stint(now)
        call.see_channel(uid)
        call.touched = now
        if call.queue_uniqueid is None:
            call.queue_uniqueid = uid
        if uid == call.queue_uniqueid:
            call.queue_channel = f.get("Channel") or call.queue_channel
        number = clean_cid(f.get("CallerIDNum"))
        if number or not call.caller_number:
            call.caller_number = number
            call.caller_name = clean_cid(f.get("CallerIDName"))
        call.queue = name
        if call.queued_at is None:
            call.queued_at = now
        call.ever_queued = True
        call.stint_joined, call.stint_left, call.stint_final = now, None, False
        call.dial_answered = False
        call.waiting_in = name
        self._book.queue(name).waiting[call.call_id] = (call.caller_number, now)
        if call.current is None:
            call.state = call.idle_state()
        self._book.queue_changed(name, now, out)
        self._updated(call, now, out)
        return out

    def _on_queue_leave(self, f: Frame, now: float) -> list[Effect]:
        call = self._lookup(f)
        if call is None or call.waiting_in is None:
            return NO_EFFECTS
        out: list[Effect] = []
        call.stint_left = now
        self._leave_waiting(call, now, out)
        if call.current is None:
            call.state = call.idle_state()
        return out or NO_EFFECTS

    def _on_queue_abandon(self, f: Frame, now: float) -> list[Effect]:
        call, _ = self._lookup_or_adopt(f, now)
        if call is None or call.stint_final:
            return NO_EFFECTS
        out: list[Effect] = []
        wait = seconds_field(f.get("HoldTime"))
        if wait is None and call.stint_joined is not None:
            wait = max(0.0, now - call.stint_joined)
        call.count_wait(wait or 0.0)
        call.abandoned = True
        self._dismiss_all(call, CALLER_LEFT, now, out)
        self._leave_waiting(call, now, out)
        call.state = call.idle_state() if call.current is None else call.state
        self._updated(call, now, out)
        return out

    # -- bridge and transfers -------------------------------------------------------------
    def _on_bridge_leave(self, f: Frame, now: float) -> list[Effect]:
        call = self._calls.get(f.get("Linkedid") or "")
        if call is not None and call.current is not None and \
                f.get("Uniqueid") == call.queue_uniqueid:
            call.left_bridge = True
        return NO_EFFECTS

    def _on_transfer(self, f: Frame, now: float) -> list[Effect]:
        if f.get("Result", "Success") != "Success":
            return NO_EFFECTS
        for key in ("TransfereeLinkedid", "TransfererLinkedid", "OrigTransfererLinkedid",
                    "SecondTransfererLinkedid"):
            call = self._calls.get(f.get(key) or "")
            if call is not None and call.current is not None:
                call.transfer_pending = True
        return NO_EFFECTS


__all__ = ["CallEvents", "Frame", "seconds_field"]
