"""What the live state does when other domains signal (connected by ``init_app``)."""

from __future__ import annotations

import logging
from typing import Any

import redis

from callcenter.config import current_settings
from callcenter.realtime.publish import publisher_for

log = logging.getLogger(__name__)

#: The reason of the ``call.dismissed`` a saved wrap-up sends.
WRAPPED_UP = "wrapped_up"


def drop_wrapped_up_pop(call_id: str, *, user_id: int, **_: Any) -> None:
    """``calls.wrapped-up``: a saved wrap-up closes the agent's pop on every screen they
    have open, at once (``call.dismissed``, which also leaves their live calls).

    Runs after the wrap-up's commit: in the web app for the agent's own (its settings
    name the Redis), in the worker for the default wrap-up of a call left unsaved (the
    worker's). Before, the worker's left the pop to expire, an hour later: an agent
    away for a while came back to a desk of dozens of calls already wrapped up.
    """
    try:
        publisher_for(current_settings()).publish(
            user_id, "call.dismissed", {"call_id": call_id, "reason": WRAPPED_UP})
    except redis.RedisError as exc:  # the entry's expiry removes it later anyway
        log.warning("could not drop the wrapped-up call %s from the live pops: %s",
                    call_id, exc)
