"""The escalation ladder: warn, then escalate a ticket whose SLA runs out, exactly once.

The ladder comes from ``Settings.escalation_ladder`` (``SLA_ESCALATION``), steps of
``fraction:action`` in rising fractions, e.g. ``"0.8:warn,1.0:lead,1.5:up"``:

* ``warn``: at that share of a running target, a notice to the assignee (level unchanged);
* ``lead``: escalation level 1, priority one step up, notice to the team lead (the
  department's ``lead_id``, else its supervisors) and the assignee;
* ``up``: one level more, notice to the lead of the next department up the tree (a second
  ``up`` goes two departments up).

A step's due instant is the earliest, over the ticket's running (unmet) targets, of the
instant its elapsed time reaches ``fraction * target minutes`` (``SlaTarget.instant_at``:
business time, pending time not counted). ``Ticket.next_escalation_at`` holds the due of
the first step not fired yet; NULL when nothing can fire (resolved, closed, pending).

Exactly once: a step that fires leaves a ``TicketEscalation`` row, unique per (ticket,
step), inserted ``ON CONFLICT DO NOTHING`` before anything else changes; only the
inserter goes on, and its ticket update is conditional on the version it read. The
sweep (``fire_due_escalations``) takes its batch under a lock (PostgreSQL: ``FOR UPDATE
SKIP LOCKED``, so two workers split the due tickets; SQLite: the database's write lock,
taken before the batch is read), so what it reads is what it changes. Each batch is
its own transaction: a worker killed mid-sweep loses at most the batch it was writing,
which the next sweep redoes from scratch.

The timers themselves are RQ jobs (``tickets.jobs``), armed after commit; losing them
(Redis restarted empty) loses nothing, since the reconciler re-arms them from
``next_escalation_at``.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, lazyload

from callcenter.config import DEFAULT_ESCALATION_LADDER, ConfigError, Settings
from callcenter.db import after_commit, utcnow
from tickets.history import ESCALATION, system_note
from tickets.models import (
    OPEN_STATUSES,
    PRIORITY_ORDER,
    Ticket,
    TicketEscalation,
    TicketHistory,
    TicketStatus,
)

log = logging.getLogger(__name__)

ACTIONS = ("warn", "lead", "up")
MAX_STEPS = 10
#: Tickets per transaction of the sweep: large enough for few round trips, small enough
#: for short locks (a user saving one of them waits at most one batch).
BATCH = 500


class LadderError(ConfigError):
    """SLA_ESCALATION is unusable; the message says where."""


@dataclass(frozen=True)
class EscalationStep:
    index: int
    fraction: float
    action: str
    #: The escalation level the ticket has once this step fired (0: a warning only).
    level: int
    #: For ``up`` steps: how many departments above the ticket's the notice goes.
    ups: int = 0

    @property
    def percent(self) -> int:
        return round(self.fraction * 100)


Ladder = tuple[EscalationStep, ...]


@functools.lru_cache(maxsize=16)
def parse_ladder(raw: str) -> Ladder:
    """``"0.8:warn,1.0:lead,1.5:up"`` -> steps; LadderError naming what is wrong."""
    parts = [p.strip() for p in (raw or "").split(",") if p.strip()]
    if not parts:
        raise LadderError("SLA_ESCALATION: empty; e.g. 0.8:warn,1.0:lead,1.5:up")
    if len(parts) > MAX_STEPS:
        raise LadderError(f"SLA_ESCALATION: at most {MAX_STEPS} steps")
    steps: list[EscalationStep] = []
    level = ups = 0
    for index, part in enumerate(parts):
        fraction_text, sep, action = part.partition(":")
        action = action.strip().lower()
        try:
            fraction = float(fraction_text)
        except ValueError:
            fraction = float("nan")
        if not sep or not 0 < fraction <= 100:  # NaN fails the comparison too
            raise LadderError(f"SLA_ESCALATION: {part!r} is not <fraction>:<action> with "
                              "a fraction above 0 (0.8 = 80 % of the target)")
        if action not in ACTIONS:
            raise LadderError(f"SLA_ESCALATION: {part!r}: the action is one of "
                              f"{', '.join(ACTIONS)}")
        if steps and fraction <= steps[-1].fraction:
            raise LadderError(f"SLA_ESCALATION: {part!r}: fractions must rise step by step")
        if action == "lead":
            if level >= 1:
                raise LadderError(f"SLA_ESCALATION: {part!r}: 'lead' comes once, before "
                                  "any 'up'")
            level = 1
        elif action == "up":
            level, ups = level + 1, ups + 1
        steps.append(EscalationStep(index, fraction, action, level,
                                    ups if action == "up" else 0))
    return tuple(steps)


def ladder_for(settings: Settings | None) -> Ladder:
    return parse_ladder(settings.escalation_ladder if settings else DEFAULT_ESCALATION_LADDER)


# --- when is the next step due --------------------------------------------------------

def _running_targets(snapshot) -> list:
    if snapshot is None or snapshot.paused:
        return []
    return [t for t in (snapshot.first_response, snapshot.resolution)
            if t is not None and t.met_at is None]


def step_due(step: EscalationStep, snapshot) -> tuple[datetime | None, str | None]:
    """(due instant, the target kind that sets it); (None, None) when nothing runs."""
    best: tuple[datetime | None, str | None] = (None, None)
    for target in _running_targets(snapshot):
        instant = target.instant_at(step.fraction * target.minutes)
        if instant is not None and (best[0] is None or instant < best[0]):
            best = (instant, target.kind)
    return best


def next_step(ladder: Ladder, fired: set[int]) -> EscalationStep | None:
    return next((s for s in ladder if s.index not in fired), None)


def next_due(ticket: Ticket, snapshot, ladder: Ladder, fired: set[int]
             ) -> tuple[EscalationStep | None, datetime | None, str | None]:
    """The first step not fired and its due; due None when it cannot fire now."""
    step = next_step(ladder, fired)
    if step is None or ticket.status not in OPEN_STATUSES \
            or ticket.status == TicketStatus.PENDING:
        return step, None, None
    due, kind = step_due(step, snapshot)
    return step, due, kind


def rearm_escalation(session: Session, ticket: Ticket, snapshot, *, now: datetime,
                     ladder: Ladder | None = None,
                     settings: Settings | None = None) -> datetime | None:
    """Set ``ticket.next_escalation_at`` from its SLA snapshot and the steps fired, and
    arm its timer after commit. Returns the due instant (None: nothing pending)."""
    ladder = ladder if ladder is not None else ladder_for(settings)
    fired: set[int] = set()
    if ticket.id is not None:
        fired = set(session.scalars(select(TicketEscalation.step).where(
            TicketEscalation.ticket_id == ticket.id)))
    _, due, _ = next_due(ticket, snapshot, ladder, fired)
    if ticket.next_escalation_at != due:
        ticket.next_escalation_at = due
    if due is not None:
        from tickets.jobs import arm_timers
        after_commit(session, lambda: arm_timers([due], settings=settings))
    return due


# --- the sweep ------------------------------------------------------------------------

@dataclass
class Fired:
    """A step that fired for a ticket in this batch (what notices and events need)."""

    ticket: Ticket
    step: EscalationStep
    due_at: datetime
    target: str
    old_level: int
    old_priority: str
    snapshot: object


@dataclass
class SweepResult:
    fired: int = 0
    rearmed: int = 0
    batches: int = 0
    steps: dict[str, int] = field(default_factory=dict)


def _insert(session: Session):
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" \
        else sqlite.insert


def _lock_and_select(session: Session, now: datetime, batch: int) -> list[Ticket]:
    stmt = (select(Ticket).where(Ticket.next_escalation_at <= now)
            .order_by(Ticket.next_escalation_at, Ticket.id).limit(batch)
            .options(lazyload(Ticket.related_users))
            .execution_options(populate_existing=True))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=Ticket)
    else:
        # SQLite has no row locks: a write statement (matching nothing) takes the
        # database's write lock now, so the batch read next cannot change under us.
        session.execute(text("UPDATE tickets SET id = id WHERE id < 0"))
    return list(session.scalars(stmt))


def _histories(session: Session, ids: list[int]) -> dict[int, list[TicketHistory]]:
    # The SLA clock reads only the status changes (tickets.sla.status_history).
    rows = session.scalars(select(TicketHistory).where(TicketHistory.ticket_id.in_(ids),
                                                       TicketHistory.field == "status")
                           .order_by(TicketHistory.ticket_id, TicketHistory.changed_at,
                                     TicketHistory.id))
    out: dict[int, list[TicketHistory]] = {i: [] for i in ids}
    for row in rows:
        out[row.ticket_id].append(row)
    return out


def _fired_steps(session: Session, ids: list[int]) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {i: set() for i in ids}
    for ticket_id, step in session.execute(select(
            TicketEscalation.ticket_id, TicketEscalation.step).where(
            TicketEscalation.ticket_id.in_(ids))):
        out[ticket_id].add(step)
    return out


def _raised(priority) -> str:
    order = [p.value for p in PRIORITY_ORDER]
    value = getattr(priority, "value", priority)
    return order[min(order.index(value) + 1, len(order) - 1)]


_UPDATE = (update(Ticket.__table__)
           .where(Ticket.__table__.c.id == bindparam("b_id"),
                  Ticket.__table__.c.version == bindparam("b_version"))
           .values(escalation_level=bindparam("b_level"), priority=bindparam("b_priority"),
                   version=Ticket.__table__.c.version + bindparam("b_bump"),
                   updated_at=bindparam("b_updated_at"), sla_state=bindparam("b_state"),
                   first_response_due_at=bindparam("b_fr_due"),
                   resolution_due_at=bindparam("b_res_due"),
                   next_escalation_at=bindparam("b_next")))


def _row(ticket: Ticket, snapshot, *, level: int, priority: str, bump: int,
         updated_at: datetime, next_at: datetime | None) -> dict:
    fr = snapshot.first_response if snapshot else None
    res = snapshot.resolution if snapshot else None
    return {"b_id": ticket.id, "b_version": ticket.version, "b_level": level,
            "b_priority": priority, "b_bump": bump, "b_updated_at": updated_at,
            "b_state": getattr(snapshot.state, "value", snapshot.state) if snapshot
            else getattr(ticket.sla_state, "value", ticket.sla_state),
            "b_fr_due": fr.due_at if fr else ticket.first_response_due_at,
            "b_res_due": res.due_at if res else ticket.resolution_due_at,
            "b_next": next_at}


def _note(step: EscalationStep, target: str) -> list:
    # A code, not a sentence for one reader: what fired and why, worded where it is shown.
    return system_note(ESCALATION.format(action=step.action), p=step.percent, target=target)


def _sweep_batch(session: Session, settings: Settings, ladder: Ladder, calendar,
                 now: datetime, batch: int, result: SweepResult) -> int:
    """One transaction's worth; returns how many tickets it looked at."""
    from tickets.notices import create_escalation_notices
    from tickets.sla import sla_snapshot

    tickets = _lock_and_select(session, now, batch)
    if not tickets:
        session.commit()  # ends the transaction (SQLite: frees the write lock)
        return 0
    ids = [t.id for t in tickets]
    histories, fired_by = _histories(session, ids), _fired_steps(session, ids)
    firing: list[Fired] = []
    rows: list[dict] = []
    for ticket in tickets:
        snapshot = sla_snapshot(ticket, histories[ticket.id], calendar, now=now)
        fired = fired_by[ticket.id]
        step, due, kind = next_due(ticket, snapshot, ladder, fired)
        if step is not None and due is not None and due <= now:
            firing.append(Fired(ticket, step, due, kind, ticket.escalation_level or 0,
                                getattr(ticket.priority, "value", ticket.priority),
                                snapshot))
            continue
        rows.append(_row(ticket, snapshot, level=ticket.escalation_level or 0,
                         priority=getattr(ticket.priority, "value", ticket.priority),
                         bump=0, updated_at=ticket.updated_at, next_at=due))
    won: set[int] = set()
    if firing:
        table = TicketEscalation.__table__
        stmt = (_insert(session)(table).values([
            {"ticket_id": f.ticket.id, "step": f.step.index, "level": f.step.level,
             "due_at": f.due_at, "fired_at": now} for f in firing])
            .on_conflict_do_nothing(index_elements=["ticket_id", "step"])
            .returning(table.c.ticket_id))
        won = set(session.scalars(stmt))
    history: list[dict] = []
    done: list[Fired] = []
    for f in firing:
        fired = fired_by[f.ticket.id] | {f.step.index}
        _, next_at, _ = next_due(f.ticket, f.snapshot, ladder, fired)
        if f.ticket.id not in won:  # another sweep fired it: only follow its timer
            rows.append(_row(f.ticket, f.snapshot, level=f.old_level, priority=f.old_priority,
                             bump=0, updated_at=f.ticket.updated_at, next_at=next_at))
            continue
        level = max(f.old_level, f.step.level)
        priority = _raised(f.old_priority) if f.step.action == "lead" else f.old_priority
        changed = level != f.old_level or priority != f.old_priority
        rows.append(_row(f.ticket, f.snapshot, level=level, priority=priority,
                         bump=int(changed), next_at=next_at,
                         updated_at=now if changed else f.ticket.updated_at))
        note = _note(f.step, f.target)
        if level != f.old_level:
            history.append({"ticket_id": f.ticket.id, "user_id": None, "changed_at": now,
                            "field": "escalation_level", "old_value": str(f.old_level),
                            "new_value": str(level), "note": "", "system_note": note})
        if priority != f.old_priority:
            history.append({"ticket_id": f.ticket.id, "user_id": None, "changed_at": now,
                            "field": "priority", "old_value": f.old_priority,
                            "new_value": priority, "note": "", "system_note": note})
        done.append(f)
        result.steps[f.step.action] = result.steps.get(f.step.action, 0) + 1
    updated = session.execute(_UPDATE, rows).rowcount if rows else 0
    if updated != len(rows):
        # Under the lock nobody else wrote these rows: a mismatch is a bug, never half-do.
        raise RuntimeError(f"escalation sweep: {updated} of {len(rows)} tickets updated")
    if history:
        session.execute(insert(TicketHistory.__table__), history)
    create_escalation_notices(session, settings, done, now=now)
    next_dues = [r["b_next"] for r in rows if r["b_next"] is not None and r["b_next"] > now]
    if next_dues:
        from tickets.jobs import arm_timers
        after_commit(session, lambda: arm_timers(next_dues, settings=settings))
    for ticket in tickets:  # their rows changed behind the ORM's back
        session.expunge(ticket)
    for rows_of in histories.values():
        for row in rows_of:
            session.expunge(row)
    session.commit()
    result.fired += len(done)
    result.rearmed += len(rows) - len(done)
    result.batches += 1
    return len(tickets)


def fire_due_escalations(session: Session, settings: Settings, *,
                         now: datetime | None = None, limit: int | None = None,
                         batch: int = BATCH) -> SweepResult:
    """Fire every ladder step due by ``now`` (default: the clock, read per batch) and
    re-arm each ticket for its next step. Commits batch by batch; stops when nothing is
    due any more or ``limit`` tickets were looked at."""
    from tickets.calendar import load_calendar

    ladder = ladder_for(settings)
    calendar = load_calendar(session, settings)
    result = SweepResult()
    seen = 0
    while limit is None or seen < limit:
        size = batch if limit is None else min(batch, limit - seen)
        looked = _sweep_batch(session, settings, ladder, calendar,
                              now if now is not None else utcnow(), size, result)
        if not looked:
            break
        seen += looked
    if result.fired:
        log.info("escalations: %d step(s) fired %s, %d ticket(s) re-armed, %d batch(es)",
                 result.fired, result.steps, result.rearmed, result.batches)
    return result
