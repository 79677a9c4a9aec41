"""The SLA clock (tickets.sla) and the choice of policy (tickets.policies).

Time is moved by passing ``now``; tickets and their history rows are built by hand, as
the ticket services would write them (a ``status`` row per transition).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from callcenter.config import DEFAULT_SERVICE_HOURS
from tickets.calendar import WorkingCalendar
from tickets.models import (
    SlaCalendar,
    SlaPolicy,
    SlaState,
    Ticket,
    TicketHistory,
    TicketStatus,
)
from tickets.policies import DEFAULT_TARGETS, apply_policy, select_policy
from tickets.sla import refresh_sla, sla_snapshot

SHANGHAI = ZoneInfo("Asia/Shanghai")
CAL = WorkingCalendar("Asia/Shanghai", DEFAULT_SERVICE_HOURS)


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SHANGHAI)


def local(instant: datetime | None) -> datetime | None:
    return instant.astimezone(SHANGHAI) if instant is not None else None


def ticket(created: datetime, first: int | None = 10, resolution: int | None = 240, *,
           calendar: str = "business", status: TicketStatus = TicketStatus.NEW,
           **fields) -> Ticket:
    return Ticket(type_code="complaint", subject="s", created_at=created, updated_at=created,
                  status=status, sla_calendar=SlaCalendar(calendar),
                  first_response_minutes=first, resolution_minutes=resolution, **fields)


class History:
    """Status rows as the services write them, one per transition."""

    def __init__(self, t: Ticket):
        self.ticket, self.rows = t, []

    def move(self, to: str, when: datetime) -> History:
        old = TicketStatus(self.ticket.status).value
        self.rows.append(TicketHistory(field="status", old_value=old, new_value=to,
                                       changed_at=when, id=len(self.rows) + 1))
        self.ticket.status = TicketStatus(to)
        self.ticket.updated_at = when
        if to in ("resolved", "closed"):
            self.ticket.resolved_at = self.ticket.resolved_at or when
        return self


def snap(t: Ticket, rows, now: datetime):
    return sla_snapshot(t, rows, CAL, now=now)


# --- the clock ------------------------------------------------------------------------

def test_inquiry_first_response_within_ten_business_minutes():
    t = ticket(at(2026, 11, 4, 11, 55), first=10, resolution=480)
    s = snap(t, [], at(2026, 11, 4, 11, 56))
    # Five minutes before lunch, five after it.
    assert local(s.first_response.due_at) == at(2026, 11, 4, 13, 5)
    assert s.state is SlaState.ON_TRACK and s.first_response.elapsed_minutes == 1
    # 8 of 10 minutes gone (lunch does not count): at risk.
    assert snap(t, [], at(2026, 11, 4, 13, 3)).state is SlaState.AT_RISK
    assert snap(t, [], at(2026, 11, 4, 13, 5)).state is SlaState.BREACHED
    # Answered at 13:04: met; the resolution target now decides.
    t.first_response_at = at(2026, 11, 4, 13, 4)
    s = snap(t, [], at(2026, 11, 4, 14, 0))
    assert s.first_response.met_at == t.first_response_at and not s.first_response.breached
    assert s.first_response.instant_at(8) is None        # met: nothing to fire
    assert s.state is SlaState.ON_TRACK


def test_complaint_on_friday_afternoon_due_monday():
    t = ticket(at(2026, 11, 6, 15, 0), first=30, resolution=240,
               first_response_at=at(2026, 11, 6, 15, 10))
    s = snap(t, [], at(2026, 11, 6, 17, 0))
    assert local(s.resolution.due_at) == at(2026, 11, 9, 10, 0)
    assert s.resolution.elapsed_minutes == 120 and s.state is SlaState.ON_TRACK
    # Over the weekend nothing elapses.
    assert snap(t, [], at(2026, 11, 8, 12, 0)).resolution.elapsed_minutes == 180
    # The escalation ladder's 80 % point: 192 business minutes in, Monday 09:12.
    assert local(s.resolution.instant_at(0.8 * 240)) == at(2026, 11, 9, 9, 12)
    assert snap(t, [], at(2026, 11, 9, 9, 12)).state is SlaState.AT_RISK
    assert snap(t, [], at(2026, 11, 9, 10, 0)).state is SlaState.BREACHED


def test_pending_pauses_the_clock_and_moves_the_due_time():
    t = ticket(at(2026, 11, 6, 15, 0), first=30, resolution=240,
               first_response_at=at(2026, 11, 6, 15, 5))
    h = History(t).move("assigned", at(2026, 11, 6, 15, 1)) \
        .move("in_progress", at(2026, 11, 6, 15, 2)).move("pending", at(2026, 11, 6, 16, 0))
    paused = snap(t, h.rows, at(2026, 11, 9, 11, 0))     # pending through Monday morning
    assert paused.paused and paused.state is SlaState.PAUSED
    assert paused.resolution.due_at is None and paused.resolution.instant_at(100) is None
    assert paused.resolution.elapsed_minutes == 60       # frozen at 16:00 Friday
    # The first response was met before the pause: it keeps its due time.
    assert paused.first_response.met_at is not None and paused.first_response.due_at
    h.move("in_progress", at(2026, 11, 9, 11, 0))
    resumed = snap(t, h.rows, at(2026, 11, 9, 11, 0))
    # Without the pause due Monday 10:00; paused for 120 (Fri) + 120 (Mon) business
    # minutes, so 240 later: Monday 15:00.
    assert local(resumed.resolution.due_at) == at(2026, 11, 9, 15, 0)
    assert resumed.state is SlaState.ON_TRACK and resumed.resolution.elapsed_minutes == 60
    # 80 %: 132 minutes more, 60 before lunch and 72 after it.
    assert local(resumed.resolution.instant_at(192)) == at(2026, 11, 9, 14, 12)
    # A second, shorter pause moves it again by exactly its length.
    h.move("pending", at(2026, 11, 9, 13, 30)).move("in_progress", at(2026, 11, 9, 14, 0))
    again = snap(t, h.rows, at(2026, 11, 9, 14, 0))
    assert local(again.resolution.due_at) == at(2026, 11, 9, 15, 30)


def test_a_breach_is_not_undone_by_pausing_or_resolving():
    t = ticket(at(2026, 11, 4, 9, 0), first=10, resolution=60,
               first_response_at=at(2026, 11, 4, 9, 5))
    h = History(t).move("in_progress", at(2026, 11, 4, 9, 5))
    h.move("pending", at(2026, 11, 4, 10, 30))             # 90 minutes in: breached
    assert snap(t, h.rows, at(2026, 11, 4, 11, 0)).state is SlaState.BREACHED
    h.move("resolved", at(2026, 11, 4, 11, 0))
    done = snap(t, h.rows, at(2026, 11, 5, 9, 0))
    assert done.state is SlaState.BREACHED and done.resolution.met_at == at(2026, 11, 4, 11, 0)
    assert done.resolution.elapsed_minutes == 90           # the pending half hour is off
    h.move("closed", at(2026, 11, 6, 9, 0))
    assert snap(t, h.rows, at(2026, 11, 7)).state is SlaState.BREACHED


def test_resolved_in_time_is_met_and_stays_met():
    t = ticket(at(2026, 11, 4, 9, 0), first=10, resolution=240,
               first_response_at=at(2026, 11, 4, 9, 5))
    h = History(t).move("in_progress", at(2026, 11, 4, 9, 5)).move("resolved",
                                                                   at(2026, 11, 4, 12, 0))
    for now in (at(2026, 11, 4, 12, 0), at(2026, 12, 1)):
        s = snap(t, h.rows, now)
        assert s.state is SlaState.MET and not s.running_targets
        assert s.resolution.elapsed_minutes == 180
    # Met in its very last minute is in time.
    t2 = ticket(at(2026, 11, 4, 9, 0), first=10, resolution=60,
                first_response_at=at(2026, 11, 4, 9, 10))
    h2 = History(t2).move("resolved", at(2026, 11, 4, 10, 0))
    assert snap(t2, h2.rows, at(2026, 11, 5)).state is SlaState.MET


def test_resolved_without_a_response_the_resolution_answered():
    t = ticket(at(2026, 11, 4, 9, 0), first=10, resolution=240)
    h = History(t).move("resolved", at(2026, 11, 4, 9, 8))
    s = snap(t, h.rows, at(2026, 11, 9))
    assert s.first_response.met_at == at(2026, 11, 4, 9, 8) and s.state is SlaState.MET


def test_reopened_ticket_runs_on_from_where_it_was():
    t = ticket(at(2026, 11, 4, 9, 0), first=10, resolution=240,
               first_response_at=at(2026, 11, 4, 9, 5))
    h = History(t).move("resolved", at(2026, 11, 4, 10, 0))
    h.move("in_progress", at(2026, 11, 4, 11, 0))             # customer: not fixed
    s = snap(t, h.rows, at(2026, 11, 4, 11, 0))
    assert s.resolution.met_at is None and s.resolution.elapsed_minutes == 120
    assert local(s.resolution.due_at) == at(2026, 11, 4, 14, 0)
    assert s.state is SlaState.ON_TRACK


def test_24x7_targets_count_nights_and_holidays():
    t = ticket(at(2026, 10, 1, 23, 0), first=15, resolution=240, calendar="24x7")
    s = snap(t, [], at(2026, 10, 1, 23, 5))
    assert local(s.first_response.due_at) == at(2026, 10, 1, 23, 15)
    assert local(s.resolution.due_at) == at(2026, 10, 2, 3, 0)
    h = History(t).move("pending", at(2026, 10, 2, 0, 0)).move("in_progress",
                                                              at(2026, 10, 2, 1, 30))
    assert local(snap(t, h.rows, at(2026, 10, 2, 2)).resolution.due_at) == at(2026, 10, 2, 4, 30)


def test_a_ticket_without_targets_is_on_track():
    s = snap(ticket(at(2026, 11, 4, 9, 0), None, None), [], at(2027, 1, 1))
    assert s.state is SlaState.ON_TRACK and s.targets == ()


# --- stored and recomputed ------------------------------------------------------------

@pytest.fixture
def customer(make_user, make_customer):
    return make_customer(make_user("agent"), "Bus Co")


def _stored_ticket(session, customer, created: datetime, **fields) -> Ticket:
    t = ticket(created, customer_id=customer.id, **fields)
    session.add(t)
    session.flush()
    return t


def _record(session, t: Ticket, moves) -> None:
    for to, when in moves:
        session.add(TicketHistory(ticket_id=t.id, field="status", old_value=t.status.value,
                                  new_value=to, changed_at=when))
        t.status, t.updated_at = TicketStatus(to), when
    session.flush()


def test_refresh_sla_writes_the_cache_and_recomputes_the_same_from_history(session, customer):
    t = _stored_ticket(session, customer, at(2026, 11, 6, 15, 0), first=30, resolution=240,
                       first_response_at=at(2026, 11, 6, 15, 10))
    snapshot = refresh_sla(session, t, CAL, now=at(2026, 11, 6, 15, 30))
    assert local(t.resolution_due_at) == at(2026, 11, 9, 10, 0)
    assert local(t.first_response_due_at) == at(2026, 11, 6, 15, 30)
    assert t.sla_state is SlaState.ON_TRACK and snapshot.state is SlaState.ON_TRACK

    _record(session, t, [("in_progress", at(2026, 11, 6, 15, 40)),
                         ("pending", at(2026, 11, 6, 16, 0))])
    refresh_sla(session, t, CAL, now=at(2026, 11, 6, 16, 0))
    assert t.sla_state is SlaState.PAUSED and t.resolution_due_at is None
    _record(session, t, [("in_progress", at(2026, 11, 9, 11, 0))])
    refresh_sla(session, t, CAL, now=at(2026, 11, 9, 11, 0))
    assert local(t.resolution_due_at) == at(2026, 11, 9, 15, 0)

    # A fresh load from the database (the cache thrown away) gives the same answer.
    ticket_id, due = t.id, t.resolution_due_at
    session.expire_all()
    again = session.get(Ticket, ticket_id)
    again.resolution_due_at, again.sla_state = None, SlaState.ON_TRACK
    refresh_sla(session, again, CAL, now=at(2026, 11, 9, 11, 0))
    assert again.resolution_due_at == due and again.sla_state is SlaState.ON_TRACK
    # Other history rows (comments, assignee changes) do not disturb the clock.
    session.add(TicketHistory(ticket_id=ticket_id, field="assignee_id", old_value=None,
                              new_value="7", changed_at=at(2026, 11, 9, 11, 5)))
    session.flush()
    assert refresh_sla(session, again, CAL, now=at(2026, 11, 9, 11, 5)).resolution.due_at == due


# --- choosing the policy --------------------------------------------------------------

def _policy(session, name, created: datetime, *, ticket_type=None, priority=None, tier=None,
            first=5, resolution=100, calendar="business", active=True) -> SlaPolicy:
    p = SlaPolicy(name=name, ticket_type=ticket_type, priority=priority, customer_tier=tier,
                  first_response_minutes=first, resolution_minutes=resolution,
                  calendar=SlaCalendar(calendar), active=active, created_at=created)
    session.add(p)
    session.flush()
    return p


def test_most_specific_policy_wins_then_the_newest(session):
    day = at(2026, 11, 1)
    anything = _policy(session, "any", day)
    complaint = _policy(session, "complaint", day, ticket_type="complaint")
    urgent = _policy(session, "urgent", day + timedelta(hours=1), priority="urgent")
    vip_complaint = _policy(session, "vip complaint", day, ticket_type="complaint", tier="vip")
    urgent_complaint = _policy(session, "urgent complaint", day, ticket_type="complaint",
                               priority="urgent")
    _policy(session, "inactive, most specific", day + timedelta(days=1),
            ticket_type="complaint", priority="urgent", tier="vip", active=False)

    assert select_policy(session, "inquiry", "normal", "ordinary") is anything
    assert select_policy(session, "complaint", "normal", "ordinary") is complaint
    assert select_policy(session, "inquiry", "urgent", None) is urgent
    assert select_policy(session, "complaint", "normal", "vip") is vip_complaint
    # Two policies naming two fields each: the newer one.
    assert select_policy(session, "complaint", "urgent", "vip") is urgent_complaint
    newer = _policy(session, "vip complaint v2", day + timedelta(days=2),
                    ticket_type="complaint", tier="vip")
    assert select_policy(session, "complaint", "urgent", "vip") is newer


def test_defaults_apply_when_no_policy_matches(session):
    t = Ticket(type_code="inquiry", priority="urgent")
    assert apply_policy(session, t, "vip") is None
    assert (t.first_response_minutes, t.sla_calendar) == (10, SlaCalendar.BUSINESS)
    c = Ticket(type_code="complaint", priority="normal")
    apply_policy(session, c, None)
    assert c.resolution_minutes == 240 == DEFAULT_TARGETS["complaint"].resolution_minutes
    other = Ticket(type_code="editor_added", priority="low")
    apply_policy(session, other, None)
    assert other.sla_policy_id is None and other.first_response_minutes > 0


def test_a_policy_applies_only_to_tickets_created_after_it(session, customer):
    before = Ticket(type_code="complaint", priority="high", customer_id=customer.id,
                    subject="before", created_at=at(2026, 11, 4, 9, 0))
    apply_policy(session, before, "ordinary")
    session.add(before)
    session.flush()
    policy = _policy(session, "complaints 24x7", at(2026, 11, 4, 10, 0),
                     ticket_type="complaint", first=5, resolution=120, calendar="24x7")
    after = Ticket(type_code="complaint", priority="high", customer_id=customer.id,
                   subject="after", created_at=at(2026, 11, 4, 11, 0))
    assert apply_policy(session, after, "ordinary") is policy
    session.add(after)
    session.flush()
    assert (after.sla_policy_id, after.first_response_minutes, after.resolution_minutes,
            after.sla_calendar) == (policy.id, 5, 120, SlaCalendar.ALL_HOURS)
    session.expire_all()
    kept = session.get(Ticket, before.id)
    assert (kept.sla_policy_id, kept.resolution_minutes, kept.sla_calendar) == (
        None, 240, SlaCalendar.BUSINESS)
    # The 24x7 snapshot drives the clock even when handed the business calendar.
    s = refresh_sla(session, session.get(Ticket, after.id), CAL, now=at(2026, 11, 4, 11, 1))
    assert local(s.resolution.due_at) == at(2026, 11, 4, 13, 0)
