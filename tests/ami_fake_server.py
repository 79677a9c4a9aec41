"""A small AMI server for tests: speaks the protocol as the captures show it.

Real loopback sockets; the replies are cut from the captures' bytes (QueueStatus from
02_ringall_10_calls/actions.raw, CoreShowChannels from 03_abandon/actions.raw) with the
ActionID rewritten, and written in small pieces with live events in between.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections.abc import Callable

from captures import CAPTURES  # noqa: E402,F401

from telephony.ami.frames import Frame, FrameReader

BANNER = b"Asterisk Call Manager/11.0.0\r\n"


def capture_blocks(scenario: str, name: str) -> list[bytes]:
    """The raw frames of a capture file (banner dropped), each ending in a blank line."""
    data = (CAPTURES / scenario / name).read_bytes()
    data = data[data.index(b"\r\n") + 2:]
    return [block + b"\r\n\r\n" for block in data.split(b"\r\n\r\n") if block]


def list_reply(scenario: str, action_id: bytes) -> list[bytes]:
    marker = b"ActionID: " + action_id + b"\r\n"
    return [b for b in capture_blocks(scenario, "actions.raw") if marker in b]


QUEUE_STATUS = list_reply("02_ringall_10_calls", b"drv-7")
CORE_SHOW_CHANNELS = list_reply("03_abandon", b"drv-14")
LIVE_EVENTS = [b for b in capture_blocks("01_single_answered", "ami.raw")
               if b.startswith(b"Event: ")]


def with_action_id(block: bytes, old: bytes, new: str) -> bytes:
    return block.replace(b"ActionID: " + old + b"\r\n", f"ActionID: {new}\r\n".encode())


def response(action_id: str | None, kind: str = "Success", **headers: str) -> bytes:
    lines = [f"Response: {kind}"]
    if action_id is not None:
        lines.append(f"ActionID: {action_id}")
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class FakeAMI:
    """Accepts many connections; records what each client sent."""

    def __init__(self, secret: str = "bridgesecret",  # noqa: S107 - the captures' test secret
                 challenge: str = "988991285") -> None:
        self.secret = secret
        self.challenge = challenge
        self.actions: list[Frame] = []
        self.connect_times: list[float] = []
        self.logins = 0
        self.drop_after_login = 0  # drop this many logged-in connections at once
        self.after_login: bytes = b""  # replayed to each client after login
        self.silent: set[str] = {"Blackhole"}  # actions never answered
        self.members: set[tuple[str, str]] = set()
        self.rng = random.Random(7)
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> FakeAMI:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        self.drop_all()
        await self._server.wait_closed()
        await asyncio.sleep(0)

    def drop_all(self) -> None:
        for writer in list(self._writers):
            writer.close()

    def sent(self, action: str) -> list[Frame]:
        return [a for a in self.actions if a.get("Action") == action]

    async def _write_pieces(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        """Small random writes with a pause, so the client sees partial frames."""
        pos = 0
        while pos < len(data):
            size = self.rng.randint(1, 300)
            writer.write(data[pos:pos + size])
            pos += size
            await writer.drain()
            await asyncio.sleep(0)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connect_times.append(time.monotonic())
        self._writers.add(writer)
        parser = FrameReader(expect_banner=False)
        state = {"logged_in": False}
        try:
            writer.write(BANNER)
            while data := await reader.read(65536):
                for action in parser.feed(data):
                    self.actions.append(action)
                    if not await self._answer(action, writer, state):
                        return
        except ConnectionError:
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _answer(self, action: Frame, writer: asyncio.StreamWriter,
                      state: dict[str, bool]) -> bool:
        """Reply to one action; False closes the connection."""
        name, aid = action.get("Action", ""), action.get("ActionID")
        if name == "Challenge":
            writer.write(response(aid, Challenge=self.challenge))
        elif name == "Login":
            digest = hashlib.md5((self.challenge + self.secret).encode(), usedforsecurity=False)
            key = digest.hexdigest()
            good = action.get("Secret") == self.secret or (
                action.get("AuthType") == "md5" and action.get("Key") == key)
            if not good or action.get("Username") != "bridge":
                writer.write(response(aid, "Error", Message="Authentication failed"))
                await writer.drain()
                return False
            state["logged_in"] = True
            self.logins += 1
            writer.write(response(aid, Message="Authentication accepted"))
            writer.write(b"Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 31\r\n"
                         b"LastReload: 31\r\nStatus: Fully Booted\r\n\r\n")
            if self.drop_after_login > 0:
                self.drop_after_login -= 1
                await writer.drain()
                return False
            if self.after_login:
                await self._write_pieces(writer, self.after_login)
        elif not state["logged_in"]:
            writer.write(response(aid, "Error", Message="Permission denied"))
        elif name in self.silent:
            pass
        elif name == "Ping":
            writer.write(response(aid, Ping="Pong", Timestamp=f"{time.time():.6f}"))
        elif name == "Logoff":
            writer.write(response(aid, "Goodbye", Message="Thanks for all the fish."))
            await writer.drain()
            return False
        elif name in ("QueueStatus", "CoreShowChannels"):
            blocks, old = ((QUEUE_STATUS, b"drv-7") if name == "QueueStatus"
                           else (CORE_SHOW_CHANNELS, b"drv-14"))
            out = b""
            for i, block in enumerate(blocks):  # live events in between the list
                out += with_action_id(block, old, aid or "") + LIVE_EVENTS[i % len(LIVE_EVENTS)]
            await self._write_pieces(writer, out)
        else:
            writer.write(self._simple(name, aid, action))
        await writer.drain()
        return True

    def _simple(self, name: str, aid: str | None, action: Frame) -> bytes:
        key = (action.get("Queue", ""), action.get("Interface", ""))
        if name == "QueueAdd":
            if key in self.members:
                return response(aid, "Error", Message="Unable to add interface: Already there")
            self.members.add(key)
            return response(aid, Message="Added interface to queue")
        if name == "QueueRemove":
            if key not in self.members:
                return response(aid, "Error", Message="Unable to remove interface: Not there")
            self.members.discard(key)
            return response(aid, Message="Removed interface from queue")
        messages: dict[str, str] = {
            "Originate": "Originate successfully queued",
            "QueuePause": "Interface paused successfully",
            "Redirect": "Redirect successful",
        }
        if name in messages:
            return response(aid, Message=messages[name])
        return response(aid, "Error", Message=f"Invalid/unknown command: {name}. Use Action: "
                        "ListCommands to show available commands.")


async def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.01)
