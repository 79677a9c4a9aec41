"""Click-to-dial: ``Originate Channel: Local/agentN@agents`` rings the agent first.

As a real Asterisk 22 runs it (tests/data/asterisk/originated/dial_*.raw): Newchannel
x2, then per Local half a ``VarSet`` of each Originate ``Variable`` (the bridge's
``CC_CALL_KIND`` marker ...) and its NewCallerid, LocalBridge, the Originate's own
DialBegin/DialEnd (Dest* fields only), OriginateResponse (Context/Exten form); then the
answered ``;1`` runs ``[outbound]``: ``Dial()`` of the customer through the trunk (a
channel of the call's Linkedid; DialBegin/DialEnd with the ``;1`` as Channel and
DialStatus ANSWER, BUSY or NOANSWER), a bridge while they talk, and the hangups.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import TYPE_CHECKING

from telephony.simulator.callerid import CallerId
from telephony.simulator.frames import Channel

if TYPE_CHECKING:
    from telephony.simulator.pbx import Pbx
    from telephony.simulator.queues import Device


class AgentOriginate:
    def __init__(self, pbx: Pbx, device: Device, cid: CallerId, rng: random.Random,
                 action_id: str | None, context: str, exten: str, application: str,
                 data: str, variables: list[tuple[str, str]] | None = None) -> None:
        self.pbx = pbx
        self.device = device
        self.cid = cid
        self.rng = rng
        self.action_id = action_id
        self.context = context
        self.exten = exten
        self.application = application
        self.data = data
        self.variables = list(variables or ())
        self.gone = asyncio.Event()

    def _set_variables(self, channel: Channel) -> None:
        for name, value in self.variables:
            channel.variables[name] = value
            self.pbx.chan_event("VarSet", "dialplan", channel,
                                [("Variable", name), ("Value", value)])

    def hangup_channel(self, channel: Channel) -> None:
        self.gone.set()

    async def _pause(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self.gone.wait(), timeout=seconds)
        except TimeoutError:
            pass

    def _callee_answer(self) -> str:
        cfg = self.pbx.config
        fixed = cfg.callee_outcomes.get(self.exten.lstrip("+"))
        if fixed is not None:
            return fixed
        draw = self.rng.random()
        if draw < cfg.callee_busy_prob:
            return "busy"
        return "noanswer" if draw < cfg.callee_busy_prob + cfg.callee_no_answer_prob \
            else "answer"

    async def connected(self, one: Channel) -> None:
        """The agent picked up: ``[outbound]`` dials the customer through the trunk (the
        ``;1`` calls it; the customer's channel is of the call's Linkedid)."""
        pbx, cfg = self.pbx, self.pbx.config
        number = self.exten.lstrip("+")
        one.context, one.exten = self.context, self.exten
        pbx.newexten(one, 1, "NoOp", f"Click-to-dial {number} for {self.cid.num}")
        pbx.newexten(one, 3, "Dial", f"Local/{number},60")
        far, far2 = pbx.new_local_pair(number, "default", linkedid=one.linkedid)
        far.role, far2.role = "callee1", "callee2"
        far.owner = far2.owner = self
        pbx.newchannel(far)
        pbx.newchannel(far2)
        pbx.set_callerid(far, self.cid.num, self.cid.name, connected=True)
        pbx.set_callerid(far2, self.cid.num, self.cid.name, connected=True)
        pbx.dial_event("DialBegin", one, far, [("DialString", number)])
        answer = self._callee_answer()
        await self._pause(self.rng.uniform(*cfg.answer_delay) if answer != "noanswer"
                          else self.rng.uniform(*cfg.answer_delay) * 3)
        if self.gone.is_set() or answer != "answer":
            status = "CANCEL" if self.gone.is_set() else \
                {"busy": "BUSY"}.get(answer, "NOANSWER")
            pbx.dial_event("DialEnd", one, far, [("DialStatus", status)])
            pbx.hangup(far, 0 if status == "BUSY" else 16)
            pbx.hangup(far2, {"BUSY": 17, "NOANSWER": 19}.get(status, 16))
            return
        pbx.set_state(far2, 6)
        pbx.set_state(far, 6)
        pbx.dial_event("DialEnd", one, far, [("DialStatus", "ANSWER")])
        bridge = pbx.new_bridge()
        pbx.bridge_enter(bridge, far)
        pbx.bridge_enter(bridge, one)
        started = time.time()
        await self._pause(self.rng.uniform(*cfg.talk_time))
        # the customer hangs up (or the agent did: the same hangups, just sooner)
        pbx.hangup(far2, 16, "SoftHangupRequest")
        pbx.hangup(far, 16, "HangupRequest")
        pbx.bridge_leave(bridge, far)
        pbx.bridge_leave(bridge, one)
        pbx.cdr(far2, "ANSWERED", started)

    async def run(self) -> None:
        pbx, cfg, device = self.pbx, self.pbx.config, self.device
        one, two = pbx.new_local_pair(device.exten, "agents")
        one.role, two.role = "agent1", "agent2"
        one.owner = two.owner = self
        pbx.newchannel(one)
        pbx.newchannel(two)
        # The Originate's variables: a VarSet per half, right after the Newchannels,
        # whatever dialplan_noise says (the bridge reads its own CC_CALL_KIND in them).
        self._set_variables(one)
        pbx.set_callerid(one, self.cid.num, self.cid.name, connected=False)
        self._set_variables(two)
        pbx.local_bridge(one, two, optimize=False)
        pbx.dial_event("DialBegin", None, one, [("DialString", f"{device.exten}@agents")])
        device.ringing += 1
        pbx.device_changed(device)
        await self._pause(self.rng.uniform(*cfg.answer_delay))
        device.ringing -= 1
        if self.gone.is_set():
            pbx.dial_event("DialEnd", None, one, [("DialStatus", "CANCEL")])
            pbx.hangup(two, 16)
            pbx.hangup(one, 16)
            pbx.device_changed(device)
            return
        pbx.set_state(two, 6)
        pbx.set_state(one, 6)
        pbx.dial_event("DialEnd", None, one, [("DialStatus", "ANSWER")])
        target = ([("Application", self.application), ("Data", self.data)]
                  if self.application else [("Context", self.context), ("Exten", self.exten)])
        head = [("ActionID", self.action_id)] if self.action_id is not None else []
        pbx.emit("OriginateResponse", "call", [
            *head, ("Response", "Success"), ("Channel", one.name), *target, ("Reason", "4"),
            ("Uniqueid", one.uniqueid), ("CallerIDNum", self.cid.num or "<unknown>"),
            ("CallerIDName", self.cid.name or "<unknown>")])
        device.talking += 1
        pbx.device_changed(device)
        started = time.time()
        await self.connected(one)
        pbx.chan_event("HangupRequest", "call", one, [("Cause", "16")])
        pbx.hangup(two, 16)
        pbx.hangup(one, 16)
        pbx.cdr(two, "ANSWERED", started)
        device.talking -= 1
        device.wrapup_until = time.time()
        pbx.device_changed(device)
