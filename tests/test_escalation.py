# ruff: noqa: F811 - the fixtures imported from escalation_support are test arguments
"""The escalation ladder with a moved clock: steps at 80 %, 100 %, 150 %, each exactly
once, the right people told, paused tickets left alone, timers armed after commit."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import pytest
from escalation_support import (  # noqa: F401 - fixtures
    T0,
    counts,
    db,
    esc_database,
    esc_factory,
    esc_settings,
    make_customer_for,
    make_org,
    make_ticket,
    minutes,
    set_status,
)
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from callcenter.config import ConfigError
from callcenter.jobs import get_queue, run_worker
from callcenter.realtime.live import channel_for
from tickets.escalation import LadderError, fire_due_escalations, parse_ladder
from tickets.jobs import timer_epoch, timer_id
from tickets.models import (
    Priority,
    SlaState,
    Ticket,
    TicketEscalation,
    TicketHistory,
    TicketNotice,
    TicketStatus,
)


def _notices(session, ticket_id):
    return sorted((n.kind, n.user_id, n.level) for n in session.scalars(
        select(TicketNotice).where(TicketNotice.ticket_id == ticket_id)))


def _fresh(session, ticket):
    session.expire_all()
    return session.get(Ticket, ticket.id)


@pytest.mark.parametrize("raw", ["", "0.8", "x:warn", "0.8:boom", "1:lead,0.5:warn",
                                 "1:up,1.5:lead", "-1:warn", "nan:warn"])
def test_a_bad_ladder_is_a_config_error_naming_the_variable(raw):
    with pytest.raises(ConfigError, match="SLA_ESCALATION"):
        parse_ladder(raw)


def test_the_worker_and_the_web_app_refuse_to_start_with_a_bad_ladder(settings):
    from dataclasses import replace

    from callcenter.app import create_app
    bad = replace(settings, escalation_ladder="0.8:panic")
    with pytest.raises(LadderError, match="SLA_ESCALATION"):
        run_worker(burst=True, settings=bad)
    with pytest.raises(LadderError, match="SLA_ESCALATION"):
        create_app(bad, testing=True)


def test_ladder_levels():
    steps = parse_ladder("0.8:warn,1.0:lead,1.5:up,2:up")
    assert [(s.action, s.level, s.ups) for s in steps] == \
        [("warn", 0, 0), ("lead", 1, 0), ("up", 2, 1), ("up", 3, 2)]


def test_steps_fire_at_80_100_150_percent_once_each(db, esc_settings, redis_conn):
    org = make_org(db)
    customer = make_customer_for(db, org.agent)
    ticket = make_ticket(db, esc_settings, customer.id, org)
    assert ticket.next_escalation_at == T0 + minutes(80)

    # Just before 80 %: nothing.
    assert fire_due_escalations(db, esc_settings, now=T0 + minutes(79.9)).fired == 0
    assert counts(db, [ticket.id])["escalations"] == 0

    # 80 %: the assignee is warned; the level stays.
    result = fire_due_escalations(db, esc_settings, now=T0 + minutes(80.5))
    assert (result.fired, result.steps) == (1, {"warn": 1})
    t = _fresh(db, ticket)
    assert (t.escalation_level, t.priority, t.sla_state) == (0, Priority.NORMAL,
                                                            SlaState.AT_RISK)
    assert t.next_escalation_at == T0 + minutes(100)
    assert _notices(db, t.id) == [("warn", org.agent.id, 0)]

    # Running it again at the same moment changes nothing.
    assert fire_due_escalations(db, esc_settings, now=T0 + minutes(80.5)).fired == 0
    assert counts(db, [t.id]) == {"escalations": 1, "notices": 1, "level_history": 0,
                                       "priority_history": 0}

    # 100 %: level 1, priority one step up, the team lead and the assignee told.
    version = t.version
    fire_due_escalations(db, esc_settings, now=T0 + minutes(101))
    t = _fresh(db, ticket)
    assert (t.escalation_level, t.priority, t.sla_state) == (1, Priority.HIGH,
                                                            SlaState.BREACHED)
    assert t.version == version + 1
    assert t.next_escalation_at == T0 + minutes(150)
    assert _notices(db, t.id) == sorted([("warn", org.agent.id, 0),
                                              ("lead", org.lead.id, 1),
                                              ("lead", org.agent.id, 1)])
    history = {h.field: h for h in db.scalars(select(TicketHistory).where(
        TicketHistory.ticket_id == t.id, TicketHistory.field.in_(
            ["escalation_level", "priority"])))}
    level = history["escalation_level"]
    assert (level.old_value, level.new_value, level.user_id) == ("0", "1", None)
    assert level.system_note == ["ticket.escalation.lead", {"p": 100, "target": "resolution"}]
    assert (history["priority"].old_value, history["priority"].new_value) == ("normal",
                                                                              "high")

    # 150 %: level 2, the lead of the department above told; the ladder is done.
    fire_due_escalations(db, esc_settings, now=T0 + minutes(150))
    t = _fresh(db, ticket)
    assert (t.escalation_level, t.priority, t.next_escalation_at) == (2, Priority.HIGH, None)
    assert ("up", org.top_lead.id, 2) in _notices(db, t.id)
    fired = db.scalars(select(TicketEscalation).where(
        TicketEscalation.ticket_id == t.id).order_by(TicketEscalation.step)).all()
    assert [(e.step, e.level, e.due_at) for e in fired] == [
        (0, 0, T0 + minutes(80)), (1, 1, T0 + minutes(100)), (2, 2, T0 + minutes(150))]
    assert fire_due_escalations(db, esc_settings, now=T0 + minutes(500)).fired == 0
    assert counts(db, [t.id]) == {"escalations": 3, "notices": 4, "level_history": 2,
                                       "priority_history": 1}


def test_a_ticket_overdue_for_every_step_climbs_the_whole_ladder_in_one_sweep(
        db, esc_settings):
    org = make_org(db)
    ticket = make_ticket(db, esc_settings, make_customer_for(db, org.agent).id, org,
                         priority="urgent")
    result = fire_due_escalations(db, esc_settings, now=T0 + minutes(600))
    assert result.steps == {"warn": 1, "lead": 1, "up": 1}
    t = _fresh(db, ticket)
    # Urgent cannot rise: no priority change and no priority history row.
    assert (t.escalation_level, t.priority) == (2, Priority.URGENT)
    assert counts(db, [t.id])["priority_history"] == 0


def test_the_first_response_target_counts_until_it_is_met(db, esc_settings):
    org = make_org(db)
    ticket = make_ticket(db, esc_settings, make_customer_for(db, org.agent).id, org,
                         first_response_minutes=10, resolution_minutes=100)
    assert ticket.next_escalation_at == T0 + minutes(8)
    # Answered at minute 5: the resolution target alone drives the ladder from then on.
    ticket.first_response_at = T0 + minutes(5)
    set_status(db, esc_settings, ticket, TicketStatus.IN_PROGRESS, T0 + minutes(5))
    assert ticket.next_escalation_at == T0 + minutes(80)


def test_a_paused_ticket_does_not_escalate_and_its_clock_moves_on(db, esc_settings):
    org = make_org(db)
    ticket = make_ticket(db, esc_settings, make_customer_for(db, org.agent).id, org)
    set_status(db, esc_settings, ticket, TicketStatus.PENDING, T0 + minutes(10))
    assert ticket.next_escalation_at is None
    assert fire_due_escalations(db, esc_settings, now=T0 + minutes(500)).fired == 0
    # Back after 50 minutes pending: every due moves by 50 minutes.
    set_status(db, esc_settings, ticket, TicketStatus.IN_PROGRESS, T0 + minutes(60))
    assert ticket.next_escalation_at == T0 + minutes(130)
    assert fire_due_escalations(db, esc_settings, now=T0 + minutes(129)).fired == 0
    assert fire_due_escalations(db, esc_settings, now=T0 + minutes(131)).steps == \
        {"warn": 1}


def test_a_ticket_paused_after_its_timer_was_set_is_not_fired(db, esc_settings):
    """The timer row says due, but the ticket went pending in between (a stale timer)."""
    org = make_org(db)
    ticket = make_ticket(db, esc_settings, make_customer_for(db, org.agent).id, org)
    ticket.status = TicketStatus.PENDING  # as if the tracking had not run yet
    db.flush()
    result = fire_due_escalations(db, esc_settings, now=T0 + minutes(90))
    assert (result.fired, result.rearmed) == (0, 1)
    assert _fresh(db, ticket).next_escalation_at is None


def test_resolved_tickets_have_no_timer(db, esc_settings):
    org = make_org(db)
    ticket = make_ticket(db, esc_settings, make_customer_for(db, org.agent).id, org)
    set_status(db, esc_settings, ticket, TicketStatus.RESOLVED, T0 + minutes(30))
    assert ticket.next_escalation_at is None


def test_without_a_lead_the_supervisors_hear_of_it(db, esc_settings):
    org = make_org(db)
    org.team.lead_id = None
    db.flush()
    ticket = make_ticket(db, esc_settings, make_customer_for(db, org.agent).id, org)
    fire_due_escalations(db, esc_settings, now=T0 + minutes(101))
    lead_notices = [n for n in _notices(db, ticket.id) if n[0] == "lead"]
    assert sorted(u for _, u, _ in lead_notices) == sorted(
        [org.lead.id, org.supervisor.id, org.agent.id])  # org.lead is a supervisor too


def test_timer_armed_after_commit_and_events_published(db, esc_settings, redis_conn,
                                                      redis_url):
    org = make_org(db)
    customer = make_customer_for(db, org.agent)
    registry = ScheduledJobRegistry(queue=get_queue("default", connection=redis_conn))
    # Due in 8 minutes of the real clock: within the horizon of armed timers.
    created = datetime.now(UTC).replace(microsecond=0) - minutes(2)
    ticket = make_ticket(db, esc_settings, customer.id, org,
                         created_at=created, resolution_minutes=10)
    assert registry.get_job_ids() == []  # not before the commit
    db.commit()
    due = ticket.next_escalation_at
    assert registry.get_job_ids() == [timer_id(timer_epoch(due))]
    assert registry.get_scheduled_time(timer_id(timer_epoch(due))).timestamp() == \
        timer_epoch(due)

    pubsub = redis_conn.pubsub()
    pubsub.subscribe(channel_for(redis_url))
    pubsub.get_message(timeout=1)
    fire_due_escalations(db, esc_settings, now=created + minutes(10.1))
    seen = []
    while (message := pubsub.get_message(timeout=1)) is not None:
        if message["type"] == "message":
            body = json.loads(message["data"])
            seen.append((body["event"], body["room"], body["data"][0]["kind"]
                         if body["event"] == "ticket.notice" else
                         body["data"][0]["escalation_level"]))
    pubsub.close()
    assert sorted(seen) == sorted([
        ("ticket.notice", f"agent:{org.agent.id}", "warn"),
        ("ticket.notice", f"agent:{org.agent.id}", "lead"),
        ("ticket.notice", f"agent:{org.lead.id}", "lead"),
        ("ticket.changed", f"department:{org.team.id}", 0),
        ("ticket.escalated", f"department:{org.team.id}", 1)])
    # The next step (150 %: 5 minutes on) has its timer too.
    assert timer_id(timer_epoch(created + minutes(15))) in registry.get_job_ids()


def test_two_sweeps_in_parallel_threads_fire_each_step_once(esc_factory, esc_settings):
    """Real commits: two sweeps race for 300 due tickets, 40 per batch."""
    with esc_factory() as session:
        org = make_org(session)
        customer = make_customer_for(session, org.agent)
        ids = [make_ticket(session, esc_settings, customer.id, org).id for _ in range(300)]
        session.commit()
    barrier = threading.Barrier(2)
    results, errors = [], []

    def sweep():
        try:
            with esc_factory() as s:
                barrier.wait(10)
                results.append(fire_due_escalations(s, esc_settings, now=T0 + minutes(101),
                                                    batch=40))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    # Warn and lead fired for every ticket, by one sweep or the other, never both.
    assert sum(r.fired for r in results) == 600
    with esc_factory() as session:
        assert counts(session, ids) == {"escalations": 600, "notices": 900,
                                        "level_history": 300, "priority_history": 300}
        priorities = set(session.scalars(select(Ticket.priority).where(Ticket.id.in_(ids))))
        assert priorities == {Priority.HIGH}
