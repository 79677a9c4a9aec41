"""The state machine as the services apply it: every pair of statuses is either a move
the machine allows (done, with a status history row) or refused (422-coded error, and
the ticket unchanged); the times it sets and clears."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from callcenter.core.errors import ValidationError
from tickets.models import Ticket, TicketHistory, TicketStatus
from tickets.services import StaleVersion, TransitionRefused, create_ticket
from tickets.states import TRANSITIONS, can_transition
from tickets.transitions import transition_ticket

S = TicketStatus
#: A path from new to each status, through allowed moves.
PATH = {S.NEW: [], S.ASSIGNED: [S.ASSIGNED], S.IN_PROGRESS: [S.ASSIGNED, S.IN_PROGRESS],
        S.PENDING: [S.ASSIGNED, S.PENDING], S.RESOLVED: [S.RESOLVED],
        S.CLOSED: [S.CLOSED]}


@pytest.fixture
def agent(make_user):
    return make_user("agent", scope="department", department="Service/Hotline")


@pytest.fixture
def make_ticket(session, agent, make_customer, settings):
    customer = make_customer(agent, "State Co")

    def factory(status: S) -> Ticket:
        ticket = create_ticket(session, agent, {"type": "inquiry", "subject": "S",
                                                "customer_id": customer.id},
                               settings=settings)
        for step in PATH[status]:
            go(session, agent, ticket, step, settings)
        session.flush()
        assert ticket.status == status
        return ticket

    return factory


def go(session, agent, ticket, to, settings, **extra):
    data = {"to": to, "version": ticket.version, **extra}
    if to == S.ASSIGNED and "assignee_id" not in extra:
        data["assignee_id"] = agent.id
    return transition_ticket(session, agent, ticket, data, settings=settings)


def test_the_machine_is_the_documented_one():
    assert can_transition(S.IN_PROGRESS, S.PENDING) and can_transition(S.PENDING, S.IN_PROGRESS)
    assert can_transition(S.RESOLVED, S.IN_PROGRESS)  # reopen
    assert not TRANSITIONS[S.CLOSED]


@pytest.mark.parametrize(("old", "new"), list(itertools.product(S, S)))
def test_every_pair_is_done_or_refused(session, agent, make_ticket, settings, old, new):
    if old == S.ASSIGNED and new == S.ASSIGNED:
        pytest.skip("re-assigning needs another assignee: test_reassign")
    ticket = make_ticket(old)
    before = (ticket.version, session.scalar(
        select(TicketHistory.id).where(TicketHistory.ticket_id == ticket.id)
        .order_by(TicketHistory.id.desc()).limit(1)))
    if can_transition(old, new):
        go(session, agent, ticket, new, settings)
        session.flush()
        assert ticket.status == new and ticket.version == before[0] + 1
        last = session.scalars(select(TicketHistory).where(
            TicketHistory.ticket_id == ticket.id, TicketHistory.field == "status")
            .order_by(TicketHistory.id.desc())).first()
        assert (last.old_value, last.new_value, last.user_id) == (old.value, new.value,
                                                                  agent.id)
    else:
        with pytest.raises(TransitionRefused) as refused:
            go(session, agent, ticket, new, settings)
        assert refused.value.code == "ticket.transition_refused"
        assert refused.value.errors["to"].params == {"from": old.value, "to": new.value}
        assert isinstance(refused.value, ValidationError)
        assert ticket.status == old and ticket.version == before[0]


def test_reassign_needs_another_assignee(session, agent, make_user, make_ticket, settings):
    ticket = make_ticket(S.ASSIGNED)
    with pytest.raises(TransitionRefused):
        go(session, agent, ticket, S.ASSIGNED, settings, assignee_id=agent.id)
    other = make_user("agent", scope="all", department="Service/Hotline")
    go(session, agent, ticket, S.ASSIGNED, settings, assignee_id=other.id)
    assert ticket.assignee_id == other.id


def test_times_set_and_cleared(session, agent, make_ticket, settings):
    ticket = make_ticket(S.IN_PROGRESS)
    go(session, agent, ticket, S.RESOLVED, settings, resolution="Fixed")
    assert ticket.resolved_at is not None and ticket.resolution == "Fixed"
    go(session, agent, ticket, S.IN_PROGRESS, settings)  # reopened
    assert ticket.resolved_at is None
    go(session, agent, ticket, S.RESOLVED, settings)
    go(session, agent, ticket, S.CLOSED, settings)
    assert ticket.closed_at is not None and ticket.resolved_at is not None


def test_taking_an_unassigned_ticket_and_stale_versions(session, agent, make_ticket,
                                                        settings):
    ticket = make_ticket(S.NEW)
    go(session, agent, ticket, S.IN_PROGRESS, settings)
    assert ticket.assignee_id == agent.id
    with pytest.raises(StaleVersion) as stale:
        transition_ticket(session, agent, ticket, {"to": "pending", "version": 1},
                          settings=settings)
    assert stale.value.current_version == ticket.version == 2
    with pytest.raises(ValidationError):
        go(session, agent, ticket, S.PENDING, settings, resolution="too early")
