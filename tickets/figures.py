"""The wallboard's ticket panel: open, at risk and breached tickets per team, and the
oldest breach.

Set-based: one GROUP BY over the open tickets of the teams the actor oversees, and one
window query for each team's oldest breach; nothing is loaded per ticket. The same
teams as the wallboard's queues and the ``department:<id>`` rooms the actor joins
(``callcenter.realtime.rooms.department_ids``): an admin or a user with scope ``all``
sees every team (and the tickets no team owns yet), anyone else their department and
its sub-departments.

"At risk" and "breached" read the SLA cache ``tickets.sla`` keeps on the ticket
(``sla_state``), and a ticket whose due time has passed while that cache was not
refreshed yet (the escalation job runs on the second it is due, but a page may ask in
between) counts as breached already: a paused (pending) ticket never does.

A breach's instant is when its first missed target was due: the first-response due
time while no first response was given and it is the earlier one, else the
resolution due time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from callcenter.users.models import Department, Role, Scope, User
from callcenter.users.permissions import Permission, has_permission
from callcenter.users.scopes import department_subtree_ids
from tickets.models import OPEN_STATUSES, SlaState, Ticket, TicketStatus


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite hands back what was stored: UTC without a zone
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def sees_every_team(actor: User) -> bool:
    return actor.role == Role.ADMIN or actor.scope == Scope.ALL


def _breach_at():
    """When the ticket's first missed target was due (SQL expression)."""
    t = Ticket
    first_running = and_(t.first_response_at.is_(None), t.first_response_due_at.is_not(None))
    return case(
        (and_(first_running, or_(t.resolution_due_at.is_(None),
                                 t.first_response_due_at < t.resolution_due_at)),
         t.first_response_due_at),
        else_=t.resolution_due_at)


def _breached(now: datetime):
    """Open, not paused, and breached by the cache or by a due time already passed."""
    t = Ticket
    # Each comparison guarded against NULL: NOT(NULL) would count for neither side.
    overdue = or_(and_(t.resolution_due_at.is_not(None), t.resolution_due_at < now),
                  and_(t.first_response_at.is_(None), t.first_response_due_at.is_not(None),
                       t.first_response_due_at < now))
    return and_(t.status != TicketStatus.PENDING,
                or_(t.sla_state == SlaState.BREACHED, overdue))


def _team_filter(actor: User):
    """The WHERE part limiting tickets to the actor's teams; None: every ticket."""
    if sees_every_team(actor):
        return None
    if actor.department_id is None:
        return Ticket.department_id.in_([])
    return Ticket.department_id.in_(department_subtree_ids(actor.department_id))


def ticket_panel(session: Session, actor: User, *, now: datetime | None = None
                 ) -> dict[str, Any]:
    """``{"teams": [...], "totals": {...}, "oldest_breach": {...} | None, "updated_at"}``.

    Each team: ``department_id`` (None: no team yet), ``name``, ``open``, ``at_risk``,
    ``breached`` and ``oldest_breach`` (``ticket_id``, ``subject``, ``breached_at``,
    ``breached_for_s``, ``priority``, ``escalation_level``, ``department_id``) or None.
    Teams with no open ticket are left out.
    A role without the wallboard gets nothing (the panel is part of the wallboard).
    """
    now = now or datetime.now(UTC)
    empty = {"teams": [], "totals": {"open": 0, "at_risk": 0, "breached": 0},
             "oldest_breach": None, "updated_at": _iso(now)}
    if not actor.is_active or not has_permission(actor.role, Permission.WALLBOARD_VIEW):
        return empty
    t = Ticket
    breached = _breached(now)
    is_open = t.status.in_([s.value for s in OPEN_STATUSES])
    scope = _team_filter(actor)
    where = [is_open] if scope is None else [is_open, scope]

    def count_if(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    counts = session.execute(
        select(t.department_id, func.count().label("open"),
               count_if(and_(t.sla_state == SlaState.AT_RISK, ~breached)).label("at_risk"),
               count_if(breached).label("breached"))
        .where(*where).group_by(t.department_id)).all()
    if not counts:
        return empty

    breach_at = _breach_at().label("breached_at")
    ranked = (select(t.id, t.department_id, t.subject, t.priority, t.escalation_level,
                     breach_at,
                     func.row_number().over(partition_by=t.department_id,
                                            order_by=(_breach_at(), t.id)).label("rank"))
              .where(*where, breached).subquery())
    oldest = {row.department_id: row for row in session.execute(
        select(ranked).where(ranked.c.rank == 1))}

    ids = [row.department_id for row in counts if row.department_id is not None]
    names = dict(session.execute(select(Department.id, Department.name)
                                 .where(Department.id.in_(ids))).all()) if ids else {}
    teams = []
    for row in counts:
        first = oldest.get(row.department_id)
        teams.append({
            "department_id": row.department_id,
            "name": names.get(row.department_id, "") if row.department_id else "",
            "open": int(row.open), "at_risk": int(row.at_risk),
            "breached": int(row.breached),
            "oldest_breach": _breach(first, now),
        })
    # The teams in trouble first, then by name: the eye lands where action is needed.
    teams.sort(key=lambda r: (-r["breached"], -r["at_risk"], r["department_id"] is None,
                              r["name"], r["department_id"] or 0))
    breaches = [team["oldest_breach"] for team in teams if team["oldest_breach"]]
    return {
        "teams": teams,
        "totals": {key: sum(team[key] for team in teams)
                   for key in ("open", "at_risk", "breached")},
        "oldest_breach": min(breaches, key=lambda b: (b["breached_at"] or "", b["ticket_id"]))
        if breaches else None,
        "updated_at": _iso(now),
    }


def _breach(row, now: datetime) -> dict[str, Any] | None:
    if row is None:
        return None
    at = row.breached_at
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return {"ticket_id": row.id, "subject": row.subject,
            "breached_at": _iso(at),
            # How long ago, at updated_at: the page ticks on from when it arrived.
            "breached_for_s": round(max(0.0, (now - at).total_seconds()), 1)
            if at is not None else None,
            "priority": getattr(row.priority, "value", row.priority),
            "escalation_level": row.escalation_level,
            "department_id": row.department_id}


__all__ = ["sees_every_team", "ticket_panel"]
