"""The alert thresholds of a queue: what the wallboard flags, in colour, with an icon and
words (never colour alone).

A queue's supervisors set them for their queue (``threshold_edits``); a queue nobody set
them for alerts at the defaults, the usual call-center targets: today's service level
below 80 %, a caller waiting longer than the queue's service-level time (20 s: the
"80/20" rule), an abandon rate above 5 %. Kept per queue, not per supervisor: everyone
who watches a queue (its department's supervisors, the administrators) sees the same
alerts, and a VIP line can have stricter ones than the general line.

This module only reads them (the bridge computes every ``queue.update`` with them too),
so it imports nothing of Flask or of the wallboard's other modules.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.calls.models import PbxQueue
from callcenter.wallboard.models import QueueThresholds

DEFAULT_SERVICE_LEVEL_PERCENT = 80
DEFAULT_ABANDON_RATE_PERCENT = 5
#: A queue's service-level time when its row has none (PbxQueue.service_level_s's default).
DEFAULT_SL_THRESHOLD_S = 20

#: Each threshold's allowed whole numbers (inclusive): the API's schema, the form and
#: the service read them from here.
RANGES: dict[str, tuple[int, int]] = {
    "service_level_percent": (1, 100),
    "longest_wait_s": (1, 3600),
    "abandon_rate_percent": (0, 100),
}
FIELDS = tuple(RANGES)


@dataclass(frozen=True)
class Thresholds:
    """The thresholds one queue alerts at; ``custom`` False: the defaults."""

    service_level_percent: int
    longest_wait_s: int
    abandon_rate_percent: int
    custom: bool = False
    updated_at: datetime | None = None
    updated_by_id: int | None = None
    #: What a save must send back to change them (``threshold_edits``); 0: the defaults.
    version: int = 0

    @property
    def sl_target(self) -> float:
        """The service level target as the figures carry it (a fraction)."""
        return self.service_level_percent / 100

    @property
    def abandon_rate_limit(self) -> float:
        return self.abandon_rate_percent / 100

    def values(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in FIELDS}


def sl_threshold_s(queue: PbxQueue | None) -> int:
    """The queue's service-level time (answered within it counts towards the level)."""
    if queue is None or queue.service_level_s is None:
        return DEFAULT_SL_THRESHOLD_S
    return queue.service_level_s


def defaults_for(queue: PbxQueue | None) -> Thresholds:
    return Thresholds(DEFAULT_SERVICE_LEVEL_PERCENT, sl_threshold_s(queue),
                      DEFAULT_ABANDON_RATE_PERCENT)


def from_row(row: QueueThresholds) -> Thresholds:
    return Thresholds(row.service_level_percent, row.longest_wait_s,
                      row.abandon_rate_percent, custom=True, updated_at=row.updated_at,
                      updated_by_id=row.updated_by_id, version=row.version)


def queues_with_thresholds(session: Session, names: Iterable[str]
                           ) -> dict[str, tuple[PbxQueue, Thresholds]]:
    """Queue name -> (its row, its thresholds) for those of ``names`` that have a row, in
    one query (the bridge computes figures with them after every call)."""
    pairs = session.execute(
        select(PbxQueue, QueueThresholds)
        .outerjoin(QueueThresholds, QueueThresholds.queue_id == PbxQueue.id)
        .where(PbxQueue.name.in_(list(names)))).all()
    return {q.name: (q, from_row(t) if t is not None else defaults_for(q)) for q, t in pairs}


def thresholds_of(session: Session, queues: Iterable[PbxQueue]) -> dict[str, Thresholds]:
    """Queue name -> its thresholds, in one query for all of ``queues``."""
    queues = list(queues)
    ids = [q.id for q in queues if q.id is not None]
    rows = {r.queue_id: r for r in session.scalars(
        select(QueueThresholds).where(QueueThresholds.queue_id.in_(ids)))} if ids else {}
    return {q.name: from_row(rows[q.id]) if q.id in rows else defaults_for(q)
            for q in queues}
