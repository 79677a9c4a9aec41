"""Setting a queue's alert thresholds (``callcenter.wallboard.thresholds`` says what they
are and what they default to).

Who: whoever has the wallboard (supervisors, administrators), for the queues on their
wallboard: a supervisor for the queues of their department and the departments below
it, an administrator (or scope ``all``) for every queue. A queue outside that is "not
found", like one that does not exist. Every supervisor of a queue sees and changes the
same thresholds, and the wallboards of everyone watching the queue show a change at once
(a ``queue.update`` after the commit).

Two supervisors editing the same queue: each save sends back the ``version`` it read (0:
the defaults, no row), and one holding an old version is refused with
``wallboard.thresholds_stale`` (409, carrying the current version), nothing changed: a
supervisor who set 85 % expects to be told that a colleague set 90 % meanwhile, not to
overwrite it unseen (the house rule for edits, ``callcenter.core.versions``). The check
is one conditional statement (an ``UPDATE ... WHERE version = :v``, an ``INSERT ... ON
CONFLICT DO NOTHING`` from the defaults), so of parallel saves holding one version
exactly one wins on both backends. A save without a version (a script that means
"whatever is there") still bumps it, in one upsert: the last to save wins.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from callcenter.calls.models import PbxQueue
from callcenter.config import Settings
from callcenter.core.errors import (
    NotFound,
    PermissionDenied,
    Problem,
    StaleVersion,
    ValidationError,
)
from callcenter.db import after_commit
from callcenter.realtime.publish import publisher_for
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
                   *, version: int | None = None, settings: Settings | None = None
                   ) -> tuple[PbxQueue, Thresholds]:
    """Save the queue's thresholds (all three: ``service_level_percent``,
    ``longest_wait_s``, ``abandon_rate_percent``; whole numbers, or their text from a
    form). ``version``: the one the client read (0: it saw the defaults); an older one
    raises StaleVersion (nothing changed); None: whatever is there is replaced. With
    ``settings``, the queue's figures go to its wallboards after commit."""
    queue = _queue(session, actor, queue_name)
    values = check_values(data)
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)
                                or version < 0):
        raise ValidationError({"version": Problem("whole_number", {"min": 0})})
    saved = {**values, "updated_by_id": actor.id, "updated_at": datetime.now(UTC)}
    table = QueueThresholds.__table__
    if version is None:
        stmt = _insert(session, table).values(queue_id=queue.id, version=1, **saved)
        session.execute(stmt.on_conflict_do_update(
            index_elements=[table.c.queue_id],
            set_={**saved, "version": table.c.version + 1}))
    elif version == 0:
        stmt = _insert(session, table).values(queue_id=queue.id, version=1, **saved)
        # RETURNING, not rowcount: through SQLAlchemy, psycopg's rowcount of this INSERT
        # is -1 whether it inserted or not.
        won = session.execute(stmt.on_conflict_do_nothing(
            index_elements=[table.c.queue_id]).returning(table.c.version)).first() is not None
        _claimed_or_stale(session, queue, won)
    else:
        won = session.execute(
            update(table).where(table.c.queue_id == queue.id, table.c.version == version)
            .values(**saved, version=version + 1)
            .returning(table.c.version)).first() is not None
        _claimed_or_stale(session, queue, won)
    # The statements bypassed the ORM: what it may hold of the row is stale.
    if (row := session.get(QueueThresholds, queue.id)) is not None:
        session.expire(row)
    session.flush()
    _announce(session, settings, queue)
    return queue, thresholds_of(session, [queue])[queue.name]


def _insert(session: Session, table: Any) -> Any:
    """The dialect's INSERT, which has ``on_conflict_do_...`` (both backends have it)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def _claimed_or_stale(session: Session, queue: PbxQueue, won: bool) -> None:
    if not won:
        current = session.scalar(select(QueueThresholds.version)
                                 .where(QueueThresholds.queue_id == queue.id))
        raise StaleVersion("wallboard.thresholds_stale", current_version=current or 0)


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
        now, settings.timezone), now=now, live=live.queues if live.available else None,
        region=settings.default_phone_region)

    def send() -> None:
        try:
            publisher = publisher_for(settings)
            for row in figures:
                publisher.emit("queue.update", row["queue"], row)
        except Exception as exc:  # noqa: BLE001 - saved; the next update or reload shows it
            log.warning("wallboard thresholds saved; the live update was not sent (%s)", exc)

    after_commit(session, send)


def thresholds_dict(queue: PbxQueue, limits: Thresholds) -> dict[str, Any]:
    """The fields of the API's ``WallboardThresholds``."""
    return {"queue": queue.name, "display_name": queue.display_name or queue.name,
            "sl_threshold_s": queue.service_level_s,
            **limits.values(), "custom": limits.custom, "updated_at": limits.updated_at,
            "version": limits.version}

