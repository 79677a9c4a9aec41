"""One inbound call from Originate to the last Hangup, as the captured Asterisk runs it.

``Local/s@inbound-XXXXXXXX;1`` is the customer, ``;2`` runs [inbound]: Answer, the
FastAGI lookup, Queue(). Linkedid of every channel is the ;1's Uniqueid; queue events
and queue_log use the ;2's. Ordering of each phase follows the captures; see talk.py for
the connected half.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from typing import TYPE_CHECKING

from telephony.simulator import legs as member_legs
from telephony.simulator.agi import AgiSession
from telephony.simulator.callerid import CallerId
from telephony.simulator.frames import Channel
from telephony.simulator.queues import Queue, QueueEntry
from telephony.simulator.talk import ConnectedPhase

if TYPE_CHECKING:
    from telephony.simulator.pbx import Pbx

EMPTY_TIMES = ("ANSWEREDTIME", "ANSWEREDTIME_MS", "DIALEDTIME", "DIALEDTIME_MS",
               "QUEUEWAIT", "QUEUEWAIT_MS")
POLL = 0.25  # members leaving wrap-up raise no event; waiting callers look again this often


class Call(ConnectedPhase):
    def __init__(self, pbx: Pbx, number: int, cid: CallerId, rng: random.Random,
                 queue: str, action_id: str | None = None, application: str = "Wait",
                 data: str = "120", variables: list[tuple[str, str]] | None = None,
                 exten: str = "s") -> None:
        cfg = pbx.config
        self.pbx = pbx
        self.number = number
        self.cid = cid
        self.rng = rng
        self.queue_name = queue
        self.action_id = action_id if action_id is not None else f"sim-{number}"
        self.application = application
        self.data = data
        self.variables = variables if variables is not None else [("CALLTAG", f"sim-{number}")]
        self.exten = exten
        self.qtimeout = 10 if exten == "short" else int(cfg.queue_timeout)
        # every random choice of this call comes from its own stream: --seed reproduces it
        self.patience = rng.uniform(*cfg.patience) if rng.random() < cfg.abandon_prob else None
        self.talk_time = rng.uniform(*cfg.talk_time)
        self.transfer_wanted = rng.random() < cfg.transfer_prob
        self.caller_ends = rng.random() < cfg.caller_hangup_prob
        self.caller_gone = False
        self.agent_gone = False
        self.redirect: tuple[str, str] | None = None
        self.wake = asyncio.Event()
        self.priority = 0
        self.customer = ""
        self.one: Channel
        self.two: Channel
        self.answered_at = 0.0
        self.ringing_legs: list[member_legs.AgentLeg] = []
        self.finished = False

    @property
    def linkedid(self) -> str:
        return self.one.linkedid

    # -- control from AMI actions -----------------------------------------------
    def hangup_channel(self, channel: Channel) -> None:
        if channel.role.startswith("caller"):
            self.caller_gone = True
        else:
            self.agent_gone = True
        self.wake.set()

    def redirect_to(self, context: str, exten: str) -> None:
        self.redirect = (context, exten)
        self.wake.set()

    def _interrupted(self) -> bool:
        return self.caller_gone or self.agent_gone or self.redirect is not None

    async def _sleep(self, seconds: float, queue: Queue | None = None) -> None:
        """Sleep, but wake at once on an AMI action for this call (or a queue change)."""
        if self._interrupted() or seconds <= 0:
            return
        self.wake.clear()
        waiters = [asyncio.ensure_future(self.wake.wait())]
        if queue is not None:
            waiters.append(asyncio.ensure_future(queue._changed.wait()))
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    # -- the call -----------------------------------------------------------------
    async def run(self) -> None:
        pbx = self.pbx
        self._originate()
        status = ""
        if pbx.config.agi_host:
            pbx.newexten(self.two, 4, "AGI",
                         f"agi://{pbx.config.agi_host}:{pbx.config.agi_port}/lookup,"
                         f"{self.cid.num}")
            session = AgiSession(pbx, self.two, self.cid, "lookup", [self.cid.num])
            status = await session.run()
        if status == "HANGUP" or self.caller_gone:
            self._hangup_before_queue()
            return
        variables = self.two.variables
        self.customer = variables.get("CUSTOMER_ID", "")
        prio = variables.get("QUEUE_PRIORITY", "")
        self.priority = int(prio) if prio.strip().lstrip("-").isdigit() else 0
        pbx.newexten(self.two, 5, "NoOp", f"AGISTATUS={status} CUSTOMER_ID={self.customer} "
                                          f"QUEUE_PRIORITY={prio}")
        pbx.newexten(self.two, 6, "Set", f"CDR(userfield)=customer={self.customer};prio={prio}")
        pbx.newexten(self.two, 7, "Set", f"QUEUE_PRIO={prio}")
        pbx.varset(self.two, "QUEUE_PRIO", prio)
        pbx.newexten(self.two, 8, "Queue", f"{self.queue_name},r,,,{self.qtimeout}")
        queue_name: str | None = self.queue_name
        while queue_name is not None and not self.finished:
            queue_name = await self._queue(pbx.queues[queue_name])

    def _originate(self) -> None:
        """Originate Local/<exten>@inbound: both halves up, the ;2 answered."""
        pbx, cid = self.pbx, self.cid
        one, two = pbx.new_local_pair(self.exten, "inbound")
        one.role, two.role = "caller1", "caller2"
        one.owner = two.owner = self
        self.one, self.two = one, two
        pbx.newchannel(one)
        pbx.newchannel(two)
        pbx.newexten(one, 1, "AppDial2", "(Outgoing Line)")
        pbx.varsets(one, self.variables)
        pbx.set_callerid(one, cid.num, cid.name, connected=True)
        pbx.varsets(two, self.variables)
        pbx.set_callerid(two, cid.num, cid.name, connected=True)
        pbx.local_bridge(one, two, optimize=True)
        pbx.dial_event("DialBegin", None, one, [("DialString", f"{self.exten}@inbound")])
        pbx.newexten(two, 1, "Set", f"__QTIMEOUT={self.qtimeout}")
        pbx.varset(two, "__QTIMEOUT", str(self.qtimeout))
        pres = "unavailable" if cid.presentation else "allowed_not_screened"
        pbx.newexten(two, 2, "NoOp",
                     f"Inbound call CID num=[{cid.num}] name=[{cid.name}] pres={pres}")
        pbx.newexten(two, 3, "Answer", "")
        pbx.set_state(one, 6)
        one.application, one.appdata = self.application, self.data  # runs Wait(120) now
        pbx.emit("OriginateResponse", "call", [
            ("ActionID", self.action_id), ("Response", "Success"), ("Channel", one.name),
            ("Application", self.application), ("Data", self.data), ("Reason", "4"),
            ("Uniqueid", one.uniqueid), ("CallerIDNum", cid.num or "<unknown>"),
            ("CallerIDName", cid.name or "<unknown>")])
        pbx.set_state(two, 6)
        self.answered_at = time.time()
        pbx.dial_event("DialEnd", None, one, [("DialStatus", "ANSWER")])
        pbx.device_state(f"Local/{self.exten}@inbound", "INUSE")

    def _hangup_before_queue(self) -> None:
        pbx = self.pbx
        pbx.chan_event("HangupRequest", "call", self.two, [("Cause", "16")])
        pbx.hangup(self.one, 16)
        pbx.hangup(self.two, 16)
        self._finish()

    def _finish(self) -> None:
        pbx = self.pbx
        pbx.cdr(self.one, "ANSWERED", self.answered_at)
        pbx.cdr(self.two, "ANSWERED", self.answered_at,
                userfield=f"customer={self.customer};prio={self.priority}")
        pbx.device_state(f"Local/{self.exten}@inbound", "NOT_INUSE")
        self.finished = True

    # -- waiting in a queue -----------------------------------------------------------
    async def _queue(self, queue: Queue) -> str | None:
        """Join ``queue``; return the next queue's name after a transfer, else None."""
        pbx, two = self.pbx, self.two
        pbx.varsets(two, [(name, "") for name in EMPTY_TIMES])
        if not queue.entries:
            pbx.device_state(f"Queue:{queue.name}", "RINGING")
        entry = QueueEntry(self, two, time.time(), self.priority)
        position = queue.join(entry)
        pbx.chan_event("QueueCallerJoin", "agent", two,
                       [("Queue", queue.name), ("Position", str(position)),
                        ("Count", str(len(queue.entries)))])
        pbx.log(two.uniqueid, queue.name, "NONE", "ENTERQUEUE", "", self.cid.num, position)
        deadline = entry.joined + self.qtimeout
        gives_up = entry.joined + self.patience if self.patience is not None else math.inf
        while True:
            now = time.time()
            if now >= gives_up:
                self.caller_gone = True
            if self.caller_gone:
                self._abandon(queue, entry)
                return None
            if self.redirect is not None:
                self._leave_abandoned(queue, entry, "ABANDON")
                return self._goto(self.redirect)
            if now >= deadline:
                await self._exit_with_timeout(queue, entry)
                return None
            members = queue.pick(entry, now)
            if not members:
                await self._sleep(min(deadline, gives_up, now + POLL) - now, queue)
                continue
            outcome = await self._ring(queue, entry, members, min(deadline, gives_up))
            if outcome == "answered":
                return await self._talk(queue, entry)
            if outcome == "noanswer":
                await self._sleep(min(queue.spec.retry, deadline - time.time()))

    async def _ring(self, queue: Queue, entry: QueueEntry, members: list,
                    limit: float) -> str:
        pbx, cfg, two = self.pbx, self.pbx.config, self.two
        entry.ringing = True
        legs = []
        for member in members:
            never = (self.rng.random() < cfg.no_answer_prob
                     or pbx.globals.get("AGENTS_NOANSWER") == "1")
            delay = None if never else self.rng.uniform(*cfg.answer_delay)
            legs.append(member_legs.ring(pbx, two, self.cid, queue, member, delay,
                                         str(self.qtimeout)))
        self.ringing_legs = legs
        member_legs.dial_state_ringing(pbx, two, legs)
        start = time.time()
        timeout = queue.spec.timeout
        answering = [leg for leg in legs
                     if leg.answer_after is not None and leg.answer_after < timeout]
        winner = min(answering, key=lambda leg: leg.answer_after or 0.0, default=None)
        rings_until = start + (winner.answer_after if winner and winner.answer_after
                               is not None else timeout)
        end = min(rings_until, limit)
        while time.time() < end and not self._interrupted():
            await self._sleep(end - time.time())
        entry.ringing = False
        self.ringing_legs = []
        if self._interrupted() or end < rings_until:
            for leg in legs:
                member_legs.cancel(pbx, two, leg, "CANCEL")
            self.agent_gone = False  # a rung agent hung up: that ring attempt is over
            return "interrupted"
        if winner is None:
            member_legs.ring_no_answer(pbx, two, queue, legs, int(timeout * 1000))
            return "noanswer"
        self._connect(queue, entry, winner, [leg for leg in legs if leg is not winner], start)
        return "answered"

    # -- leaving without an agent -----------------------------------------------------
    def _leave_abandoned(self, queue: Queue, entry: QueueEntry, verb: str) -> None:
        """QueueCallerAbandon then QueueCallerLeave; also for timeout and redirect-out."""
        pbx, two = self.pbx, self.two
        now = time.time()
        waited = int(now - entry.joined)
        dialed = now - two.created
        pbx.varsets(two, [("QUEUEWAIT", str(waited)),
                          ("QUEUEWAIT_MS", str(int((now - entry.joined) * 1000))),
                          ("DIALEDTIME", str(int(dialed))),
                          ("DIALEDTIME_MS", str(int(dialed * 1000))),
                          ("ANSWEREDTIME", "0"), ("ANSWEREDTIME_MS", "0"),
                          ("ABANDONED", "TRUE")])
        queue.record_abandon(waited)
        pbx.varsets(two, queue.queue_vars())
        position = queue.position(entry)
        pbx.chan_event("QueueCallerAbandon", "agent", two,
                       [("Queue", queue.name), ("Position", str(position)),
                        ("OriginalPosition", str(entry.original_position)),
                        ("HoldTime", str(waited))])
        pbx.log(two.uniqueid, queue.name, "NONE", verb, position, entry.original_position,
                waited)
        pbx.varsets(two, queue.queue_vars())
        queue.leave(entry)
        pbx.chan_event("QueueCallerLeave", "agent", two,
                       [("Queue", queue.name), ("Position", str(position)),
                        ("Count", str(len(queue.entries)))])
        if not queue.entries:
            pbx.device_state(f"Queue:{queue.name}", "NOT_INUSE")
        pbx.varset(two, "QUEUEPOSITION", str(position))

    def _abandon(self, queue: Queue, entry: QueueEntry) -> None:
        """The customer (;1) hung up while waiting: captured in 03_abandon."""
        pbx = self.pbx
        pbx.chan_event("HangupRequest", "call", self.two, [("Cause", "0")])
        pbx.hangup(self.one, 0)
        self._leave_abandoned(queue, entry, "ABANDON")
        pbx.hangup(self.two, 0, request="SoftHangupRequest", request_cause=16)
        self._finish()

    async def _exit_with_timeout(self, queue: Queue, entry: QueueEntry) -> None:
        pbx, two = self.pbx, self.two
        self._leave_abandoned(queue, entry, "EXITWITHTIMEOUT")
        pbx.varset(two, "QUEUESTATUS", "TIMEOUT")
        if two.context == "inbound":
            pbx.newexten(two, 9, "NoOp", "QUEUESTATUS=TIMEOUT")
            pbx.newexten(two, 10, "GotoIf", "1?fallback")
            pbx.newexten(two, 12, "NoOp", f"Nobody answered within {self.qtimeout}s - fallback")
            pbx.newexten(two, 13, "Set", f"CDR(userfield)=customer={self.customer};"
                                         f"prio={self.priority};fallback=timeout")
            pbx.newexten(two, 14, "Wait", "1")
            await self._sleep(1.0)
        pbx.newexten(two, two.priority + 1, "Hangup", "")
        self._hangup_caller_side()

    def _hangup_caller_side(self) -> None:
        """The dialplan hangs the ;2 up; the customer ;1 follows."""
        pbx = self.pbx
        pbx.chan_event("SoftHangupRequest", "call", self.two, [("Cause", "16")])
        pbx.chan_event("HangupRequest", "call", self.one, [("Cause", "16")])
        pbx.hangup(self.one, 16)
        pbx.hangup(self.two, 16)
        self._finish()

    def _goto(self, target: tuple[str, str]) -> str | None:
        """Continue the ;2 at [context] exten (Redirect / blind transfer destination)."""
        pbx, two = self.pbx, self.two
        self.redirect = None
        context, exten = target
        two.context = context
        if exten in pbx.queues:
            pbx.newexten(two, 1, "NoOp", f"Transferred to {exten}", exten=exten)
            pbx.newexten(two, 2, "Queue", f"{exten},r,,,{self.qtimeout}")
            return exten
        pbx.newexten(two, 1, "Hangup", "", exten=exten)
        self._hangup_caller_side()
        return None
