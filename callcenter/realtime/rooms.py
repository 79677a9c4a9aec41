"""Which Socket.IO rooms a user joins on connect (names: ``callcenter.realtime.live``).

- ``agent:<user_id>``: everyone, their own;
- ``queue:<name>``: the queues of their wallboard (one rule,
  ``callcenter.wallboard.services``), plus for those who see every queue the ones the
  live state reports before the bridge registered them;
- ``department:<id>``: their own department; a supervisor every department of their
  subtree; an admin, or a supervisor with scope ``all``, every department. So an event
  for a department reaches its people and whoever oversees it.

A client can never join a room itself: only this rule puts it in one.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.realtime import live
from callcenter.users.models import Department, Role, Scope, User
from callcenter.users.scopes import department_subtree_ids
from callcenter.wallboard.services import sees_every_queue, visible_queue_names


def queue_rooms(session: Session, user: User, redis_client=None) -> list[str]:
    """The names of the queues whose rooms ``user`` joins."""
    names = set(visible_queue_names(session, user))
    if redis_client is not None and user.role in (Role.SUPERVISOR, Role.ADMIN) \
            and sees_every_queue(user):
        names.update(live.live_queue_names(redis_client))
    return sorted(names)


def department_ids(session: Session, user: User) -> list[int]:
    """The departments whose rooms ``user`` joins."""
    if not user.is_active:
        return []
    if user.role == Role.ADMIN or (user.role == Role.SUPERVISOR and user.scope == Scope.ALL):
        return sorted(session.scalars(select(Department.id)))
    if user.department_id is None:
        return []
    if user.role == Role.SUPERVISOR:
        return sorted(session.scalars(department_subtree_ids(user.department_id)))
    return [user.department_id]


def user_rooms(session: Session, user: User, redis_client=None) -> list[str]:
    """Every room ``user`` joins on connect (``redis_client``: for the live queues)."""
    return [live.agent_room(user.id),
            *(live.queue_room(q) for q in queue_rooms(session, user, redis_client)),
            *(live.department_room(d) for d in department_ids(session, user))]
