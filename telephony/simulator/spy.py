"""Live monitoring: ``Originate`` of a supervisor's phone with ``Application: ChanSpy``.

Not in the captures; the behaviour is app_chanspy's (Asterisk 22, apps/app_chanspy.c):
the phone rings and answers like any originated call, then ChanSpy looks for the channel
named in its first argument. With option ``u`` that is one channel's full name or
Uniqueid (no prefix match); a channel that is not there ends the application at once and
the phone hangs up. Found, it sends ``ChanSpyStart`` (Spyer*/Spyee* snapshots) and spies
until the supervisor hangs up or, with ``E``, the spied channel does; ``ChanSpyStop``
then. ``w`` (whisper) and ``B`` (barge) change only the audio, which the simulator has
none of: they are recorded in ``Pbx.spies`` for tests to read.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from telephony.simulator.frames import Channel
from telephony.simulator.originate import AgentOriginate

if TYPE_CHECKING:
    from telephony.simulator.pbx import Pbx

#: How often a spy looks whether its channel is still up (the simulator has no audio
#: frames whose absence would tell it).
POLL_S = 0.1


def find_spied(pbx: Pbx, spec: str, options: str) -> Channel | None:
    """The channel ChanSpy would pick: by full name or Uniqueid with ``u``, else the
    first whose name starts with ``spec``."""
    if "u" in options:
        found = pbx.channels.get(spec)
        if found is None:
            found = next((c for c in pbx.channels.values() if c.uniqueid == spec), None)
        return found
    return next((c for c in pbx.channels.values() if c.name.startswith(spec)), None)


class SpyOriginate(AgentOriginate):
    """A supervisor's phone that answers and runs ChanSpy."""

    async def connected(self, one: Channel) -> None:
        pbx = self.pbx
        spec, _, options = self.data.partition(",")
        pbx.newexten(one, 1, "ChanSpy", self.data)
        spied = find_spied(pbx, spec.strip(), options)
        if spied is None or spied is one:
            return  # nothing to spy on: ChanSpy returns, the phone hangs up
        record = {"spyer": one.name, "spyee": spied.name, "options": options,
                  "phone": self.device.exten, "started": f"{time.time():.3f}"}
        pbx.spies.append(record)
        pbx.emit("ChanSpyStart", "call", one.snapshot("Spyer") + spied.snapshot("Spyee"))
        while not self.gone.is_set():
            if "E" in options and spied.hungup:
                break
            await asyncio.sleep(POLL_S)
        record["ended"] = f"{time.time():.3f}"
        pbx.emit("ChanSpyStop", "call", one.snapshot("Spyer") + spied.snapshot("Spyee"))
