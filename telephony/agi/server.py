"""FastAGI server: Asterisk connects per call, we answer with AGI commands.

Why asyncio and not a thread per call: the bridge process already runs the AMI client,
whose reader is an asyncio protocol (a hand-written asyncio parser measured 330,000
events/s, see telephony-notes.md); FastAGI sessions live in the same event loop, so
100+ concurrent calls cost 100+ small coroutines instead of 100+ threads with their
stacks and GIL hand-offs, and an idle or hung session is bounded by ``asyncio.timeout``
on every read rather than by a socket timeout per thread. The one blocking thing a
script does, the SQLAlchemy lookup, runs in a *bounded* thread pool (``db_workers``,
default 8, below the engine's pool size), so a burst of 150 calls queues for
connections instead of opening 150. Hosts that are not asyncio (tests, a CLI)
run the whole server in one background thread with ``FastAGIThread`` (thread.py).

Every session is guaranteed to end: the environment must arrive within
``env_timeout``, with no silence longer than ``idle_timeout`` (EOF before its blank line
ends the session at once; no spinning on a closed socket), every reply within
``reply_timeout`` plus the command's own wait, the whole script within
``max_session_s``. The socket is closed in a ``finally``.

Who may connect (``allowed_peers``, loopback by default) and how many connections each
address and the server may hold (``max_per_peer``, ``max_sessions``; idle connections
are evicted first) is ``access.py``'s business: a flood of idle connections never keeps
a PBX's call from being answered.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from telephony.agi.access import (
    DEFAULT_ALLOWED_PEERS,
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_PER_PEER,
    ConnectionTable,
    RefusalLog,
    Slot,
    is_allowed,
    parse_peers,
    peer_address,
)
from telephony.agi.environment import EnvironmentTruncated, PeerIdle, read_environment
from telephony.agi.protocol import (
    MAX_ENV_LINE_BYTES,
    AGIEnvironment,
    AGIError,
    AGIHangup,
    AGIProtocolError,
    AGIReply,
    AGIUsageError,
    check_variable_name,
    encode_command,
    parse_reply,
    reply_is_complete,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
Script = Callable[["AGISession"], Awaitable[None]]

#: Lines of a 520 usage text or of a value with embedded newlines we accept at most.
_MAX_CONTINUATION_LINES = 200


class AGITimeout(AGIError):
    """Asterisk did not answer in time; the session is out of step and is closed."""


class ConnectionClosed(AGIHangup):
    """Asterisk closed the connection (the channel is gone or the PBX restarted)."""


class AGISession:
    """One call's AGI conversation: send a command, read its reply, one at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 env: AGIEnvironment, server: FastAGIServer):
        self.env = env
        self.server = server
        self.hung_up = False
        self.commands_sent = 0
        self._reader = reader
        self._writer = writer
        self._lock = asyncio.Lock()
        self._broken = False

    # -- raw commands --------------------------------------------------------------

    async def command(self, verb: str, *args: object, wait_s: float = 0.0) -> AGIReply:
        """Send ``verb`` with every arg quoted; return the 200 reply or raise AGIError.

        ``wait_s`` is how long the command itself may legitimately block (a prompt or a
        digit timeout); the reply may take that long plus ``reply_timeout``.
        """
        line = encode_command(verb, *args)
        async with self._lock:
            if self._broken:
                raise AGIHangup("session already ended")
            try:
                async with asyncio.timeout(wait_s + self.server.reply_timeout):
                    self._writer.write(line)
                    await self._writer.drain()
                    self.commands_sent += 1
                    return await self._read_reply()
            except TimeoutError as exc:
                self._broken = True
                raise AGITimeout(f"no reply to {verb!r}") from exc
            except (ConnectionError, ConnectionClosed) as exc:
                self._broken = self.hung_up = True
                raise AGIHangup("connection closed by Asterisk") from exc
            except AGIProtocolError:
                self._broken = True  # out of step with Asterisk: nothing more can be sent
                raise

    async def _read_line(self) -> str:
        try:
            raw = await self._reader.readline()
        except ValueError as exc:
            raise AGIProtocolError("reply line too long") from exc
        if not raw.endswith(b"\n"):
            raise ConnectionClosed("connection closed")
        return raw.decode("utf-8", errors="replace").rstrip("\r\n")

    async def _read_reply(self) -> AGIReply:
        while True:
            line = await self._read_line()
            if line == "HANGUP":
                # Asynchronous notice that the caller hung up; the reply still follows.
                self.hung_up = True
                continue
            if not line:
                continue
            if line.startswith("520-"):
                usage = []
                for _ in range(_MAX_CONTINUATION_LINES):
                    more = await self._read_line()
                    if more.startswith("520 "):
                        raise AGIUsageError(line[4:], "\n".join(usage))
                    usage.append(more)
                raise AGIProtocolError("520 usage text without an end")
            for _ in range(_MAX_CONTINUATION_LINES):
                if reply_is_complete(line):
                    break
                line += "\n" + await self._read_line()
            try:
                return parse_reply(line)
            except AGIHangup:
                self.hung_up = True
                raise

    def _channel_result(self, reply: AGIReply, what: str) -> AGIReply:
        """Channel commands answer result=-1 when the caller has gone."""
        if reply.result_int < 0:
            self.hung_up = True
            raise AGIHangup(f"{what}: caller hung up")
        return reply

    # -- the API scripts use ---------------------------------------------------------

    async def get_variable(self, name: str) -> str | None:
        """The channel variable's value, or None when unset (``200 result=0``)."""
        reply = await self.command(f"GET VARIABLE {check_variable_name(name)}")
        return reply.value if reply.result == "1" else None

    async def set_variable(self, name: str, value: object) -> None:
        await self.command(f"SET VARIABLE {check_variable_name(name)}", value)

    async def verbose(self, message: str, level: int = 1) -> None:
        await self.command("VERBOSE", message, int(level))

    async def answer(self) -> None:
        self._channel_result(await self.command("ANSWER"), "ANSWER")

    async def hangup(self) -> None:
        await self.command("HANGUP")
        self.hung_up = True

    async def wait_for_digit(self, timeout_ms: int) -> str:
        """One DTMF digit, or "" when ``timeout_ms`` passed without one."""
        reply = self._channel_result(
            await self.command("WAIT FOR DIGIT", int(timeout_ms), wait_s=timeout_ms / 1000),
            "WAIT FOR DIGIT")
        return chr(reply.result_int) if reply.result_int > 0 else ""

    async def stream_file(self, filename: str, escape_digits: str = "") -> str:
        """Play a sound file; the escape digit the caller pressed, or ""."""
        reply = self._channel_result(
            await self.command("STREAM FILE", filename, escape_digits,
                               wait_s=self.server.max_prompt_s),
            "STREAM FILE")
        return chr(reply.result_int) if reply.result_int > 0 else ""

    async def get_data(self, prompt: str, timeout_ms: int = 5000,
                       max_digits: int = 10) -> tuple[str, bool]:
        """Play ``prompt`` and collect digits until '#', ``max_digits`` or the timeout.

        Returns (digits, timed_out). Digits stay text: ``0123`` keeps its zero.
        """
        wait = self.server.max_prompt_s + timeout_ms / 1000 * (max_digits + 1)
        reply = await self.command("GET DATA", prompt, int(timeout_ms), int(max_digits),
                                   wait_s=wait)
        if reply.result.startswith("-"):
            self.hung_up = True
            raise AGIHangup("GET DATA: caller hung up")
        return reply.result, reply.value == "timeout"

    async def exec(self, application: str, *args: object) -> AGIReply:
        """Run a dialplan application; its arguments are joined with ',' as one argument."""
        if not application.isalnum():
            raise ValueError(f"not an application name: {application!r}")
        reply = await self.command(f"EXEC {application}", ",".join(str(a) for a in args))
        if reply.result == "-2":
            raise AGIError(f"application {application} not found")
        return reply

    async def run_db(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(session, *args)`` in the DB thread pool, with a read-only session."""
        return await self.server.run_db(fn, *args)


class FastAGIServer:
    """Accepts Asterisk's FastAGI connections and runs the script each one names."""

    def __init__(self, scripts: Mapping[str, Script], *, host: str = "127.0.0.1",
                 port: int = 4573, session_factory: sessionmaker[Session] | None = None,
                 region: str = "CN", env_timeout: float = 5.0, reply_timeout: float = 10.0,
                 max_prompt_s: float = 120.0, max_session_s: float = 600.0,
                 max_sessions: int = 1000, db_workers: int = 8,
                 allowed_peers: str | Iterable[str] | None = DEFAULT_ALLOWED_PEERS,
                 max_per_peer: int = DEFAULT_MAX_PER_PEER,
                 idle_timeout: float = DEFAULT_IDLE_TIMEOUT):
        self.scripts = dict(scripts)
        self.host, self.port = host, port
        self.session_factory = session_factory
        self.region = region
        self.env_timeout = env_timeout
        self.reply_timeout = reply_timeout
        self.max_prompt_s = max_prompt_s
        self.max_session_s = max_session_s
        self.max_sessions = max_sessions
        self.idle_timeout = idle_timeout
        #: PBX addresses or CIDR ranges allowed to connect (None: anyone). A lookup
        #: answers with customer names and tiers: whoever can connect can ask.
        self.allowed_peers = parse_peers(allowed_peers) if allowed_peers is not None else None
        self.connections = ConnectionTable(max_sessions=max_sessions,
                                           max_per_peer=max_per_peer)
        self._refusals = RefusalLog()
        #: Counters for monitoring and tests: connections, completed, hangup,
        #: rejected_peer, rejected_busy, evicted_idle, idle_timeout, ...
        self.stats: Counter[str] = Counter()
        self.peak_active = 0
        self._db_workers = db_workers
        self._executor: ThreadPoolExecutor | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def active(self) -> int:
        """Connections open now (sessions and those still sending their environment)."""
        return self.connections.total

    async def start(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=self._db_workers,
                                            thread_name_prefix="fastagi-db")
        self._server = await asyncio.start_server(
            self._handle, self.host, self.port, limit=MAX_ENV_LINE_BYTES * 2, backlog=512)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("FastAGI listening on %s:%s", self.host, self.port)

    async def serve_forever(self) -> None:
        if self._server is None:
            await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.close()

    async def close(self) -> None:
        """Stop listening, end every session, wait for DB threads; idempotent."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._executor is not None:
            executor, self._executor = self._executor, None
            await asyncio.get_running_loop().run_in_executor(None, executor.shutdown)

    async def run_db(self, fn: Callable[..., T], *args: Any) -> T:
        if self.session_factory is None or self._executor is None:
            raise RuntimeError("FastAGI server has no database configured")
        factory = self.session_factory

        def work() -> T:
            with factory() as session:
                try:
                    return fn(session, *args)
                finally:
                    session.rollback()

        return await asyncio.get_running_loop().run_in_executor(self._executor, work)

    async def _handle(self, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.stats["connections"] += 1
        slot: Slot | None = None
        try:
            address = peer_address(writer.get_extra_info("peername"))
            peer = str(address)
            if not is_allowed(address, self.allowed_peers):
                self._refuse("rejected_peer", peer, "not an allowed PBX address")
                return
            slot, evicted = self.connections.admit(peer, task)
            self.stats["evicted_idle"] += evicted
            if slot is None:
                busy = self.connections.per_peer[peer] >= self.connections.max_per_peer
                self._refuse("rejected_peer_limit" if busy else "rejected_busy", peer,
                             f"{self.active} connections open, none idle")
                return
            self.peak_active = max(self.peak_active, self.active)
            await self._run_session(reader, writer, slot)
        except asyncio.CancelledError:
            if slot is None or not slot.evicted:
                raise
            # Evicted to make room: ends like any closed session (a cancelled handler
            # task would be reported as an error by asyncio's streams).
        finally:
            if slot is not None:
                self.connections.release(slot)
            self._tasks.discard(task)
            writer.close()
            try:
                await asyncio.wait_for(writer.wait_closed(), 1.0)
            except (OSError, TimeoutError):
                pass

    def _refuse(self, counter: str, peer: str, why: str) -> None:
        self.stats[counter] += 1
        if self._refusals.should_log(f"{counter} {peer}"):
            log.warning("FastAGI: connection from %s refused (%s); %d so far", peer, why,
                        self.stats[counter])

    async def _run_session(self, reader: asyncio.StreamReader,
                           writer: asyncio.StreamWriter, slot: Slot | None = None) -> None:
        peer = writer.get_extra_info("peername")
        try:
            async with asyncio.timeout(self.env_timeout):
                env = await read_environment(reader, self.idle_timeout)
        except PeerIdle as exc:
            self.stats["idle_timeout"] += 1
            log.info("FastAGI %s: %s", peer, exc)
            return
        except TimeoutError:
            self.stats["env_timeout"] += 1
            log.warning("FastAGI %s: no complete environment within %ss", peer,
                        self.env_timeout)
            return
        except EnvironmentTruncated as exc:
            self.stats["env_truncated"] += 1
            log.warning("FastAGI %s: %r", peer, exc)
            return
        except AGIProtocolError as exc:
            self.stats["env_malformed"] += 1
            log.warning("FastAGI %s: malformed environment: %r", peer, exc)
            return
        except ConnectionError:
            self.stats["env_truncated"] += 1
            return
        if slot is not None:
            self.connections.started(slot)
        script = self.scripts.get(env.script)
        if script is None:
            self.stats["unknown_script"] += 1
            log.warning("FastAGI %s: no script %r", peer, env.script[:80])
            return
        session = AGISession(reader, writer, env, self)
        try:
            async with asyncio.timeout(self.max_session_s):
                await script(session)
            self.stats["completed"] += 1
        except AGIHangup:
            self.stats["hangup"] += 1
            log.info("FastAGI %r %r: caller hung up", env.script, env.get("uniqueid"))
        except (TimeoutError, AGITimeout) as exc:
            self.stats["timeout"] += 1
            log.warning("FastAGI %r %r: timed out: %s", env.script, env.get("uniqueid"), exc)
        except AGIError as exc:
            self.stats["agi_error"] += 1
            log.warning("FastAGI %r %r: %r", env.script, env.get("uniqueid"), exc)
        except Exception:
            self.stats["script_error"] += 1
            log.exception("FastAGI %r %r: script failed", env.script, env.get("uniqueid"))
