"""Round-robin assignment: a new ticket goes to the next available member of its team.

"Available" is the live agent state the bridge keeps in Redis (``callcenter.realtime.
live``: ``cc:live:agents``, state ``available``), matched to users by the user id the
bridge knows or by the member interface. Nobody available: the ticket stays unassigned
(the team's "unassigned" queue shows it). Redis down: the same, logged.

The team's cursor (``AssignmentCursor``: who got the last one) is claimed with a write
(an UPDATE of its own row) before it is read, so two tickets created at the same time
for one team are serialised on that row and never go to the same person by accident.
"""

from __future__ import annotations

import logging

import redis
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from callcenter.realtime.live import AGENTS_KEY, GarbledEntry, parse_agent_entry
from callcenter.users.models import User
from callcenter.users.permissions import Permission, has_permission
from tickets.models import AssignmentCursor

log = logging.getLogger(__name__)

AVAILABLE = "available"


def available_user_ids(redis_client, session: Session, department_id: int) -> list[int]:
    """Active members of the department (itself, not its sub-teams) who may work tickets
    and whose live state is ``available``, by id."""
    members = list(session.scalars(select(User).where(User.department_id == department_id,
                                                      User.active.is_(True))))
    members = [u for u in members if has_permission(u.role, Permission.TICKET_WRITE)]
    if not members:
        return []
    try:
        raw = redis_client.hgetall(AGENTS_KEY)
    except redis.RedisError as exc:
        log.warning("round-robin: live agent states unavailable (%s); left unassigned", exc)
        return []
    free_ids: set[int] = set()
    free_interfaces: set[str] = set()
    for key, value in raw.items():
        interface = key.decode() if isinstance(key, bytes) else str(key)
        try:
            entry = parse_agent_entry(interface, value)
        except GarbledEntry:
            continue
        if entry["state"] == AVAILABLE:
            free_interfaces.add(interface)
            if entry.get("user_id"):
                free_ids.add(int(entry["user_id"]))
    return sorted(u.id for u in members
                  if u.id in free_ids or (u.interface and u.interface in free_interfaces))


def _claim_cursor(session: Session, department_id: int) -> AssignmentCursor:
    """The team's cursor row, locked for this transaction (created when missing)."""
    claimed = session.execute(
        update(AssignmentCursor).where(AssignmentCursor.department_id == department_id)
        .values(last_user_id=AssignmentCursor.last_user_id)
        .execution_options(synchronize_session=False)).rowcount
    if not claimed:
        try:
            with session.begin_nested():
                session.add(AssignmentCursor(department_id=department_id, last_user_id=None))
                session.flush()
        except IntegrityError:
            # Another transaction created it first; take our turn on its row.
            session.execute(
                update(AssignmentCursor).where(AssignmentCursor.department_id == department_id)
                .values(last_user_id=AssignmentCursor.last_user_id)
                .execution_options(synchronize_session=False))
    cursor = session.scalar(select(AssignmentCursor)
                            .where(AssignmentCursor.department_id == department_id)
                            .execution_options(populate_existing=True))
    assert cursor is not None
    return cursor


def next_assignee(session: Session, redis_client, department_id: int | None) -> int | None:
    """The member of the team who gets the next ticket, or None (nobody available)."""
    if department_id is None:
        return None
    candidates = available_user_ids(redis_client, session, department_id)
    if not candidates:
        return None
    cursor = _claim_cursor(session, department_id)
    last = cursor.last_user_id or 0
    chosen = next((uid for uid in candidates if uid > last), candidates[0])
    cursor.last_user_id = chosen
    session.flush()
    return chosen
