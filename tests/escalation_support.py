"""Tickets and an organisation for the escalation tests (rows written directly, as the
ticket services would leave them: the escalation reads only the table)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from callcenter.customers.services import create_customer
from callcenter.db import make_engine, make_sessionmaker
from callcenter.users.models import Department, User
from callcenter.users.services import create_user, ensure_department
from tickets.models import (
    SlaCalendar,
    Ticket,
    TicketEscalation,
    TicketHistory,
    TicketNotice,
    TicketStatus,
)
from tickets.tracking import track_ticket

T0 = datetime.fromisoformat("2026-12-07T01:00:00+00:00")


@pytest.fixture(scope="module")
def esc_database(backend, fresh_database):
    """A database of the module's own: the sweeps commit (batch by batch) for real."""
    url = fresh_database.create(backend)
    engine = make_engine(url)
    yield url, engine
    engine.dispose()


@pytest.fixture
def esc_settings(settings, esc_database):
    return replace(settings, database_url=esc_database[0])


@pytest.fixture
def esc_factory(esc_database):
    """Sessions on the module's database, its tickets cleared first (a sweep sees all)."""
    engine = esc_database[1]
    with engine.begin() as conn:
        for model in (TicketNotice, TicketEscalation, TicketHistory, Ticket):
            conn.execute(delete(model))
    return make_sessionmaker(engine)


@pytest.fixture
def db(esc_factory):
    with esc_factory() as session:
        yield session


def make_customer_for(session: Session, owner: User, name: str = "Acme Service Ltd"):
    customer = create_customer(session, owner, {"name": name, "phones": []}, region="CN")
    session.flush()
    return customer


@dataclass
class Org:
    top: Department        # Service
    team: Department       # Service/Beijing
    lead: User             # the team's lead
    top_lead: User         # the lead of Service
    agent: User            # the assignee
    supervisor: User       # a supervisor of the team (not its lead)


def make_org(session: Session) -> Org:
    """Users and departments of their own (unique names: the module's database stays)."""
    prefix = uuid.uuid4().hex[:8]

    def user(name, role, dept):
        return create_user(session, username=f"{prefix}{name}", password="correct horse battery",
                           role=role, department=dept)
    top_name, team_name = f"Service{prefix}", f"Service{prefix}/Beijing"
    lead = user("lead", "supervisor", team_name)
    top_lead = user("toplead", "supervisor", top_name)
    agent = user("agent", "agent", team_name)
    supervisor = user("super", "supervisor", team_name)
    team, top = ensure_department(session, team_name), ensure_department(session, top_name)
    team.lead_id, top.lead_id = lead.id, top_lead.id
    session.flush()
    return Org(top, team, lead, top_lead, agent, supervisor)


def make_ticket(session: Session, settings, customer_id: int, org: Org, *,
                created_at: datetime = T0, resolution_minutes: int | None = 100,
                first_response_minutes: int | None = None, status=TicketStatus.ASSIGNED,
                priority: str = "normal", track: bool = True, **fields) -> Ticket:
    ticket = Ticket(type_code="complaint", priority=priority, status=status,
                    customer_id=customer_id, subject=fields.pop("subject", "Printer jams"),
                    assignee_id=org.agent.id, department_id=org.team.id,
                    creator_id=org.agent.id, created_at=created_at, updated_at=created_at,
                    sla_calendar=SlaCalendar.ALL_HOURS,
                    first_response_minutes=first_response_minutes,
                    resolution_minutes=resolution_minutes, **fields)
    session.add(ticket)
    session.flush()
    session.add(TicketHistory(ticket_id=ticket.id, user_id=org.agent.id, changed_at=created_at,
                              field="created", new_value=status.value))
    session.flush()
    if track:
        track_ticket(session, ticket, settings, now=created_at)
        session.flush()
    return ticket


def set_status(session: Session, settings, ticket: Ticket, status: TicketStatus,
               at: datetime) -> None:
    """What the ticket service does: the change, its history row, then tracking."""
    session.add(TicketHistory(ticket_id=ticket.id, user_id=ticket.assignee_id, changed_at=at,
                              field="status", old_value=ticket.status.value,
                              new_value=status.value))
    ticket.status = status
    if status == TicketStatus.RESOLVED:
        ticket.resolved_at = at
    session.flush()
    track_ticket(session, ticket, settings, now=at)
    session.flush()


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def counts(session: Session, ticket_ids) -> dict[str, int]:
    ids = list(ticket_ids)
    def count(model, *where):
        return session.scalar(select(func.count()).select_from(model).where(*where))
    return {
        "escalations": count(TicketEscalation, TicketEscalation.ticket_id.in_(ids)),
        "notices": count(TicketNotice, TicketNotice.ticket_id.in_(ids)),
        "level_history": count(TicketHistory, TicketHistory.ticket_id.in_(ids),
                               TicketHistory.field == "escalation_level"),
        "priority_history": count(TicketHistory, TicketHistory.ticket_id.in_(ids),
                                  TicketHistory.field == "priority"),
    }


def bulk_tickets(session: Session, customer_id: int, org: Org, n: int, *,
                 created_at: datetime, resolution_minutes: int = 100) -> list[int]:
    """``n`` open 24x7 tickets in one INSERT, their timer set as tracking would set it
    (the first step, warn at 80 %, of the resolution target)."""
    due = created_at + timedelta(minutes=0.8 * resolution_minutes)
    rows = [{"type_code": "complaint", "priority": "normal", "channel": "phone",
             "status": "assigned", "escalation_level": 0, "customer_id": customer_id,
             "subject": f"Bulk {i}", "description": "", "resolution": "",
             "creator_id": org.agent.id, "assignee_id": org.agent.id,
             "department_id": org.team.id, "version": 1, "created_at": created_at,
             "updated_at": created_at, "sla_calendar": "24x7",
             "resolution_minutes": resolution_minutes, "resolution_due_at":
             created_at + timedelta(minutes=resolution_minutes), "sla_state": "on_track",
             "next_escalation_at": due} for i in range(n)]
    table = Ticket.__table__
    return list(session.scalars(table.insert().values(rows).returning(table.c.id)))


def wait_until(condition, timeout_s: float = 60.0, what: str = "condition") -> None:
    import time
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
