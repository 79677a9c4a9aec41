"""The ticket's state machine: which status may follow which.

    new → assigned → in_progress ⇄ pending → resolved → closed
                                               ↑  └─ reopen → in_progress
Escalation is not a state: it is a level (``Ticket.escalation_level``) on any open one.
A transition the machine refuses is a ``ValidationError`` with the code
``ticket.transition_refused`` (422 at the API), never a silent no-op.
"""

from __future__ import annotations

from tickets.models import TicketStatus as S

#: status → the statuses it may move to.
TRANSITIONS: dict[S, frozenset[S]] = {
    S.NEW: frozenset({S.ASSIGNED, S.IN_PROGRESS, S.RESOLVED, S.CLOSED}),
    # Re-assigning is a move to ASSIGNED again (with another assignee).
    S.ASSIGNED: frozenset({S.ASSIGNED, S.IN_PROGRESS, S.PENDING, S.RESOLVED}),
    S.IN_PROGRESS: frozenset({S.ASSIGNED, S.PENDING, S.RESOLVED}),
    S.PENDING: frozenset({S.IN_PROGRESS, S.ASSIGNED, S.RESOLVED}),
    # Reopen: the customer says it is not fixed.
    S.RESOLVED: frozenset({S.IN_PROGRESS, S.CLOSED}),
    S.CLOSED: frozenset(),
}


def allowed_transitions(status: S) -> frozenset[S]:
    return TRANSITIONS[S(status)]


def can_transition(old: S, new: S) -> bool:
    return S(new) in TRANSITIONS[S(old)]
