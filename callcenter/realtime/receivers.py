"""What the live state does when other domains signal (connected by ``init_app``)."""

from __future__ import annotations

import logging
from typing import Any

import redis
from flask import current_app, has_app_context

from callcenter.realtime.agent_calls import remove_agent_call

log = logging.getLogger(__name__)


def drop_wrapped_up_pop(call_id: str, *, user_id: int, **_: Any) -> None:
    """``calls.wrapped-up``: a saved wrap-up closes the agent's pop, also on their other
    screens' next snapshot.

    Runs after the wrap-up's commit, in the request that saved it: the app's settings
    name the Redis. Outside an app (no process saves wrap-ups there today) nothing says
    which Redis holds the pop, so it is left to its expiry (``agent_calls.EXPIRY_S``).
    """
    if not has_app_context():
        log.warning("wrap-up of call %s saved outside the web app: its pop is left to "
                    "expire", call_id)
        return
    from callcenter.jobs import redis_connection

    try:
        remove_agent_call(redis_connection(current_app.config["SETTINGS"]), user_id, call_id)
    except redis.RedisError as exc:  # the entry's expiry removes it later anyway
        log.warning("could not drop the wrapped-up call %s from the live pops: %s",
                    call_id, exc)
