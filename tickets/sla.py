"""The SLA clock: when a ticket's targets fall due, and the state it is in.

The clock rule
--------------
A ticket carries two targets, copied from its policy when it was created
(``first_response_minutes``, ``resolution_minutes``; tickets.policies), counted on its
calendar (``sla_calendar``: business time on the Chinese working calendar, or 24x7).

* **Elapsed time** of a target = calendar time from ``created_at`` to now (or to the
  instant the target was met) minus the calendar time the ticket spent *pending* (挂起)
  in between. Pending intervals come from the ticket's history alone: a ``status`` row
  whose ``new_value`` is ``pending`` opens one, the next ``status`` row whose
  ``old_value`` is ``pending`` closes it; one still open runs until now. So the whole
  state can be rebuilt from the history at any time, and ``refresh_sla`` does exactly
  that (the ticket's SLA columns are only a cache).
* **Due** = the instant the elapsed time reaches the target. Pending time pushes it
  later by exactly the calendar time spent pending. While the ticket is pending the
  clock stands still and there is no due instant (``due_at`` None, state ``paused``);
  when it leaves pending the due instant is back, moved by the pause.
* **Met**: the first-response target when ``first_response_at`` is set (the first
  customer-visible comment by staff); the resolution target when the ticket entered
  resolved or closed (the last time it did, from the history; a reopened ticket's clock
  runs on from where it was, and the time it spent resolved counts). A ticket that was
  resolved or closed without a first response has its first-response target stopped
  there too: the answer was the resolution.
* A target is **breached** when its elapsed time exceeds its minutes (``elapsed >=
  minutes`` while it runs; ``elapsed > minutes`` at the instant it was met, so meeting
  it in its last minute is in time). **At risk**: a running target at 80 % or more.

The ticket's state (``sla_state``), first rule that applies:

1. ``breached`` if any target is breached, met late or running past due. *A breach is
   a fact*: it stays when the ticket is then paused, resolved or closed (reports count
   it; ``met`` means met in time).
2. ``met`` once the ticket is resolved or closed (all targets met in time).
3. ``paused`` while pending.
4. ``at_risk`` if a running target reached 80 %.
5. ``on_track``.

A ticket without targets (no minutes in its snapshot) stays ``on_track``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.calendar import Calendar
from tickets.models import SlaState, Ticket, TicketHistory, TicketStatus

#: The share of a running target from which a ticket is at risk.
AT_RISK_FRACTION = 0.8
_PENDING = TicketStatus.PENDING.value
_DONE = frozenset({TicketStatus.RESOLVED.value, TicketStatus.CLOSED.value})

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class SlaTarget:
    kind: str                   # "first_response" | "resolution"
    minutes: int
    due_at: datetime | None     # None while paused
    met_at: datetime | None
    elapsed_minutes: float      # counted up to now (or met_at)
    breached: bool
    # What instant_at needs: the calendar and the (closed) pending intervals.
    _start: datetime = field(repr=False, compare=False, default=None)  # type: ignore[assignment]
    _pauses: tuple[Interval, ...] = field(repr=False, compare=False, default=())
    _calendar: Calendar | None = field(repr=False, compare=False, default=None)
    _paused: bool = field(repr=False, compare=False, default=False)

    @property
    def running(self) -> bool:
        return self.met_at is None

    def instant_at(self, minutes: float) -> datetime | None:
        """When the elapsed time reaches ``minutes`` (``0.8 * self.minutes`` for the
        warning); None while paused or once met. May be in the past."""
        if self._paused or self.met_at is not None or self._calendar is None:
            return None
        return _instant(self._calendar, self._start, self._pauses, minutes)


@dataclass(frozen=True)
class SlaSnapshot:
    state: SlaState
    paused: bool
    first_response: SlaTarget | None
    resolution: SlaTarget | None

    @property
    def targets(self) -> tuple[SlaTarget, ...]:
        return tuple(t for t in (self.first_response, self.resolution) if t is not None)

    @property
    def running_targets(self) -> tuple[SlaTarget, ...]:
        return tuple(t for t in self.targets if t.running)


# --- the history --------------------------------------------------------------------

def _status_rows(history: list[TicketHistory]) -> list[TicketHistory]:
    rows = [h for h in history if h.field == "status"]
    rows.sort(key=lambda h: (h.changed_at, h.id or 0))
    return rows


def pending_intervals(ticket: Ticket, history: list[TicketHistory], *, now: datetime
                      ) -> tuple[list[Interval], datetime | None]:
    """The ticket's ended pending intervals, and since when it is pending now (None: it
    is not)."""
    intervals: list[Interval] = []
    opened: datetime | None = None
    for row in _status_rows(history):
        if row.new_value == _PENDING and opened is None:
            opened = row.changed_at
        elif row.old_value == _PENDING and row.new_value != _PENDING and opened is not None:
            intervals.append((opened, row.changed_at))
            opened = None
    if TicketStatus(ticket.status) is TicketStatus.PENDING:
        if opened is None:
            # Pending without a history row saying since when (rows written by hand):
            # since the ticket's last change, the best the ticket itself knows.
            opened = min(ticket.updated_at or now, now)
        return intervals, min(opened, now)
    if opened is not None:
        # The history says pending but the ticket is not: it left at its last change.
        intervals.append((opened, max(opened, ticket.updated_at or now)))
    return intervals, None


def done_at(ticket: Ticket, history: list[TicketHistory]) -> datetime | None:
    """When the ticket last entered resolved or closed, if that is where it is now."""
    if TicketStatus(ticket.status).value not in _DONE:
        return None
    since: datetime | None = None
    for row in _status_rows(history):
        entering = row.new_value in _DONE
        if entering and since is None:
            since = row.changed_at
        elif not entering:
            since = None
    return since or ticket.resolved_at or ticket.closed_at or ticket.updated_at


# --- the arithmetic -----------------------------------------------------------------

def _pause_minutes(calendar: Calendar, pauses: list[Interval] | tuple[Interval, ...],
                   start: datetime, end: datetime) -> float:
    """Calendar minutes of the pauses that fall within [start, end] (merged first, so an
    overlap is not counted twice)."""
    total = 0.0
    cursor = start
    for p_start, p_end in sorted(pauses):
        lo, hi = max(p_start, cursor), min(p_end, end)
        if hi > lo:
            total += calendar.minutes_between(lo, hi)
            cursor = hi
    return total


def elapsed(calendar: Calendar, start: datetime, pauses, until: datetime) -> float:
    if until <= start:
        return 0.0
    return calendar.minutes_between(start, until) - _pause_minutes(calendar, pauses, start,
                                                                   until)


def _instant(calendar: Calendar, start: datetime, pauses, minutes: float) -> datetime:
    """The instant the elapsed time reaches ``minutes``, stepping over the pauses."""
    cursor, remaining = start, float(minutes)
    for p_start, p_end in sorted(pauses):
        if p_end <= cursor:
            continue
        if p_start > cursor:
            available = calendar.minutes_between(cursor, p_start)
            if remaining <= available:
                return calendar.add(cursor, remaining)
            remaining -= available
        cursor = max(cursor, p_end)
    return calendar.add(cursor, remaining)


def _target(kind: str, minutes: int | None, met_at: datetime | None, *, calendar: Calendar,
            start: datetime, ended: list[Interval], paused_since: datetime | None,
            now: datetime) -> SlaTarget | None:
    if minutes is None:
        return None
    pauses = ended + [(paused_since, now)] if paused_since is not None else ended
    until = met_at or now
    spent = elapsed(calendar, start, pauses, until)
    breached = spent > minutes if met_at is not None else spent >= minutes
    if met_at is not None:
        # Where the due instant was, with the pauses up to when the target was met.
        due: datetime | None = _instant(calendar, start, pauses, minutes)
    elif paused_since is not None:
        due = None  # the clock stands still: no due instant until the pause ends
    else:
        due = _instant(calendar, start, ended, minutes)
    return SlaTarget(kind=kind, minutes=minutes, due_at=due, met_at=met_at,
                     elapsed_minutes=spent, breached=breached, _start=start,
                     _pauses=tuple(ended), _calendar=calendar,
                     _paused=paused_since is not None)


def sla_snapshot(ticket: Ticket, history: list[TicketHistory], calendar: Calendar, *,
                 now: datetime) -> SlaSnapshot:
    """The ticket's SLA as of ``now``, from its policy snapshot and its history (pure).

    ``calendar``: the business calendar (tickets.calendar.load_calendar); a 24x7 ticket
    gets the wall clock from it (``calendar.for_kind``).
    """
    calendar = calendar.for_kind(ticket.sla_calendar or "business")
    start = ticket.created_at or now
    ended, paused_since = pending_intervals(ticket, history, now=now)
    paused = paused_since is not None
    finished = done_at(ticket, history)
    common = dict(calendar=calendar, start=start, ended=ended, paused_since=paused_since,
                  now=now)
    first = _target("first_response", ticket.first_response_minutes,
                    ticket.first_response_at or finished, **common)
    resolution = _target("resolution", ticket.resolution_minutes, finished, **common)
    targets = [t for t in (first, resolution) if t is not None]

    if any(t.breached for t in targets):
        state = SlaState.BREACHED
    elif finished is not None:
        state = SlaState.MET
    elif paused:
        state = SlaState.PAUSED
    elif any(t.running and t.elapsed_minutes >= AT_RISK_FRACTION * t.minutes
             for t in targets):
        state = SlaState.AT_RISK
    else:
        state = SlaState.ON_TRACK
    return SlaSnapshot(state=state, paused=paused, first_response=first, resolution=resolution)


def status_history(session: Session, ticket: Ticket) -> list[TicketHistory]:
    """The ticket's ``status`` rows, oldest first: all the clock reads."""
    if ticket.id is None:
        return []
    return list(session.scalars(
        select(TicketHistory)
        .where(TicketHistory.ticket_id == ticket.id, TicketHistory.field == "status")
        .order_by(TicketHistory.changed_at, TicketHistory.id)))


def refresh_sla(session: Session, ticket: Ticket, calendar: Calendar, *,
                now: datetime) -> SlaSnapshot:
    """Recompute the ticket's SLA from its history and write the cache columns
    (``first_response_due_at``, ``resolution_due_at``, ``sla_state``); flushes only."""
    snapshot = sla_snapshot(ticket, status_history(session, ticket), calendar, now=now)
    ticket.first_response_due_at = snapshot.first_response.due_at \
        if snapshot.first_response else None
    ticket.resolution_due_at = snapshot.resolution.due_at if snapshot.resolution else None
    ticket.sla_state = snapshot.state
    session.flush()
    return snapshot
