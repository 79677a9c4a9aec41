"""The active bridge: AMI in, effects out, FastAGI beside it, commands from the web.

Threads and loops, and why:

* the asyncio loop reads AMI and serves FastAGI (≥ 100 sessions without a thread
  each) and feeds every frame to the ``CallTracker``, which does no I/O;
* the *pop* thread turns agent effects into Socket.IO events (customer cards from the
  database, cached per call), so a pop never waits behind a call-log write;
* the *log* thread upserts call-log rows and keeps the wallboard's live state and
  figures in Redis; between batches it repairs the call log from the PBX's queue_log
  (``pbx_record``);
* the *command* thread takes PBX commands from the web (a blocking Redis pop) and runs
  them on the loop.

Nothing is lost when a part is away (docs/architecture.md, "Outages"): both worker
threads retry a failed write with backoff and keep what still fails after
``BRIDGE_DEAD_LETTER_AFTER`` in the dead letter; after every AMI (re)connect the resync
rebuilds the live state, the call log is repaired from the queue_log, and pops the PBX
contradicts are closed (``pop_ledger``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import threading
import time
import uuid
from collections import Counter
from typing import Any

import redis
from sqlalchemy.orm import Session, sessionmaker

from callcenter.bridge.agi_scripts import create_fastagi_server
from callcenter.bridge.calllog import (
    AgentSnapshot,
    CallLogWriter,
    CustomerShown,
    LiveReplacement,
    QueueSnapshot,
)
from callcenter.bridge.commands import execute_command
from callcenter.bridge.dead_letters import DeadLetterBox
from callcenter.bridge.pbx_record import AfterResync, PbxRecordReconciler
from callcenter.bridge.pop_ledger import LiveLegs, PopChecker, PopLedger
from callcenter.bridge.pops import AgentDirectory, PopSender
from callcenter.bridge.settings import BridgeSettings
from callcenter.bridge.status import StatusPublisher
from callcenter.bridge.worker import EffectWorker
from callcenter.config import Settings
from callcenter.desk.acw import pause_command, schedule_after_call_work
from callcenter.realtime.live import COMMANDS_KEY, RESULT_TTL_S, LiveAgent, encode, result_key
from telephony.ami import AMIClient, AMIError
from telephony.callstate import (
    AgentChanged,
    CallAnswered,
    CallDismissed,
    CallEnded,
    CallFinished,
    CallRinging,
    CallTracker,
    CallUpdated,
    QueueChanged,
)

log = logging.getLogger(__name__)

#: Events the tracker never needs: dropped by the frame reader before they are parsed.
#: (About 60 % of a busy PBX's events; bench/ami_ingest.py measures what skipping saves.)
SKIP_EVENTS = ("Newexten", "AGIExecStart", "AGIExecEnd", "DeviceStateChange", "Cdr",
               "NewConnectedLine", "DialState", "DialBegin", "LocalBridge", "Newstate",
               "BridgeCreate", "BridgeDestroy", "BridgeEnter", "SuccessfulAuth",
               "RTCPSent", "RTCPReceived", "MusicOnHoldStart")
POP_EFFECTS = (CallRinging, CallAnswered, CallDismissed, CallEnded)
LOG_SETTLE_S = 0.05


class Bridge:
    """One bridge between one PBX and the product, for as long as it is the leader."""

    def __init__(self, settings: Settings, bridge_settings: BridgeSettings, *,
                 session_factory: sessionmaker[Session], redis_client: redis.Redis,
                 publisher: Any, tracker: CallTracker | None = None,
                 agi_port: int | None = None, ledger: PopLedger | None = None) -> None:
        self.settings = settings
        self.bridge_settings = bridge_settings
        self.session_factory = session_factory
        self.redis = redis_client
        self.publisher = publisher
        self.tracker = tracker or CallTracker()
        self.directory = AgentDirectory(session_factory)
        #: What the desks show, as this process sent it (outlives this leader term).
        self.ledger = ledger or PopLedger()
        self.pops = PopSender(session_factory, publisher, self.directory,
                              settings.default_phone_region, timezone=settings.timezone,
                              ledger=self.ledger)
        self.pops.on_customer_shown = self._customer_shown
        self.pop_checker = PopChecker(session_factory, redis_client, publisher, self.ledger)
        #: After-call work started, skipped (Redis away), refused by the PBX.
        self.acw_stats: Counter[str] = Counter()
        #: Member name -> interface (queue_log names agents by member name); replaced,
        #: never mutated, by the loop, so the log thread may read it any time.
        self.member_names: dict[str, str] = {}
        self.reconciler = PbxRecordReconciler(
            session_factory, bridge_settings.queue_log_path,
            region=settings.default_phone_region, member_interfaces=lambda: self.member_names)
        self.log_writer = CallLogWriter(session_factory, redis_client, publisher,
                                        region=settings.default_phone_region,
                                        timezone=settings.timezone,
                                        reconciler=self.reconciler)
        self.dead_letters = DeadLetterBox(settings.instance_path)
        retry = {"dead_letter": self.dead_letters.put,
                 "dead_letter_after_s": bridge_settings.dead_letter_after_s}
        self.pop_worker = EffectWorker("bridge-pops", self._handle_pops, **retry)
        # The log thread lets each burst of AMI events settle before it writes: the pops
        # of the burst get the interpreter to themselves (bench/screen_pop.py).
        self.log_worker = EffectWorker("bridge-log", self.log_writer.handle,
                                       idle=self._between_log_batches,
                                       settle_s=LOG_SETTLE_S, **retry)
        # After-call work (a Redis SET, two RQ enqueues, a QueuePause) has a thread of its
        # own: on the pop thread it would hold up the next caller's screen pop.
        self.acw_worker = EffectWorker("bridge-acw", self._start_after_call_work)
        bs = bridge_settings
        self.ami = AMIClient(bs.ami_host, bs.ami_port, bs.ami_username, bs.ami_secret,
                             events=True, on_event=self._on_frame,
                             on_connected=self._resync, on_disconnected=self._on_lost,
                             skip_events=SKIP_EVENTS)
        self.agi = create_fastagi_server(session_factory, host=bs.agi_host,
                                         port=bs.agi_port if agi_port is None else agi_port,
                                         region=settings.default_phone_region,
                                         timezone=settings.timezone, access=bs.agi_access)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.resyncs = 0
        #: ``time.monotonic()`` until which the leader lock is surely ours: run_bridge
        #: moves it on with every renewal. Past it (the loop stalled beyond the TTL, so a
        #: standby may be the leader now) effects are dropped and the bridge stops.
        self.lease_until = math.inf
        self._run_stop: asyncio.Event | None = None
        self._stop_commands = threading.Event()
        self._command_thread: threading.Thread | None = None
        #: AMI link state and counters for /healthz and /metrics (from the log thread).
        self.status = StatusPublisher(self, redis_client)

    # -- life cycle ---------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Serve until ``stop`` is set; then close everything in order."""
        self.loop = asyncio.get_running_loop()
        self._run_stop = stop
        # Off the loop: the leader lock's first renewal waits for the loop to be free.
        await asyncio.to_thread(self.directory.refresh)
        if not self.bridge_settings.queue_log_path:
            log.warning("PBX_QUEUE_LOG is not set: calls that end while the bridge is away "
                        "are closed after the reconnect but not checked against the PBX")
        self.pop_worker.start()
        self.log_worker.start()
        self.acw_worker.start()
        await self.agi.start()
        log.info("FastAGI listening on %s:%s", self.agi.host, self.agi.port)
        ami_task = self.ami.start()
        self._command_thread = threading.Thread(target=self._command_loop,
                                                name="bridge-commands", daemon=True)
        self._command_thread.start()
        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)
                self._submit(self.tracker.tick(time.time()))
                if ami_task.done() and not self.ami.reconnect:
                    break
                if ami_task.done() and ami_task.exception() is not None:
                    raise ami_task.exception()
        finally:
            self._stop_commands.set()
            await self.ami.close()
            await self.agi.close()
            self.pop_worker.stop()
            self.log_worker.stop()
            self.acw_worker.stop()
            self.pops.close()
            if self._command_thread is not None:
                self._command_thread.join(5)

    # -- AMI ----------------------------------------------------------------------------
    def _on_frame(self, frame: dict) -> None:
        effects = self.tracker.feed(frame, time.time())
        if effects:
            self._submit(effects)

    def _leader(self) -> bool:
        """False once the lease ran out; then it also stops the bridge (on the loop)."""
        if time.monotonic() < self.lease_until:
            return True
        if self._run_stop is not None and not self._run_stop.is_set():
            log.error("no leader lock renewal within its TTL (a stall?): another bridge "
                      "may be active, so this one drops what it reads and stops")
            self._run_stop.set()
        return False

    def _submit(self, effects: list) -> None:
        if not self._leader():
            return
        for effect in effects:
            kind = type(effect)
            if kind in POP_EFFECTS:
                self.pop_worker.submit(effect)
                if kind is CallEnded and self.settings.acw_seconds > 0:
                    self.acw_worker.submit(effect)
            elif kind is CallUpdated:
                summary = effect.summary
                self.pops.prefetch(summary.call_id, summary.caller_number or "",
                                   summary.caller_name or "")
                self.log_worker.submit(effect)
            elif kind is CallFinished:
                self.pop_worker.submit(effect)   # after its last pop: drop the card
                self.log_worker.submit(effect)
            elif kind is QueueChanged:
                self.log_worker.submit(QueueSnapshot(effect.queue, effect.view.as_dict()))
            elif kind is AgentChanged:
                view = effect.view
                if view.name and view.name != effect.interface and \
                        self.member_names.get(view.name) != effect.interface:
                    self.member_names = {**self.member_names, view.name: effect.interface}
                self.log_worker.submit(AgentSnapshot(effect.interface,
                                                     self.agent_snapshot(view)))

    def _customer_shown(self, user_id: int, customer_id: Any, call_id: str) -> None:
        if isinstance(customer_id, int):
            self.log_worker.submit(CustomerShown(user_id, customer_id, call_id))

    def _between_log_batches(self) -> None:
        self.directory.refresh_if_stale()
        self.log_writer.reconcile_if_due()
        self.log_writer.push_figures()
        self.status.publish_if_due()

    def _handle_pops(self, batch: list) -> None:
        for effect in batch:
            if type(effect) is LiveLegs:
                self.pop_checker.check(effect, self.directory.agents())
            else:
                self.pops.handle(effect)

    def _start_after_call_work(self, batch: list[CallEnded]) -> None:
        for effect in batch:
            self._after_call_work(effect)

    def _after_call_work(self, effect: CallEnded) -> None:
        """An agent's call ended: pause them for the wrap-up (callcenter.desk.acw)."""
        if self.settings.acw_seconds <= 0 or self.loop is None:
            return
        user = self.directory.lookup(effect.interface)
        if user is None:
            return
        command = pause_command(user[0], effect.interface)
        try:
            scheduled = schedule_after_call_work(self.redis, self.settings, user_id=user[0],
                                                 call_id=effect.call.call_id)
        except Exception:  # noqa: BLE001 - Redis away: no pause rather than one never ended
            log.warning("after-call work of %s not started: its end could not be "
                        "scheduled", effect.interface, exc_info=True)
            self.acw_stats["skipped"] += 1
            return
        if not scheduled:
            return
        future = asyncio.run_coroutine_threadsafe(
            execute_command(self.ami, command, self.directory, tracker=self.tracker),
            self.loop)
        future.add_done_callback(self._acw_paused)
        self.acw_stats["started"] += 1

    def _acw_paused(self, future) -> None:
        try:
            result = future.result()
        except Exception as exc:  # noqa: BLE001 - logged; the agent stays available
            result = {"ok": False, "error": str(exc) or type(exc).__name__}
        if not result.get("ok"):
            log.warning("the PBX did not pause for after-call work: %s", result.get("error"))
            self.acw_stats["failed"] += 1

    async def _resync(self, client: AMIClient) -> None:
        """After every login: the PBX's own view replaces ours (nothing lost or doubled)."""
        # Events read while the lists arrive are fed as usual; the tracker leaves alone
        # what they changed after this moment (the snapshot is older than they are).
        started_at = time.time()
        queues = await client.queue_status()
        channels = await client.core_show_channels()
        events = [*queues.events, *channels.events]
        listed_at = time.time()
        self._submit(self.tracker.resync(events, listed_at, started_at=started_at))
        self.member_names = self.tracker.member_interfaces()
        self.replace_live_state()
        self.check_against_pbx(started_at)
        self.resyncs += 1
        log.info("AMI resync %d: %d queue entries/members, %d channels, %d live calls",
                 self.resyncs, len(queues.events), len(channels.events),
                 len(self.tracker.calls()))

    def replace_live_state(self) -> None:
        if not self._leader():
            return
        queues = {name: view.as_dict() for name, view in self.tracker.queues().items()}
        agents = {iface: self.agent_snapshot(view)
                  for iface, view in self.tracker.agents().items()}
        # Through the log thread, so it lands after the effects submitted before it.
        self.log_worker.submit(LiveReplacement(queues, agents))

    def check_against_pbx(self, listed_at: float) -> None:
        """After the resync: the call log and every desk's pops brought in line with what
        the PBX now lists (in order after the resync's own effects, on their threads)."""
        if not self._leader():
            return
        views = self.tracker.calls()
        self.log_worker.submit(AfterResync(
            frozenset(v.call_id for v in views),
            frozenset(v.queue_uniqueid for v in views if v.queue_uniqueid), listed_at))
        self.pop_worker.submit(LiveLegs(self.tracker.live_legs(), listed_at))

    def _on_lost(self, exc: Exception | None) -> None:
        log.warning("AMI link lost (%s); calls stay as they were until the resync", exc)

    def agent_snapshot(self, view: Any) -> LiveAgent:
        """A ``LiveAgent`` entry: the tracker's view plus who the interface belongs to."""
        data = view.as_dict()
        user = self.directory.lookup(view.interface)
        data["user_id"] = user[0] if user else None
        if user:
            data["name"] = user[1]
        return data

    # -- commands from the web ----------------------------------------------------------
    def _command_loop(self) -> None:
        while not self._stop_commands.is_set():
            try:
                item = self.redis.brpop([COMMANDS_KEY], timeout=1)
            except redis.RedisError as exc:
                log.warning("reading PBX commands failed: %s", exc)
                self._stop_commands.wait(1.0)
                continue
            if item is None:
                continue
            self._run_command(item[1])

    def _run_command(self, raw: bytes | str) -> None:
        try:
            command = json.loads(raw)
            request_id = str(command.get("request_id") or uuid.uuid4().hex)
        except (ValueError, AttributeError):
            log.warning("dropped a malformed PBX command (%d bytes)", len(raw))
            return
        assert self.loop is not None
        future = asyncio.run_coroutine_threadsafe(
            execute_command(self.ami, command, self.directory, tracker=self.tracker),
            self.loop)
        try:
            result = future.result(timeout=10)
        except (AMIError, TimeoutError) as exc:
            result = {"ok": False, "error": str(exc) or type(exc).__name__}
        except Exception as exc:  # noqa: BLE001 - reported back to the web, and logged
            log.exception("PBX command %r failed", str(command.get("action"))[:40])
            result = {"ok": False, "error": f"internal error: {type(exc).__name__}"}
        key = result_key(request_id)
        pipe = self.redis.pipeline()
        pipe.lpush(key, encode(result))
        pipe.expire(key, RESULT_TTL_S)
        pipe.execute()

