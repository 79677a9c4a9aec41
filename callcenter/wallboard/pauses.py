"""The agents' pauses, recorded as the bridge sees them (the wallboard's "pause time").

The live state in Redis knows only an agent's present state; the PBX's queue_log has
PAUSE/UNPAUSE lines but is read for calls only. So the bridge, which sees every agent's
state change (``AgentSnapshot``: ``state``, ``reason``, ``since``), records each stretch
an interface spends ``paused`` (a reason the agent chose) or in ``wrap_up`` (after-call
work) as a row of ``agent_pauses``: opened at the ``since`` of the state that began it,
closed at the ``since`` of the state that ended it.

How it stays right:

- **Off the live path.** Changes are queued in memory and written between batches in a
  transaction of their own (``flush``); a database that is down delays them (they are
  kept, up to ``MAX_PENDING``) and never holds up the live state or the pops.
- **Replays change nothing.** A batch the bridge's worker retries repeats its snapshots:
  a snapshot older than the last one seen for its interface is ignored, and opening a
  pause that is already open (same interface, same start) adds nothing.
- **A new bridge picks up.** Its first snapshot of each agent (after the resync) closes a
  pause left open at the moment the present state began, or keeps the one still going.
  A pause that began and ended while no bridge ran is not known to anyone and is lost.
- **One open pause per interface.** Opening one closes any other still open.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from callcenter.db import session_scope
from callcenter.wallboard.figures import to_utc
from callcenter.wallboard.models import AgentPause

log = logging.getLogger(__name__)

#: The states recorded as pauses.
PAUSE_STATES = ("paused", "wrap_up")
#: Changes kept while the database is away; the oldest are dropped beyond it (logged).
MAX_PENDING = 20_000
#: After a failed write, wait this long before the next (doubling up to RETRY_MAX_S).
RETRY_FIRST_S = 1.0
RETRY_MAX_S = 30.0


@dataclass(frozen=True)
class _Seen:
    state: str
    reason: str | None
    since: datetime


@dataclass(frozen=True)
class PauseChange:
    """Open a pause (``state`` set) or close the interface's open one (``state`` None)."""

    interface: str
    at: datetime
    state: str | None = None
    reason: str | None = None
    user_id: int | None = None


def _reason(value: Any) -> str | None:
    return str(value)[:80] if value else None


class PauseRecorder:
    """Turns the bridge's agent snapshots into pause rows (one per bridge process)."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory
        self._seen: dict[str, _Seen] = {}
        self._pending: list[PauseChange] = []
        self._lock = threading.Lock()
        self._retry_at = 0.0
        self._retry_s = RETRY_FIRST_S
        self.stats = {"opened": 0, "closed": 0, "dropped": 0, "flush_failures": 0}

    # -- what the bridge saw ------------------------------------------------------------
    def observe(self, interface: str, snapshot: Mapping[str, Any],
                now: datetime | None = None) -> None:
        """One agent snapshot (``LiveAgent``), in the order the bridge saw them."""
        state = str(snapshot.get("state") or "logged_out")
        since = to_utc(snapshot.get("since")) or now or datetime.now(UTC)
        reason = _reason(snapshot.get("reason")) if state in PAUSE_STATES else None
        before = self._seen.get(interface)
        if before is not None and since < before.since:
            return  # older than what we have: a retried batch repeating itself
        self._seen[interface] = _Seen(state, reason, since)
        if before is not None and (before.state, before.reason) == (state, reason):
            return
        if state in PAUSE_STATES:
            self._queue(PauseChange(interface, since, state, reason,
                                    snapshot.get("user_id") if isinstance(
                                        snapshot.get("user_id"), int) else None))
        elif before is None or before.state in PAUSE_STATES:
            # Not paused now; first sight (a new bridge): whatever was left open ended
            # when this state began.
            self._queue(PauseChange(interface, since))

    def replace(self, agents: Mapping[str, Mapping[str, Any]],
                now: datetime | None = None) -> None:
        """The PBX's whole view after a (re)connect: agents it no longer lists are not
        paused any more (since now: when they left is not known)."""
        now = now or datetime.now(UTC)
        for interface, snapshot in agents.items():
            self.observe(interface, snapshot, now)
        for interface, seen in list(self._seen.items()):
            if interface not in agents and seen.state in PAUSE_STATES:
                self.observe(interface, {"state": "logged_out", "since": now.timestamp()}, now)

    def _queue(self, change: PauseChange) -> None:
        with self._lock:
            self._pending.append(change)
            if len(self._pending) > MAX_PENDING:
                dropped = len(self._pending) - MAX_PENDING
                del self._pending[:dropped]
                self.stats["dropped"] += dropped
                log.warning("agent pauses: %d changes dropped (the database has been "
                            "away too long)", dropped)

    # -- into the database --------------------------------------------------------------
    def flush_if_due(self) -> None:
        """``flush`` unless a write failed a moment ago (then with backoff)."""
        if self._pending and time.monotonic() >= self._retry_at:
            self.flush()

    def flush(self) -> bool:
        """Write what is pending in one transaction; False (and kept) when it failed."""
        with self._lock:
            changes = list(self._pending)
        if not changes:
            return True
        try:
            with session_scope(self.session_factory) as session:
                for change in changes:
                    apply_change(session, change)
        except Exception as exc:  # noqa: BLE001 - kept and tried again between batches
            self.stats["flush_failures"] += 1
            log.warning("agent pauses not recorded yet (%s); retrying in %.0f s", exc,
                        self._retry_s)
            self._retry_at = time.monotonic() + self._retry_s
            self._retry_s = min(self._retry_s * 2, RETRY_MAX_S)
            return False
        self._retry_at, self._retry_s = 0.0, RETRY_FIRST_S
        with self._lock:
            del self._pending[:len(changes)]
        self.stats["opened"] += sum(1 for c in changes if c.state)
        self.stats["closed"] += sum(1 for c in changes if not c.state)
        return True

    def pending(self) -> int:
        return len(self._pending)


def apply_change(session: Session, change: PauseChange) -> None:
    """One change, idempotent: a pause already open since ``at`` stays as it is."""
    p = AgentPause
    if change.state is not None:
        open_since = session.scalar(select(p.started_at).where(
            p.interface == change.interface, p.ended_at.is_(None), p.state == change.state,
            p.started_at == change.at, p.reason.is_(None) if change.reason is None
            else p.reason == change.reason))
        if open_since is not None:
            return
    _close_open(session, change.interface, change.at)
    if change.state is not None:
        session.execute(insert(p).values(interface=change.interface, user_id=change.user_id,
                                         state=change.state, reason=change.reason,
                                         started_at=change.at))


def _close_open(session: Session, interface: str, at: datetime) -> None:
    p = AgentPause
    for pause_id, started in session.execute(select(p.id, p.started_at).where(
            p.interface == interface, p.ended_at.is_(None))).all():
        session.execute(update(p).where(p.id == pause_id).values(ended_at=max(at, started)))
