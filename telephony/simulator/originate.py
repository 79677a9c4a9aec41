"""Click-to-dial: ``Originate Channel: Local/agentN@agents`` rings the agent first.

Not in the captures (the captured PBX only originated into [inbound]); the events are
the ones Asterisk documents for an Originate to a Local channel answered and then sent
to ``Context``/``Exten``: Newchannel x2, LocalBridge, DialBegin/DialEnd, Newstate,
OriginateResponse (Context/Exten form), Hangup.
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
                 data: str) -> None:
        self.pbx = pbx
        self.device = device
        self.cid = cid
        self.rng = rng
        self.action_id = action_id
        self.context = context
        self.exten = exten
        self.application = application
        self.data = data
        self.gone = asyncio.Event()

    def hangup_channel(self, channel: Channel) -> None:
        self.gone.set()

    async def _pause(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self.gone.wait(), timeout=seconds)
        except TimeoutError:
            pass

    async def connected(self, one: Channel) -> None:
        """The agent picked up: the dialled number (or application) runs until the talk
        time is over or the call is hung up."""
        if not self.application:
            one.context, one.exten = self.context, self.exten
            self.pbx.newexten(one, 1, "Dial", f"Local/{self.exten}@{self.context}")
        await self._pause(self.rng.uniform(*self.pbx.config.talk_time))

    async def run(self) -> None:
        pbx, cfg, device = self.pbx, self.pbx.config, self.device
        one, two = pbx.new_local_pair(device.exten, "agents")
        one.role, two.role = "agent1", "agent2"
        one.owner = two.owner = self
        pbx.newchannel(one)
        pbx.newchannel(two)
        pbx.set_callerid(one, self.cid.num, self.cid.name, connected=False)
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
