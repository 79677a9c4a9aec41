"""The wallboard of one supervisor: the queues of their departments, their agents.

A supervisor sees the queues whose ``PbxQueue.department_id`` lies in their department
or a sub-department of it; an admin, or anyone with scope ``all``, sees every queue
(also one the live state reports before the bridge registered it).
The agents shown are the members of those queues (by the live state: the agent's own
``queues`` or the queue's ``members``). The same rule picks the Socket.IO rooms
``queue:<name>`` a supervisor joins (telephony/README.md).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.calls.models import PbxQueue
from callcenter.config import Settings
from callcenter.core.errors import PermissionDenied
from callcenter.users.models import Role, Scope, User
from callcenter.users.permissions import Permission, has_permission
from callcenter.users.scopes import department_subtree_ids
from callcenter.wallboard.day import agent_figures, interval_series
from callcenter.wallboard.figures import agent_rows, iso, local_day_start, queue_figures
from callcenter.wallboard.live import LiveState, read_live
from callcenter.wallboard.thresholds import (
    DEFAULT_SERVICE_LEVEL_PERCENT,
    DEFAULT_SL_THRESHOLD_S,
    queues_with_thresholds,
)

log = logging.getLogger(__name__)


def sees_every_queue(actor: User) -> bool:
    return actor.role == Role.ADMIN or actor.scope == Scope.ALL


def visible_queues(session: Session, actor: User) -> list[PbxQueue]:
    """The queues ``actor`` supervises, by name; [] for a role without the wallboard."""
    if not actor.is_active or not has_permission(actor.role, Permission.WALLBOARD_VIEW):
        return []
    stmt = select(PbxQueue).order_by(PbxQueue.name)
    if not sees_every_queue(actor):
        if actor.department_id is None:
            return []
        stmt = stmt.where(PbxQueue.department_id.in_(department_subtree_ids(actor.department_id)))
    return list(session.scalars(stmt))


def visible_queue_names(session: Session, actor: User) -> list[str]:
    return [q.name for q in visible_queues(session, actor)]


def _members(live: LiveState, names: set[str]) -> dict[str, set[str]]:
    """Interface -> which of the queues ``names`` it is a member of (by the live state)."""
    if live.agents is None:
        return {}
    membership: dict[str, set[str]] = {}
    for interface, entry in live.agents.items():
        mine = names.intersection(entry.get("queues") or ())
        if mine:
            membership[interface] = set(mine)
    for name in names:
        entry = (live.queues or {}).get(name)
        for interface in (entry or {}).get("members") or ():
            if interface in live.agents:
                membership.setdefault(interface, set()).add(name)
    return membership


def _board_queues(session: Session, actor: User, live: LiveState) -> list[str]:
    names = visible_queue_names(session, actor)
    if sees_every_queue(actor) and live.available:
        # Queues the PBX reports before the bridge registered them (the same rooms).
        names += sorted(set(live.queues or {}) - set(names))
    return names


def wallboard(session: Session, actor: User, now: datetime, live: LiveState | None, *,
              timezone: str, region: str | None = None) -> dict[str, Any]:
    """``{"queues", "agents", "updated_at", "day_start", "live"}`` for ``actor``.

    ``live``: the live state (``live.read_live``); None or not ``available`` shows the
    call log's figures alone, with ``live.available`` False. ``timezone``: the call
    center's (``TIMEZONE``), which decides where "today" begins; ``region``: its
    phone region, in which the waiting callers' numbers are shown (``queue_figures``).
    """
    if not has_permission(actor.role, Permission.WALLBOARD_VIEW):
        raise PermissionDenied(Permission.WALLBOARD_VIEW.value, actor.role.value)
    live = live if live is not None else LiveState()
    names = _board_queues(session, actor, live)
    day_start = local_day_start(now, timezone)
    queues = queue_figures(session, names, day_start=day_start, now=now,
                           live=live.queues if live.available else None, region=region)
    membership = _members(live, set(names)) if live.available else {}
    users = list(session.scalars(select(User).where(User.interface.in_(list(membership))))) \
        if membership else []
    agents = agent_rows({i: live.agents[i] for i in membership}, users, now=now)
    for row in agents:
        # Only the queues this supervisor sees: the others are not theirs to know.
        row["queues"] = sorted(membership[row["interface"]])
    return {
        "queues": queues,
        "agents": agents,
        "updated_at": iso(now),
        "day_start": iso(day_start),
        "timezone": timezone,
        "live": live.summary(),
    }


def day_so_far(session: Session, actor: User, now: datetime, live: LiveState | None, *,
               timezone: str) -> dict[str, Any]:
    """The charts of ``actor``'s wallboard: the queues' figures per 15 minutes today, and
    each agent's (of the board) calls, handling and pause time today
    (``callcenter.wallboard.day``). The same queues and agents as ``wallboard``."""
    if not has_permission(actor.role, Permission.WALLBOARD_VIEW):
        raise PermissionDenied(Permission.WALLBOARD_VIEW.value, actor.role.value)
    live = live if live is not None else LiveState()
    names = _board_queues(session, actor, live)
    found = queues_with_thresholds(session, names)
    queues = {}
    for name in names:
        queue, limits = found.get(name, (None, None))
        queues[name] = {
            "display_name": (queue.display_name if queue else "") or name,
            "sl_threshold_s": queue.service_level_s if queue and queue.service_level_s
            is not None else DEFAULT_SL_THRESHOLD_S,
            "sl_target": limits.sl_target if limits else DEFAULT_SERVICE_LEVEL_PERCENT / 100}
    day_start = local_day_start(now, timezone)
    series = interval_series(session, queues, day_start=day_start, now=now, timezone=timezone)
    for entry in series["queues"]:
        entry["display_name"] = queues[entry["queue"]]["display_name"]
    membership = _members(live, set(names)) if live.available else {}
    agents = agent_figures(session, membership, names, day_start=day_start, now=now)
    return {
        **series,
        "agents": [{"interface": interface, **figures}
                   for interface, figures in sorted(agents.items())],
        "updated_at": iso(now),
        "day_start": iso(day_start),
        "timezone": timezone,
    }


def current_live_state(settings: Settings) -> LiveState:
    """The live state through the app's Redis connection; not available on any failure."""
    from callcenter.jobs import redis_connection

    try:
        connection = redis_connection(settings)
    except (OSError, RuntimeError) as exc:  # the embedded server could not start
        log.warning("live state unavailable: no Redis connection (%s)", exc)
        return LiveState()
    return read_live(connection)
