"""A PBX that replays a recorded Asterisk session to whoever logs in (the bridge).

After the client's resync (QueueStatus answered with the idle queues of
00_protocol, CoreShowChannels with no channels, both as Asterisk sent them), the
recorder connection's bytes of a scenario (``timeline.jsonl``, conn "rec") are
written with their recorded pacing, sped up ``speed`` times. Responses to the
recorder's own actions are left out; every event is sent byte for byte.
"""

from __future__ import annotations

import asyncio
import json

from ami_fake_server import CAPTURES, FakeAMI, capture_blocks, with_action_id

from telephony.ami.frames import Frame

IDLE_QUEUES = [b for b in capture_blocks("00_protocol", "actions.raw")
               if b"ActionID: drv-12\r\n" in b]
NO_CHANNELS = [b for b in capture_blocks("00_protocol", "actions.raw")
               if b"ActionID: drv-15\r\n" in b]


def recorded_events(scenario: str) -> list[tuple[float, bytes]]:
    """(time, bytes) of what Asterisk sent the recorder, responses and banner dropped."""
    chunks = []
    for line in (CAPTURES / scenario / "timeline.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record["conn"] != "rec" or record["dir"] != "in":
            continue
        data = record["data"].encode("latin-1")
        if data.startswith(b"Asterisk Call Manager/"):
            continue
        chunks.append((record["t"], data))
    # The stream is cut into frames only to drop the recorder's responses; what is left
    # is written in the chunks (and so with the partial frames) Asterisk wrote.
    out = []
    carry = b""
    for t, data in chunks:
        data = carry + data
        cut = data.rfind(b"\r\n\r\n")
        if cut < 0:
            carry = data
            continue
        whole, carry = data[:cut + 4], data[cut + 4:]
        kept = b"".join(block + b"\r\n\r\n" for block in whole.split(b"\r\n\r\n")
                        if block and not block.startswith(b"Response:"))
        if kept:
            out.append((t, kept))
    return out


class ReplayPBX(FakeAMI):
    def __init__(self, scenario: str, speed: float = 20.0) -> None:
        super().__init__()
        self.scenario = scenario
        self.speed = speed
        self.chunks = recorded_events(scenario)
        self.finished = asyncio.Event()
        self.events_sent = sum(c.count(b"Event: ") for _, c in self.chunks)
        self._started = False

    async def _answer(self, action: Frame, writer: asyncio.StreamWriter,
                      state: dict[str, bool]) -> bool:
        name, aid = action.get("Action", ""), action.get("ActionID") or ""
        if state.get("logged_in") and name == "QueueStatus":
            writer.write(b"".join(with_action_id(b, b"drv-12", aid) for b in IDLE_QUEUES))
            await writer.drain()
            return True
        if state.get("logged_in") and name == "CoreShowChannels":
            writer.write(b"".join(with_action_id(b, b"drv-15", aid) for b in NO_CHANNELS))
            await writer.drain()
            if not self._started:
                self._started = True
                asyncio.get_running_loop().create_task(self._play(writer))
            return True
        return await super()._answer(action, writer, state)

    async def _play(self, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        start, first = loop.time(), self.chunks[0][0]
        for t, data in self.chunks:
            delay = (t - first) / self.speed - (loop.time() - start)
            if delay > 0:
                await asyncio.sleep(delay)
            writer.write(data)
            await writer.drain()
        self.finished.set()
