"""Setting a queue's alert thresholds (``callcenter.wallboard.thresholds`` says what they
are and what they default to).

Who: whoever has the wallboard (supervisors, administrators), for the queues on their
wallboard: a supervisor for the queues of their department and the departments below
it, an administrator (or scope ``all``) for every queue. A queue outside that is "not
found", like one that does not exist. Every supervisor of a queue sees and changes the
same thresholds; the last to save wins, and the wallboards of everyone watching the
queue show the change at once (a ``queue.update`` after the commit).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from callcenter.calls.models import PbxQueue
from callcenter.config import Settings
from callcenter.core.errors import NotFound, PermissionDenied, Problem, ValidationError
from callcenter.db import after_commit
from callcenter.users.models import User
from callcenter.users.permissions import Permission, has_permission
from callcenter.wallboard.figures import local_day_start, queue_figures
from callcenter.wallboard.models import QueueThresholds
from callcenter.wallboard.services import current_live_state, visible_queues
from callcenter.wallboard.thresholds import FIELDS, RANGES, Thresholds, thresholds_of

log = logging.getLogger(__name__)


class QueueNotFound(NotFound):
    entity = "queue"


def _require(actor: User) -> None:
    if not has_permission(actor.role, Permission.WALLBOARD_VIEW):
        raise PermissionDenied(Permission.WALLBOARD_VIEW.value, actor.role.value)


def queue_thresholds(session: Session, actor: User) -> list[tuple[PbxQueue, Thresholds]]:
    """The actor's queues (as on their wallboard), each with its thresholds."""
    _require(actor)
    queues = visible_queues(session, actor)
    limits = thresholds_of(session, queues)
    return [(q, limits[q.name]) for q in queues]


def _queue(session: Session, actor: User, name: str) -> PbxQueue:
    _require(actor)
    for queue in visible_queues(session, actor):
        if queue.name == name:
            return queue
    raise QueueNotFound(name)


def check_values(data: Mapping[str, Any]) -> dict[str, int]:
    """The three thresholds as whole numbers in their ranges; ValidationError naming
    each one that is missing or out of range (all of them at once)."""
    errors: dict[str, Problem] = {}
    values: dict[str, int] = {}
    for name in FIELDS:
        low, high = RANGES[name]
        value = data.get(name)
        if isinstance(value, str):
            text = value.strip()
            value = int(text) if text.isdigit() and len(text) < 10 else value
        if value is None or value == "":
            errors[name] = Problem("required")
        elif isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            errors[name] = Problem("whole_number", {"min": low, "max": high})
        else:
            values[name] = value
    if errors:
        raise ValidationError(errors)
    return values


def set_thresholds(session: Session, actor: User, queue_name: str, data: Mapping[str, Any],
                   *, settings: Settings | None = None) -> tuple[PbxQueue, Thresholds]:
    """Save the queue's thresholds (all three: ``service_level_percent``,
    ``longest_wait_s``, ``abandon_rate_percent``; whole numbers, or their text from a
    form). With ``settings``, the queue's figures go to its wallboards after commit."""
    queue = _queue(session, actor, queue_name)
    values = check_values(data)
    row = session.get(QueueThresholds, queue.id)
    if row is None:
        row = QueueThresholds(queue_id=queue.id)
        session.add(row)
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_by_id = actor.id
    row.updated_at = datetime.now(UTC)
    session.flush()
    _announce(session, settings, queue)
    return queue, thresholds_of(session, [queue])[queue.name]


def reset_thresholds(session: Session, actor: User, queue_name: str, *,
                     settings: Settings | None = None) -> tuple[PbxQueue, Thresholds]:
    """Back to the defaults (the queue's own row removed)."""
    queue = _queue(session, actor, queue_name)
    session.execute(delete(QueueThresholds).where(QueueThresholds.queue_id == queue.id))
    session.flush()
    _announce(session, settings, queue)
    return queue, thresholds_of(session, [queue])[queue.name]


def _announce(session: Session, settings: Settings | None, queue: PbxQueue) -> None:
    """The queue's figures with the new thresholds, computed now (in this unit of work)
    and sent to its room once it committed: every wallboard of the queue re-colours."""
    if settings is None:
        return
    now = datetime.now(UTC)
    live = current_live_state(settings)
    figures = queue_figures(session, [queue.name], day_start=local_day_start(
        now, settings.timezone), now=now, live=live.queues if live.available else None)

    def send() -> None:
        try:
            publisher = _publisher(settings)
            for row in figures:
                publisher.emit("queue.update", row["queue"], row)
        except Exception as exc:  # noqa: BLE001 - saved; the next update or reload shows it
            log.warning("wallboard thresholds saved; the live update was not sent (%s)", exc)

    after_commit(session, send)


_publishers: dict[str, Any] = {}


def _publisher(settings: Settings) -> Any:
    """One LivePublisher per Redis URL in this process."""
    from callcenter.jobs import redis_connection, redis_url
    from callcenter.realtime.publish import LivePublisher

    url = redis_url(settings)
    if url not in _publishers:
        _publishers[url] = LivePublisher(redis_connection(settings), url)
    return _publishers[url]


def thresholds_dict(queue: PbxQueue, limits: Thresholds) -> dict[str, Any]:
    """The fields of the API's ``WallboardThresholds``."""
    return {"queue": queue.name, "display_name": queue.display_name or queue.name,
            "sl_threshold_s": queue.service_level_s,
            **limits.values(), "custom": limits.custom, "updated_at": limits.updated_at}

