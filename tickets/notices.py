"""In-app notices about tickets (at risk, breached, escalated to you) and their live events.

A notice is a ``TicketNotice`` row per recipient, written in the transaction that fired
the escalation step; after commit it is pushed to the recipient's browsers
(``ticket.notice``, to ``agent:<user_id>``), the department's room hears
``ticket.escalated`` (level raised) or ``ticket.changed`` (a warning changed the SLA
state), and each recipient with an e-mail address gets a mail job
(``tickets.mail.send_notice_mail``) when SMTP is configured.

``kind`` is the ladder action that made it: ``warn`` (the assignee: the target is at
risk), ``lead`` (the team lead and the assignee: the target is breached, level 1) or
``up`` (the lead of a department further up: the ticket climbed a level).

Who gets a ``lead`` notice: the department's ``lead_id``, else its active supervisors,
plus the assignee. An ``up`` notice (the n-th ``up`` of the ladder) goes to the lead of
the department n levels above the ticket's (else its supervisors); where that level has
nobody the search goes on upwards.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from callcenter.config import Settings
from callcenter.core.errors import NotFound
from callcenter.db import after_commit, utcnow
from callcenter.users.models import Department, Role, User
from tickets.models import Ticket, TicketNotice

log = logging.getLogger(__name__)

NOTICE_EVENT = "ticket.notice"
ESCALATED_EVENT = "ticket.escalated"
CHANGED_EVENT = "ticket.changed"


class NoticeNotFound(NotFound):
    entity = "notice"


def register_events() -> None:
    """Called by the tickets domain's ``init_app`` (every process, once)."""
    from callcenter.realtime.publish import Audience, register_event

    register_event(NOTICE_EVENT, Audience.USER)
    register_event(ESCALATED_EVENT, Audience.DEPARTMENT)
    register_event(CHANGED_EVENT, Audience.DEPARTMENT)


# --- who hears of an escalation -------------------------------------------------------

@dataclass
class _Org:
    """The department tree and its supervisors, read once per sweep batch."""

    parents: dict[int, int | None]
    leads: dict[int, int | None]
    supervisors: dict[int, list[int]]

    @classmethod
    def load(cls, session: Session) -> _Org:
        parents, leads, supervisors = {}, {}, {}
        for dept_id, parent_id, lead_id in session.execute(
                select(Department.id, Department.parent_id, Department.lead_id)):
            parents[dept_id], leads[dept_id] = parent_id, lead_id
        for user_id, dept_id in session.execute(
                select(User.id, User.department_id).where(
                    User.role == Role.SUPERVISOR, User.active.is_(True),
                    User.department_id.is_not(None)).order_by(User.id)):
            supervisors.setdefault(dept_id, []).append(user_id)
        return cls(parents, leads, supervisors)

    def heads(self, dept_id: int | None) -> list[int]:
        if dept_id is None or dept_id not in self.parents:
            return []
        lead = self.leads.get(dept_id)
        return [lead] if lead else list(self.supervisors.get(dept_id, []))

    def heads_above(self, dept_id: int | None, levels: int) -> list[int]:
        """The heads of the department ``levels`` above, else the first one higher up."""
        seen = 0
        while dept_id is not None and seen < levels:
            dept_id, seen = self.parents.get(dept_id), seen + 1
        while dept_id is not None:
            heads = self.heads(dept_id)
            if heads:
                return heads
            dept_id = self.parents.get(dept_id)
        return []


def recipients(org: _Org, ticket: Ticket, step) -> list[int]:
    if step.action == "warn":
        found = [ticket.assignee_id]
    elif step.action == "lead":
        found = org.heads(ticket.department_id) + [ticket.assignee_id]
    else:
        found = org.heads_above(ticket.department_id, step.ups)
    return list(dict.fromkeys(u for u in found if u))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _value(v: Any) -> Any:
    return getattr(v, "value", v)


def create_escalation_notices(session: Session, settings: Settings, fired: Iterable,
                              *, now: datetime) -> list[int]:
    """Notices for the steps just fired (``tickets.escalation.Fired``), in one INSERT;
    their live events and mail jobs are registered for after the commit."""
    fired = list(fired)
    if not fired:
        return []
    org = _Org.load(session)
    wanted = {f.ticket.id: recipients(org, f.ticket, f.step) for f in fired}
    users = {uid: (email, active) for uid, email, active in session.execute(
        select(User.id, User.email, User.active).where(
            User.id.in_({u for ids in wanted.values() for u in ids})))}
    rows = [{"user_id": uid, "ticket_id": f.ticket.id, "kind": f.step.action,
             "level": max(f.old_level, f.step.level), "created_at": now}
            for f in fired for uid in wanted[f.ticket.id]
            if users.get(uid, (None, False))[1]]
    if not rows:
        notices = []
    else:
        table = TicketNotice.__table__
        notices = list(session.execute(insert(table).values(rows).returning(
            table.c.id, table.c.user_id, table.c.ticket_id)))
    by_ticket = {f.ticket.id: f for f in fired}
    user_events = []
    for notice_id, user_id, ticket_id in notices:
        f = by_ticket[ticket_id]
        target = f.snapshot.first_response if f.target == "first_response" \
            else f.snapshot.resolution
        user_events.append((user_id, {
            "id": notice_id, "ticket_id": ticket_id, "subject": f.ticket.subject,
            "kind": f.step.action, "level": max(f.old_level, f.step.level),
            "sla_state": _value(f.snapshot.state),
            "due_at": _iso(target.due_at if target else None)}))
    dept_events = [
        (ESCALATED_EVENT if f.step.level > f.old_level else CHANGED_EVENT,
         f.ticket.department_id,
         {"ticket_id": f.ticket.id, "status": _value(f.ticket.status),
          "sla_state": _value(f.snapshot.state),
          "escalation_level": max(f.old_level, f.step.level),
          "department_id": f.ticket.department_id})
        for f in fired if f.ticket.department_id is not None]
    mail_ids = [nid for nid, uid, _ in notices if users[uid][0]] if settings.smtp else []
    after_commit(session, lambda: _after_commit(settings, user_events, dept_events,
                                                mail_ids))
    return [n[0] for n in notices]


def _after_commit(settings: Settings, user_events: list, dept_events: list,
                  mail_ids: list[int]) -> None:
    # The rows are committed: a lost event or mail job costs a live update, never a
    # notice (the list API and the next page load show it), so failures are logged.
    try:
        publisher = live_publisher(settings)
        for user_id, payload in user_events:
            publisher.emit(NOTICE_EVENT, user_id, payload)
        for event, dept_id, payload in dept_events:
            publisher.emit(event, dept_id, payload)
    except Exception as exc:  # noqa: BLE001 - Redis down: the notices are in the database
        log.warning("ticket notices: live events not sent (%s)", exc)
    if mail_ids:
        from tickets.mail import enqueue_notice_mails
        enqueue_notice_mails(mail_ids, settings=settings)


_publishers: dict[str, Any] = {}


def live_publisher(settings: Settings):
    """One LivePublisher per Redis URL in this process."""
    from callcenter.jobs import redis_connection, redis_url
    from callcenter.realtime.publish import LivePublisher

    url = redis_url(settings)
    if url not in _publishers:
        _publishers[url] = LivePublisher(redis_connection(settings), url)
    return _publishers[url]


# --- the recipient's list -------------------------------------------------------------

def notice_to_dict(notice: TicketNotice, subject: str | None) -> dict[str, Any]:
    return {"id": notice.id, "ticket_id": notice.ticket_id, "subject": subject or "",
            "kind": notice.kind, "level": notice.level,
            "created_at": _iso(notice.created_at), "read_at": _iso(notice.read_at)}


def notices_to_dicts(session: Session, notices: list[TicketNotice]) -> list[dict[str, Any]]:
    """Serialized with their tickets' subjects (one query for the page)."""
    ids = {n.ticket_id for n in notices}
    subjects = {ticket_id: subject for ticket_id, subject in session.execute(
        select(Ticket.id, Ticket.subject).where(Ticket.id.in_(ids)))} if ids else {}
    return [notice_to_dict(n, subjects.get(n.ticket_id)) for n in notices]


def notices_query(user: User, *, unread: bool = False):
    """The user's own notices, newest first (nobody else's, whatever their role)."""
    stmt = (select(TicketNotice).where(TicketNotice.user_id == user.id)
            .order_by(TicketNotice.created_at.desc(), TicketNotice.id.desc()))
    if unread:
        stmt = stmt.where(TicketNotice.read_at.is_(None))
    return stmt


def unread_count(session: Session, user: User) -> int:
    return session.scalar(select(func.count()).select_from(TicketNotice).where(
        TicketNotice.user_id == user.id, TicketNotice.read_at.is_(None))) or 0


def mark_read(session: Session, user: User, notice_id: int, *,
              now: datetime | None = None) -> TicketNotice:
    """Mark one of the user's notices read (again: no change); another's is not found."""
    notice = session.scalar(select(TicketNotice).where(TicketNotice.id == notice_id,
                                                       TicketNotice.user_id == user.id))
    if notice is None:
        raise NoticeNotFound(notice_id)
    if notice.read_at is None:
        session.execute(update(TicketNotice).where(TicketNotice.id == notice.id,
                                                   TicketNotice.read_at.is_(None))
                        .values(read_at=now or utcnow()))
        session.refresh(notice)
    return notice
