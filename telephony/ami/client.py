"""Asyncio AMI client: login, ActionID-matched actions, list actions, keepalive, reconnect.

Why asyncio and not threads: the bridge process also runs the FastAGI server (>= 100
concurrent sessions, each mostly waiting on the PBX) and publishes to Redis. On one event
loop those are a few hundred sockets and no threads to leak when a caller hangs up
mid-script; per-action timeouts, the Ping keepalive and the backoff sleep are plain
``wait_for``/``sleep`` with cancellation, and the pending-ActionID map and the call-state
machine need no locks because only the loop touches them. Reading costs nothing extra:
the socket is read through an ``asyncio.Protocol`` (no StreamReader copies) into the same
:class:`FrameReader`; ``bench/ami_ingest.py`` measures this client next to a blocking
``recv`` loop over the same bytes (figures in telephony/ami/README.md). Blocking work
(database lookups) must be handed to ``asyncio.to_thread`` by the caller.

Events are delivered synchronously, in wire order, to ``on_event(frame)``; it must be quick
(update state, queue work). ``on_connected(client)`` is awaited after every (re)login, so
the bridge can rebuild its state (QueueStatus, CoreShowChannels) before trusting events.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
import secrets
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import asdict, dataclass

from .actions import (
    AMIActionError,
    AMIAuthError,
    AMIConnectionLost,
    AMIError,
    AMINotConnected,
    AMITimeout,
    Headers,
    encode_action,
)
from .commands import ListResult, ProductActions
from .frames import Frame, FrameReader

log = logging.getLogger(__name__)

EventCallback = Callable[[Frame], None]
ConnectedHook = Callable[["AMIClient"], Awaitable[None]]


@dataclass
class ClientStats:
    logins: int = 0
    connect_failures: int = 0
    disconnects: int = 0
    events: int = 0
    responses: int = 0
    unmatched_responses: int = 0
    callback_errors: int = 0
    timeouts: int = 0
    ping_failures: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class _Pending:
    action: str
    future: asyncio.Future
    events: list[Frame] | None = None  # not None for list actions
    response: Frame | None = None


class _Protocol(asyncio.Protocol):
    def __init__(self, client: AMIClient) -> None:
        self.client = client

    def data_received(self, data: bytes) -> None:
        client = self.client
        if client._protocol is not self:
            return  # a connection already given up on
        frames = client.reader.feed(data)
        if client._banner is not None and not client._banner.done() and client.reader.banner:
            client._banner.set_result(client.reader.banner)
        dispatch = client._dispatch
        for frame in frames:
            dispatch(frame)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.client._protocol is self:
            self.client._protocol = None
            self.client._connection_lost(exc)


class AMIClient(ProductActions):
    """One logged-in AMI connection, kept alive and re-established by :meth:`run`."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 5038,
        username: str = "",
        secret: str = "",
        *,
        events: bool | str = True,
        auth: str = "plain",
        on_event: EventCallback | None = None,
        on_connected: ConnectedHook | None = None,
        on_disconnected: Callable[[Exception | None], None] | None = None,
        action_timeout: float = 5.0,
        connect_timeout: float = 5.0,
        ping_interval: float = 20.0,
        reconnect: bool = True,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        stable_after: float = 10.0,
        skip_events: Collection[str] = (),
        max_frame: int = 64 * 1024,
        rng: random.Random | None = None,
    ) -> None:
        if auth not in ("plain", "md5"):
            raise ValueError("auth must be 'plain' or 'md5'")
        self.host, self.port, self.username, self.secret = host, port, username, secret
        self.events = ("on" if events else "off") if isinstance(events, bool) else events
        self.auth = auth
        self.on_event, self.on_connected, self.on_disconnected = (
            on_event, on_connected, on_disconnected)
        self.action_timeout, self.connect_timeout = action_timeout, connect_timeout
        self.ping_interval, self.reconnect = ping_interval, reconnect
        self.backoff_initial, self.backoff_max = backoff_initial, backoff_max
        self.stable_after = stable_after
        self.reader = FrameReader(max_frame=max_frame, skip_events=skip_events)
        self.stats = ClientStats()
        self.banner: str | None = None
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
        self._id_prefix = secrets.token_hex(3)
        self._seq = 0
        self._pending: dict[str, _Pending] = {}
        self._lists = 0  # list actions in flight: the event hot path skips lookups when 0
        self._transport: asyncio.Transport | None = None
        self._protocol: _Protocol | None = None
        self._banner: asyncio.Future | None = None
        self._lost: asyncio.Future | None = None
        self._logged_in = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task | None = None

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._logged_in.is_set()

    def start(self) -> asyncio.Task:
        """Run :meth:`run` in the background (call from inside the event loop)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run(), name="ami-client")
        return self._task

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Until logged in; raises the fatal error (e.g. :class:`AMIAuthError`) if run() ended."""
        task = self.start()
        waiter = asyncio.ensure_future(self._logged_in.wait())
        try:
            done, _ = await asyncio.wait({waiter, task}, timeout=timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        if self._logged_in.is_set():
            return
        if task in done:
            task.result()  # raises the fatal error
            raise AMINotConnected("AMI client stopped")
        raise AMINotConnected(f"not logged in to {self.host}:{self.port} within {timeout} s")

    def backoff_delay(self, attempt: int) -> float:
        """Exponential backoff with jitter: 50-100 % of min(max, initial * 2**attempt)."""
        ceiling = min(self.backoff_max, self.backoff_initial * (2 ** min(attempt, 30)))
        return ceiling * (0.5 + 0.5 * self._rng.random())

    async def run(self) -> None:
        """Connect, log in, resync, keep alive; reconnect until :meth:`close`.

        Returns when closed (or after the first drop if ``reconnect=False``); raises
        :class:`AMIAuthError` at once, since retrying a refused secret only fills the PBX's
        security log.
        """
        loop = asyncio.get_running_loop()
        attempt = 0
        while not self._closing:
            try:
                await self._connect_once()
            except AMIAuthError:
                raise
            except (OSError, TimeoutError, AMIError) as exc:
                self.stats.connect_failures += 1
                log.warning("AMI %s:%s connect failed: %s", self.host, self.port, exc)
            else:
                up_since = loop.time()
                await self._serve_connection()
                if loop.time() - up_since >= self.stable_after:
                    attempt = 0
            if self._closing or not self.reconnect:
                break
            delay = self.backoff_delay(attempt)
            attempt += 1
            log.info("AMI reconnect in %.2f s (attempt %d)", delay, attempt)
            await asyncio.sleep(delay)

    async def close(self) -> None:
        """Log off politely if possible and stop reconnecting."""
        self._closing = True
        if self._logged_in.is_set():
            with contextlib.suppress(AMIError, OSError):
                await self._request("Logoff", (), timeout=1.0, check=False)
        if self._transport is not None:
            self._transport.close()
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, AMIError):
                await self._task

    # -- one connection -------------------------------------------------------------------
    async def _connect_once(self) -> None:
        loop = asyncio.get_running_loop()
        self.reader.reset()
        self._banner = loop.create_future()
        self._lost = loop.create_future()
        def make_protocol() -> _Protocol:
            self._protocol = _Protocol(self)
            return self._protocol

        transport, _ = await asyncio.wait_for(
            loop.create_connection(make_protocol, self.host, self.port), self.connect_timeout)
        self._transport = transport  # type: ignore[assignment]
        try:
            self.banner = await asyncio.wait_for(asyncio.shield(self._banner),
                                                 self.connect_timeout)
            await self._login()
        except BaseException:
            transport.abort()
            self._protocol = None
            self._transport = None
            raise
        self.stats.logins += 1
        self._logged_in.set()

    async def _login(self) -> None:
        headers: dict[str, str] = {"Username": self.username}
        if self.auth == "md5":
            reply = await self._request("Challenge", {"AuthType": "md5"},
                                        timeout=self.connect_timeout, check=False)
            challenge = reply.get("Challenge", "")
            if reply.get("Response") != "Success" or not challenge:
                raise AMIAuthError(reply.get("Message") or "Challenge refused")
            key = hashlib.md5((challenge + self.secret).encode(), usedforsecurity=False)
            headers.update(AuthType="md5", Key=key.hexdigest())
        else:
            headers["Secret"] = self.secret
        headers["Events"] = self.events
        reply = await self._request("Login", headers, timeout=self.connect_timeout, check=False)
        if reply.get("Response") != "Success":
            raise AMIAuthError(reply.get("Message") or "Authentication failed")

    async def _serve_connection(self) -> None:
        assert self._lost is not None
        keepalive = asyncio.get_running_loop().create_task(self._keepalive())
        try:
            if self.on_connected is not None:
                try:
                    await self.on_connected(self)
                except AMIError as exc:  # e.g. the link dropped again during the resync
                    log.warning("AMI resync failed (%s), reconnecting", exc)
                    self._abort()
                except Exception:
                    # State could not be rebuilt: drop the link and start over.
                    log.exception("AMI resync (on_connected) failed, reconnecting")
                    self._abort()
            await asyncio.shield(self._lost)
        finally:
            keepalive.cancel()

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(self.ping_interval)
            try:
                await self._request("Ping", (), timeout=self.action_timeout, check=False)
            except AMIError as exc:
                self.stats.ping_failures += 1
                log.warning("AMI ping failed (%s), dropping the connection", exc)
                self._abort()
                return

    def _abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    def _connection_lost(self, exc: Exception | None) -> None:
        self.reader.feed_eof()
        was_up = self._logged_in.is_set()
        self._logged_in.clear()
        self._transport = None
        lost = AMIConnectionLost(f"AMI connection lost: {exc or 'closed by peer'}")
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(lost)
        if self._banner is not None and not self._banner.done():
            self._banner.set_exception(lost)
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(None)
        if was_up and not self._closing:
            self.stats.disconnects += 1
            if self.on_disconnected is not None:
                try:
                    self.on_disconnected(exc)
                except Exception:
                    log.exception("AMI on_disconnected callback failed")

    # -- frames in ------------------------------------------------------------------------
    def _dispatch(self, frame: Frame) -> None:
        if "Event" in frame:  # before Response: OriginateResponse has both
            if self._lists:
                pending = self._pending.get(frame.get("ActionID", ""))
                if pending is not None and pending.events is not None:
                    if frame.get("EventList", "").lower() == "complete":
                        self._finish_list(pending, frame)
                    else:
                        pending.events.append(frame)
                    return
            self.stats.events += 1
            if self.on_event is not None:
                try:
                    self.on_event(frame)
                except Exception:  # a bad handler must not kill the reader
                    self.stats.callback_errors += 1
                    log.exception("AMI event callback failed on %s", frame.get("Event"))
            return
        self.stats.responses += 1
        pending = self._pending.get(frame.get("ActionID", ""))
        if pending is None or pending.future.done():
            self.stats.unmatched_responses += 1
            return
        if pending.events is not None and frame.get("Response") == "Success":
            if frame.get("EventList", "").lower() == "start" or "follow" in frame.get(
                    "Message", ""):
                pending.response = frame  # the list follows, ended by EventList: Complete
                return
            pending.future.set_result(ListResult(frame))  # nothing to list
            return
        pending.future.set_result(frame)

    def _finish_list(self, pending: _Pending, complete: Frame) -> None:
        if not pending.future.done():
            response = pending.response or {"Response": "Success"}
            pending.future.set_result(ListResult(response, pending.events or [], complete))

    # -- actions out ----------------------------------------------------------------------
    def _next_id(self) -> str:
        self._seq += 1
        return f"{self._id_prefix}-{self._seq}"

    async def _request(self, action: str, headers: Headers, *, timeout: float,
                       check: bool, list_action: bool = False) -> Frame | ListResult:
        action_id = self._next_id()
        data = encode_action(action, action_id, headers)
        transport = self._transport
        if transport is None or transport.is_closing():
            raise AMINotConnected(f"{action}: not connected")
        future = asyncio.get_running_loop().create_future()
        pending = _Pending(action, future, [] if list_action else None)
        self._pending[action_id] = pending
        self._lists += list_action
        try:
            transport.write(data)
            result = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            self.stats.timeouts += 1
            raise AMITimeout(action, action_id, timeout) from None
        finally:
            del self._pending[action_id]
            self._lists -= list_action
        frame = result.response if isinstance(result, ListResult) else result
        if check and frame.get("Response") == "Error":
            raise AMIActionError(action, frame)
        return result

    async def send_action(self, action: str, headers: Headers = (), *,
                          timeout: float | None = None, check: bool = True) -> Frame:
        """Send one action and return its response; waits for a login up to ``timeout``.

        Raises :class:`AMIActionError` on ``Response: Error`` unless ``check=False``.
        """
        timeout = self.action_timeout if timeout is None else timeout
        headers = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
        encode_action(action, None, headers)  # refuse bad values before waiting
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        await self._wait_logged_in(action, timeout)
        result = await self._request(action, headers, timeout=max(0.0, deadline - loop.time()),
                                     check=check)
        assert not isinstance(result, ListResult)
        return result

    async def send_list_action(self, action: str, headers: Headers = (), *,
                               timeout: float | None = None) -> ListResult:
        """An action answered by a list of events ending in ``EventList: Complete``."""
        timeout = self.action_timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        await self._wait_logged_in(action, timeout)
        result = await self._request(action, headers, timeout=max(0.0, deadline - loop.time()),
                                     check=True, list_action=True)
        if not isinstance(result, ListResult):  # an Error response ends the list at once
            raise AMIActionError(action, result)
        return result

    async def _wait_logged_in(self, action: str, timeout: float) -> None:
        if self._logged_in.is_set():
            return
        try:
            await asyncio.wait_for(self._logged_in.wait(), timeout)
        except TimeoutError:
            raise AMINotConnected(f"{action}: not logged in within {timeout:g} s") from None
