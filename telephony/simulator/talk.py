"""The connected half of a queue call: AgentConnect, the bridge, and how it ends.

Agent hang-up and ringall losers follow 01_single_answered. Transfers are not in the
captures: they are modelled on Asterisk's documented ``BlindTransfer`` event and
app_queue's ``AgentComplete Reason: transfer`` / queue_log ``BLINDTRANSFER``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from telephony.simulator import legs as member_legs
from telephony.simulator.frames import Bridge
from telephony.simulator.legs import AgentLeg, member_pairs
from telephony.simulator.queues import Queue, QueueEntry

if TYPE_CHECKING:
    from telephony.simulator.frames import Channel
    from telephony.simulator.pbx import Pbx


class ConnectedPhase:
    pbx: Pbx
    one: Channel
    two: Channel
    rng: Any
    talk_time: float
    transfer_wanted: bool
    caller_ends: bool
    caller_gone: bool
    agent_gone: bool
    redirect: tuple[str, str] | None
    qtimeout: int

    leg: AgentLeg
    bridge: Bridge
    connected_at: float
    holdtime: int
    in_sl: bool

    async def _sleep(self, seconds: float, queue: Queue | None = None) -> None:
        raise NotImplementedError

    def _interrupted(self) -> bool:
        raise NotImplementedError

    def _finish(self) -> None:
        raise NotImplementedError

    def _goto(self, target: tuple[str, str]) -> str | None:
        raise NotImplementedError

    # -- connect ------------------------------------------------------------------
    def _connect(self, queue: Queue, entry: QueueEntry, winner: AgentLeg,
                 losers: list[AgentLeg], ring_start: float) -> None:
        pbx, two = self.pbx, self.two
        member_legs.answer(pbx, two, winner)
        for leg in losers:
            member_legs.cancel_answered_elsewhere(pbx, two, leg)
        now = time.time()
        self.holdtime = int(now - entry.joined)
        member = winner.member
        member_vars = [("MEMBERINTERFACE", member.interface), ("MEMBERNAME", member.name),
                       ("MEMBERCALLS", str(member.calls_taken)),
                       ("MEMBERLASTCALL", str(member.last_call)),
                       ("MEMBERPENALTY", str(member.penalty)),
                       ("MEMBERDYNAMIC", "1" if member.membership == "dynamic" else "0"),
                       ("MEMBERREALTIME", "0")]
        entry_vars = [("QEHOLDTIME", str(self.holdtime)),
                      ("QEORIGINALPOS", str(entry.original_position))]
        for variables in (member_vars, entry_vars):
            pbx.varsets(two, variables)
            pbx.varsets(winner.one, variables)
        self.in_sl = queue.record_connect(self.holdtime)
        pbx.varsets(two, queue.queue_vars())
        pbx.varsets(winner.one, queue.queue_vars())
        position = queue.leave(entry)
        if not queue.entries:
            pbx.device_state(f"Queue:{queue.name}", "NOT_INUSE")
        pbx.chan_event("QueueCallerLeave", "agent", two,
                       [("Queue", queue.name), ("Position", str(position)),
                        ("Count", str(len(queue.entries)))])
        pbx.varsets(two, [("QUEUEPOSITION", str(position)), ("QUEUEWAIT", str(self.holdtime)),
                          ("QUEUEWAIT_MS", str(int((now - entry.joined) * 1000)))])
        ringtime = int(now - ring_start)
        pbx.dial_event("AgentConnect", two, winner.one,
                       [*member_pairs(queue, member), ("HoldTime", str(self.holdtime)),
                        ("RingTime", str(ringtime))], privilege="agent")
        pbx.log(two.uniqueid, queue.name, member.name, "CONNECT", self.holdtime,
                winner.one.uniqueid, ringtime)
        device = member.device
        device.ringing -= 1
        device.talking += 1
        pbx.device_changed(device)
        bridge = pbx.new_bridge()
        pbx.emit("BridgeCreate", "call", bridge.snapshot())
        pbx.bridge_enter(bridge, winner.one)
        for leg in losers:
            member_legs.finish_answered_elsewhere(pbx, leg)
        pbx.bridge_enter(bridge, two)
        pbx.varset(winner.one, "BRIDGEPEER", two.name)
        pbx.varset(two, "BRIDGEPEER", winner.one.name)
        self.leg, self.bridge, self.connected_at = winner, bridge, now

    # -- talk -----------------------------------------------------------------------
    async def _talk(self, queue: Queue, entry: QueueEntry) -> str | None:
        pbx = self.pbx
        pbx.newexten(self.leg.two, 7, "Wait", str(max(1, round(self.talk_time))))
        target = self._transfer_target(queue) if self.transfer_wanted else None
        self.transfer_wanted = False  # one transfer per call, or it would ping-pong forever
        talk = self.talk_time * (0.5 if target else 1.0)
        end = self.connected_at + talk
        while time.time() < end and not self._interrupted():
            await self._sleep(end - time.time())
        if self.redirect is not None:
            context, exten = self.redirect
            self._transfer(queue, entry, context, exten, blind=False)
            return self._goto((context, exten))
        if target and not self._interrupted():
            self._transfer(queue, entry, "transfer", target, blind=True)
            return self._goto(("transfer", target))
        if self.caller_gone or (self.caller_ends and not self.agent_gone):
            self._caller_hangs_up(queue, entry)
        else:
            self._agent_hangs_up(queue, entry)
        return None

    def _transfer_target(self, queue: Queue) -> str:
        others = [name for name in self.pbx.queues if name != queue.name]
        return self.rng.choice(others) if others else queue.name

    def _complete(self, queue: Queue, entry: QueueEntry, reason: str,
                  transfer: tuple[str, str] | None = None) -> None:
        """AgentComplete + queue_log line + member bookkeeping."""
        pbx, two, leg = self.pbx, self.two, self.leg
        member = leg.member
        now = time.time()
        talktime = int(now - self.connected_at)
        tail = [*member_pairs(queue, member), ("HoldTime", str(self.holdtime)),
                ("TalkTime", str(talktime)), ("Reason", reason)]
        if member in queue.members:
            pbx.dial_event("AgentComplete", two, leg.one, tail, privilege="agent")
        else:
            # removed (QueueRemove) mid-call: captured without the Dest* snapshot
            pbx.emit("AgentComplete", "agent", two.snapshot() + tail)
        if transfer is not None:
            pbx.log(two.uniqueid, queue.name, member.name, "BLINDTRANSFER", transfer[1],
                    transfer[0], self.holdtime, talktime, entry.original_position)
        else:
            verb = "COMPLETEAGENT" if reason == "agent" else "COMPLETECALLER"
            pbx.log(two.uniqueid, queue.name, member.name, verb, self.holdtime, talktime,
                    entry.original_position)
        queue.record_complete(talktime, self.in_sl)
        pbx.varset(leg.one, "BRIDGEPEER", "")
        pbx.varset(two, "BRIDGEPEER", "")
        member.calls_taken += 1
        member.last_call = int(now)
        device = member.device
        device.talking -= 1
        device.wrapup_until = now + queue.spec.wrapuptime
        pbx.device_changed(device)

    def _agent_hangs_up(self, queue: Queue, entry: QueueEntry) -> None:
        pbx, one, two, leg, bridge = self.pbx, self.one, self.two, self.leg, self.bridge
        pbx.newexten(leg.two, 8, "Hangup", "")
        pbx.chan_event("SoftHangupRequest", "call", leg.two, [("Cause", "16")])
        pbx.cdr(leg.two, "ANSWERED", leg.answered)
        pbx.chan_event("HangupRequest", "call", leg.one, [("Cause", "16")])
        pbx.hangup(leg.two, 16)
        self._complete(queue, entry, "agent")
        pbx.bridge_leave(bridge, leg.one)
        pbx.bridge_leave(bridge, two)
        now = time.time()
        answered = now - self.connected_at
        dialed = now - two.created
        pbx.varsets(two, queue.queue_vars())
        pbx.varsets(two, [("ANSWEREDTIME", str(int(answered))),
                          ("ANSWEREDTIME_MS", str(int(answered * 1000))),
                          ("DIALEDTIME", str(int(dialed))),
                          ("DIALEDTIME_MS", str(int(dialed * 1000)))])
        pbx.varsets(two, queue.queue_vars())
        pbx.chan_event("SoftHangupRequest", "call", two, [("Cause", "16")])
        pbx.chan_event("HangupRequest", "call", one, [("Cause", "16")])
        pbx.hangup(two, 16)
        pbx.emit("BridgeDestroy", "call", bridge.snapshot())
        pbx.hangup(leg.one, 16)
        pbx.hangup(one, 16)
        self._finish()

    def _caller_hangs_up(self, queue: Queue, entry: QueueEntry) -> None:
        pbx, one, two, leg, bridge = self.pbx, self.one, self.two, self.leg, self.bridge
        pbx.chan_event("HangupRequest", "call", two, [("Cause", "16")])
        pbx.hangup(one, 16)
        self._complete(queue, entry, "caller")
        pbx.bridge_leave(bridge, two)
        pbx.varsets(two, queue.queue_vars())
        pbx.hangup(two, 16)
        pbx.bridge_leave(bridge, leg.one)
        pbx.emit("BridgeDestroy", "call", bridge.snapshot())
        pbx.chan_event("SoftHangupRequest", "call", leg.one, [("Cause", "16")])
        pbx.hangup(leg.two, 16, request="HangupRequest")
        pbx.hangup(leg.one, 16)
        pbx.cdr(leg.two, "ANSWERED", leg.answered)
        self._finish()

    def _transfer(self, queue: Queue, entry: QueueEntry, context: str, exten: str,
                  blind: bool) -> None:
        """The customer leaves the bridge for [context] exten; the agent legs hang up."""
        pbx, two, leg, bridge = self.pbx, self.two, self.leg, self.bridge
        if blind:
            pbx.emit("BlindTransfer", "call", [
                ("Result", "Success"), *leg.one.snapshot("Transferer"),
                *two.snapshot("Transferee"), *bridge.snapshot(), ("IsExternal", "No"),
                ("Context", context), ("Extension", exten)])
        pbx.bridge_leave(bridge, two)
        self._complete(queue, entry, "transfer", transfer=(context, exten))
        pbx.chan_event("SoftHangupRequest", "call", leg.two, [("Cause", "16")])
        pbx.chan_event("HangupRequest", "call", leg.one, [("Cause", "16")])
        pbx.hangup(leg.two, 16)
        pbx.bridge_leave(bridge, leg.one)
        pbx.hangup(leg.one, 16)
        pbx.emit("BridgeDestroy", "call", bridge.snapshot())
        pbx.cdr(leg.two, "ANSWERED", leg.answered)
        self.agent_gone = False
