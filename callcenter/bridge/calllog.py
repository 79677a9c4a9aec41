"""The call log and the wallboard, fed from call-state effects (the bridge's second thread).

Call-log rows are upserted by Linkedid, so a replay or a resync that reports a call
again updates its row instead of adding one. Under load several updates of one call
arrive in one batch; only the newest is written.

The live part of the wallboard (callers waiting, agents' states) goes to Redis on
every change; the day's figures come from the call log and are recomputed for a
queue only when one of its calls changed, at most every ``figures_every_s``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import redis
from sqlalchemy.orm import Session, sessionmaker

from callcenter.bridge.pbx_record import AfterResync
from callcenter.calls.access import audit_pops_outside_scope
from callcenter.calls.recording import ensure_queue, record_call
from callcenter.db import session_scope
from callcenter.desk.own_state import OWN_STATE_EVENT
from callcenter.realtime.live import write_live_entries
from callcenter.wallboard.figures import agent_rows, local_day_start, queue_figures
from callcenter.wallboard.pauses import PauseRecorder
from telephony.callstate import CallFinished, CallUpdated

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueueSnapshot:
    """A queue's live state as the wallboard shows it (JSON-ready), taken in the loop."""

    queue: str
    data: dict


@dataclass(frozen=True)
class AgentSnapshot:
    interface: str
    data: dict


@dataclass(frozen=True)
class CustomerShown:
    """A pop showed this agent this customer for this call: audited if out of scope
    (docs/architecture.md; ``calls.access``)."""

    user_id: int
    customer_id: int
    call_id: str


@dataclass(frozen=True)
class LiveReplacement:
    """After a (re)connect: the PBX's whole live state, replacing what Redis held."""

    queues: dict
    agents: dict


class CallLogWriter:
    """Handles batches of effects: call-log upserts, live wallboard state, figure pushes."""

    def __init__(self, session_factory: sessionmaker[Session], redis_client: redis.Redis,
                 publisher: Any, *, region: str, timezone: str,
                 figures_every_s: float = 0.5, reconciler: Any = None) -> None:
        self.session_factory = session_factory
        self.redis = redis_client
        self.publisher = publisher
        self.region = region
        self.tz = ZoneInfo(timezone)
        self.figures_every_s = figures_every_s
        #: ``pbx_record.PbxRecordReconciler`` (None: the call log is not repaired)
        self.reconciler = reconciler
        self._known_queues: set[str] = set()
        self._dirty_queues: set[str] = set()
        self._last_figures: dict[str, float] = {}
        self._live_queues: dict[str, dict] = {}
        self._agent_queues: dict[str, set[str]] = {}  # interface -> queues last told
        #: the agents' pauses, written between batches (the wallboard's pause time)
        self.pauses = PauseRecorder(session_factory)
        self.stats = {"calls_written": 0, "figure_pushes": 0, "agent_pushes": 0,
                      "own_state_pushes": 0}

    # -- one batch ----------------------------------------------------------------------
    def handle(self, batch: list[Any]) -> None:
        summaries: dict[str, Any] = {}
        live_queues: dict[str, dict] = {}
        live_agents: dict[str, dict] = {}
        shown: list[tuple[int, int, str]] = []
        for item in batch:
            kind = type(item)
            if kind is CallUpdated or kind is CallFinished:
                summaries[item.summary.call_id] = item.summary
            elif kind is QueueSnapshot:
                live_queues[item.queue] = item.data
            elif kind is AgentSnapshot:
                live_agents[item.interface] = item.data
                self.pauses.observe(item.interface, item.data)
            elif kind is CustomerShown:
                shown.append((item.user_id, item.customer_id, item.call_id))
            elif kind is LiveReplacement:
                # Whatever came before in this batch is superseded by the PBX's own view.
                live_queues.clear()
                live_agents.clear()
                self.replace_live(item.queues, item.agents)
                self.pauses.replace(item.agents)
            elif kind is AfterResync:
                # the calls reported before it first: the repair reads what they wrote
                if summaries:
                    self.write_calls(list(summaries.values()))
                    summaries.clear()
                self.after_resync(item)
        if summaries:
            self.write_calls(list(summaries.values()))
        if shown:
            with session_scope(self.session_factory) as session:
                audit_pops_outside_scope(session, shown)
        if live_queues or live_agents:
            self.write_live(live_queues, live_agents)

    def write_calls(self, summaries: list[Any]) -> None:
        with session_scope(self.session_factory) as session:
            for summary in summaries:
                if summary.queue and summary.queue not in self._known_queues:
                    ensure_queue(session, summary.queue)
                    self._known_queues.add(summary.queue)
                record_call(session, summary, region=self.region)
        self.stats["calls_written"] += len(summaries)
        self._dirty_queues.update(s.queue for s in summaries if s.queue)

    def write_live(self, queues: dict[str, dict], agents: dict[str, dict]) -> None:
        self._live_queues.update(queues)
        pipe = self.redis.pipeline(transaction=False)
        write_live_entries(pipe, queues, agents)
        pipe.execute()
        self._dirty_queues.update(queues)
        self._push_agents(agents)

    def _push_agents(self, agents: dict[str, dict]) -> None:
        if not agents:
            return
        # The same rows GET /api/v1/wallboard answers (contract: agent.update = agents[]).
        users = {iface: SimpleNamespace(id=snap.get("user_id"), display_name=snap.get("name"),
                                        username=snap.get("name"))
                 for iface, snap in agents.items() if snap.get("user_id") is not None}
        for row in agent_rows(agents, users):
            # To the queues it was in too: an agent removed from its last queue must be
            # shown logged out to that queue's supervisors, not left as it was.
            queues = set(row["queues"])
            rooms = queues | self._agent_queues.get(row["interface"], set())
            self._agent_queues[row["interface"]] = queues
            for queue in sorted(rooms):
                self.publisher.emit("agent.update", queue, row)
                self.stats["agent_pushes"] += 1
            if row["user_id"] is not None:
                # The agent's own desk follows too (their room only): after-call work,
                # a supervisor's pause, the timer's unpause change its badge live.
                self.publisher.emit(OWN_STATE_EVENT, row["user_id"], row)
                self.stats["own_state_pushes"] += 1

    def replace_live(self, queues: dict[str, dict], agents: dict[str, dict]) -> None:
        """After a (re)connect: the PBX's whole state replaces what Redis held."""
        pipe = self.redis.pipeline(transaction=True)
        write_live_entries(pipe, queues, agents, replace=True)
        pipe.execute()
        self._live_queues = dict(queues)
        self._dirty_queues.update(queues)
        # Every agent as the PBX has them now: a state that changed while the bridge was
        # away (or reconnecting) would otherwise stay stale on wallboards and desks
        # until that agent's next change.
        self._push_agents(agents)

    def after_resync(self, item: AfterResync) -> None:
        if self.reconciler is None:
            return
        result, _gone = self.reconciler.after_resync(item)
        self._dirty_queues.update(result.queues)

    # -- between batches ----------------------------------------------------------------
    def reconcile_if_due(self) -> None:
        """A pass over the queue_log's new lines (every few seconds): finished calls the
        bridge recorded wrong or not at all are repaired. A failure is logged and the
        pass tried again next time (the cursor only moves with a committed repair)."""
        if self.reconciler is None:
            return
        try:
            result = self.reconciler.run_if_due()
        except Exception:
            self.reconciler.stats["failures"] += 1
            log.warning("checking the call log against the queue_log failed; will retry",
                        exc_info=True)
            return
        if result is not None:
            self._dirty_queues.update(result.queues)

    def push_figures(self) -> None:
        """Recompute and push the figures of queues whose calls changed (throttled)."""
        self.pauses.flush_if_due()
        now_mono = time.monotonic()
        due = [q for q in self._dirty_queues
               if now_mono - self._last_figures.get(q, float("-inf")) >= self.figures_every_s]
        if not due:
            return
        now = datetime.now(UTC)
        with self.session_factory() as session:
            figures = queue_figures(session, due, day_start=local_day_start(now, self.tz),
                                    now=now, live=self._live_queues, region=self.region)
        for row in figures:
            self.publisher.emit("queue.update", row["queue"], row)
            self.stats["figure_pushes"] += 1
        for queue in due:
            self._dirty_queues.discard(queue)
            self._last_figures[queue] = now_mono
