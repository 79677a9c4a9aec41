"""The low-stock live notice: ``stock.low`` to the station's department room when a
decrease (an issue, a transfer out, a negative adjustment) takes a part's quantity below
its ``low_threshold``. Sent after the commit; a Redis failure is logged, never raised
(the stock list shows ``low`` anyway)."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from callcenter.config import Settings
from callcenter.db import after_commit

log = logging.getLogger(__name__)

LOW_STOCK_EVENT = "stock.low"


def register_events() -> None:
    """Called by the repairs domain's ``init_app`` (every process, once)."""
    from callcenter.realtime.publish import Audience, register_event

    register_event(LOW_STOCK_EVENT, Audience.DEPARTMENT)


def announce_low(session: Session, settings: Settings | None, *, station, part,
                 quantity: int, threshold: int) -> None:
    """Register the notice for after the commit (nothing without a department or
    settings to reach Redis with)."""
    if settings is None or station.department_id is None:
        return
    payload = {"station_id": station.id, "station": station.name, "part_id": part.id,
               "sku": part.sku, "name": part.name, "quantity": quantity,
               "low_threshold": threshold, "department_id": station.department_id}
    after_commit(session, lambda: publish(LOW_STOCK_EVENT, station.department_id, payload,
                                          settings))


_publishers: dict[str, Any] = {}


def publish(event: str, to: Any, payload: dict[str, Any], settings: Settings) -> None:
    """Emit a live event; a Redis failure is logged, never raised (the data is saved)."""
    from callcenter.jobs import redis_connection, redis_url
    from callcenter.realtime.publish import LivePublisher
    try:
        url = redis_url(settings)
        if url not in _publishers:
            _publishers[url] = LivePublisher(redis_connection(settings), url)
        _publishers[url].emit(event, to, payload)
    except Exception as exc:  # noqa: BLE001 - a live update is best effort
        log.warning("live event %s for %s not sent: %s", event, to, exc)
