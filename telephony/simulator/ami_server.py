"""The AMI side of the simulator: an asyncio TCP server that talks like Asterisk 22.

Protocol details come from captures/00_protocol: the banner, ``Authentication failed``
followed by the server closing the connection, ``Permission denied`` before login,
``FullyBooted`` as the first event after a login with events on, ActionID echoed only
when sent, event masks by privilege class, security events to the other listeners.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from telephony.simulator.frames import event, response

if TYPE_CHECKING:
    from telephony.simulator.simulator import PbxSimulator

log = logging.getLogger(__name__)

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
MAX_LINE = 64 * 1024
MAX_HEADERS = 512
MAX_BUFFERED = 32 * 1024 * 1024  # a client this far behind is cut off, like writetimeout
CLASSES = {"system", "call", "log", "verbose", "command", "agent", "user", "config",
           "dtmf", "reporting", "cdr", "dialplan", "originate", "agi", "cc", "aoc",
           "test", "security", "message"}


class Headers:
    """An action's headers: case-insensitive lookup, repeated keys kept in order."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    def get(self, name: str, default: str | None = None) -> str | None:
        lowered = name.lower()
        for key, value in self.pairs:
            if key.lower() == lowered:
                return value
        return default

    def getall(self, name: str) -> list[str]:
        lowered = name.lower()
        return [value for key, value in self.pairs if key.lower() == lowered]


def parse_mask(text: str | None) -> set[str] | None:
    """``Events:`` value -> set of privilege classes, or None for off."""
    if text is None:
        return {"all"}
    value = text.strip().lower()
    if value in ("off", "no", "false", "0", ""):
        return None
    if value in ("on", "yes", "true", "all", "1"):
        return {"all"}
    return {part.strip() for part in value.split(",") if part.strip() in CLASSES} or None


class AmiSession:
    def __init__(self, server: AmiServer, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.authenticated = False
        self.username = ""
        self.mask: set[str] | None = None
        self.challenge: str | None = None
        self.closed = False
        self.session_id = f"0x{id(self):x}"
        self.started = time.time()
        peer = writer.get_extra_info("peername") or ("0.0.0.0", 0)  # noqa: S104
        local = writer.get_extra_info("sockname") or ("0.0.0.0", 0)  # noqa: S104
        self.remote = f"IPV4/TCP/{peer[0]}/{peer[1]}"
        self.local = f"IPV4/TCP/{local[0]}/{local[1]}"

    def wants(self, privilege: str) -> bool:
        mask = self.mask
        return mask is not None and ("all" in mask or privilege in mask)

    def send(self, data: bytes) -> None:
        if self.closed:
            return
        transport = self.writer.transport
        if transport.is_closing():
            self.closed = True
            return
        if transport.get_write_buffer_size() > MAX_BUFFERED:
            log.warning("AMI client %s too slow, disconnecting", self.remote)
            self.close()
            return
        self.writer.write(data)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.writer.close()

    async def read_message(self) -> Headers | None:
        """Lines up to an empty line; None at EOF. Over-long input ends the session."""
        pairs: list[tuple[str, str]] = []
        while True:
            try:
                raw = await self.reader.readline()
            except (ValueError, asyncio.LimitOverrunError, ConnectionError):
                return None
            if not raw:
                return None
            line = raw.decode("utf-8", "surrogateescape").rstrip("\r\n")
            if not line:
                if pairs:
                    return Headers(pairs)
                continue
            key, sep, value = line.partition(":")
            if sep:
                pairs.append((key.strip(), value.lstrip(" ")))
            if len(pairs) > MAX_HEADERS:
                return None

    def security_event(self, name: str, severity: str, extra: list[tuple[str, str]],
                       version: str = "1") -> None:
        now = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + \
            f".{int(now * 1000) % 1000:03d}+0000"
        session_tv = (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.started))
                      + f".{int(self.started * 1000) % 1000:03d}+0000"
                      if self.authenticated else "1970-01-01T00:00:00.000+0000")
        pairs = [("EventTV", stamp), ("Severity", severity), ("Service", "AMI"),
                 ("EventVersion", version)]
        account = [p for p in extra if p[0] == "AccountID"]
        # RequestBadFormat is the one that carries AccountID last (00_protocol ami.raw)
        account_last = name == "RequestBadFormat"
        if not account_last:
            pairs += account
        pairs += [("SessionID", self.session_id), ("LocalAddress", self.local),
                  ("RemoteAddress", self.remote)]
        pairs += [p for p in extra if p[0] != "AccountID"]
        pairs.append(("SessionTV", session_tv))
        if account_last:
            pairs += account
        self.server.broadcast("security", event(name, "security", pairs))

    async def serve(self) -> None:
        self.writer.write(BANNER)
        try:
            while not self.closed:
                headers = await self.read_message()
                if headers is None:
                    break
                await self.server.dispatch(self, headers)
                if not self.closed:
                    await self.writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self.close()
            self.server.sessions.discard(self)


Handler = Callable[[AmiSession, Headers, str | None], Awaitable[None] | None]


class AmiServer:
    def __init__(self, sim: PbxSimulator) -> None:
        self.sim = sim
        self.sessions: set[AmiSession] = set()
        self.server: asyncio.AbstractServer | None = None
        self.handlers: dict[str, Handler] = {}

    async def start(self, host: str, port: int) -> int:
        self.server = await asyncio.start_server(self._accept, host, port, limit=MAX_LINE)
        return self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
        for session in list(self.sessions):
            session.close()
        if self.server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), timeout=2)

    async def _accept(self, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        session = AmiSession(self, reader, writer)
        self.sessions.add(session)
        await session.serve()

    def broadcast(self, privilege: str, data: bytes, name: str = "") -> None:
        for session in self.sessions:
            if session.authenticated and session.wants(privilege):
                session.send(data)

    async def dispatch(self, session: AmiSession, headers: Headers) -> None:
        action_id = headers.get("ActionID")
        action = headers.get("Action")
        if action is None:
            session.send(response(action_id, [("Message", "Missing action in request")],
                                  "Error"))
            if session.authenticated:
                session.security_event("RequestBadFormat", "Error",
                                       [("RequestType", "Action: NONE"),
                                        ("AccountID", session.username)])
            return
        name = action.strip().lower()
        if name == "login":
            self._login(session, headers, action_id)
            return
        if name == "challenge":
            session.challenge = str(self.sim.rng.randrange(100000000, 999999999))
            session.send(response(action_id, [("Challenge", session.challenge)]))
            return
        if name == "logoff":
            session.send(response(action_id, [("Message", "Thanks for all the fish.")],
                                  "Goodbye"))
            await session.writer.drain()
            session.close()
            return
        if not session.authenticated:
            session.send(response(action_id, [("Message", "Permission denied")], "Error"))
            session.security_event("RequestNotAllowed", "Error",
                                   [("AccountID", ""), ("RequestType", f"Action: {action}")])
            return
        handler = self.handlers.get(name)
        if handler is None:
            message = (f"Invalid/unknown command: {action}. Use Action: ListCommands to "
                       "show available commands.")
            session.send(response(action_id, [("Message", message)], "Error"))
            session.security_event("RequestBadFormat", "Error",
                                   [("RequestType", f"Action: {action}"),
                                    ("AccountID", session.username)])
            return
        result = handler(session, headers, action_id)
        if result is not None:
            await result

    def _login(self, session: AmiSession, headers: Headers, action_id: str | None) -> None:
        cfg = self.sim.config
        username = headers.get("Username", "") or ""
        secret = headers.get("Secret")
        key = headers.get("Key")
        if (headers.get("AuthType") or "").lower() == "md5" and session.challenge and key:
            expected = hashlib.md5((session.challenge + cfg.secret).encode(),
                                   usedforsecurity=False).hexdigest()
            good = username == cfg.username and key.lower() == expected
        else:
            good = username == cfg.username and secret == cfg.secret
        if not good:
            session.send(response(action_id, [("Message", "Authentication failed")], "Error"))
            if username == cfg.username:
                session.security_event("InvalidPassword", "Error",
                                       [("AccountID", username)], version="2")
            else:
                session.security_event("InvalidAccountID", "Error", [("AccountID", username)])
            # Asterisk drops the connection after a failed login (00_protocol notes.txt)
            session.close()
            return
        session.authenticated = True
        session.username = username
        session.started = time.time()
        session.mask = parse_mask(headers.get("Events"))
        session.send(response(action_id, [("Message", "Authentication accepted")]))
        if session.mask is not None:
            uptime = str(int(time.time() - self.sim.pbx.started))
            session.send(event("FullyBooted", "system",
                               [("Uptime", uptime), ("LastReload", uptime),
                                ("Status", "Fully Booted")]))
        session.security_event("SuccessfulAuth", "Informational",
                               [("AccountID", username), ("UsingPassword", "0")])

