"""Live events for the browsers, from any process (the bridge, jobs, the web).

No Flask app is needed: the events go through the Socket.IO message queue (a Redis
pub/sub channel, ``live.channel_for``) to every ``callcenter serve`` process, which
hands them to the browsers in the room.

A domain registers each event it sends once, in its ``init_app``, with the kind of room
it goes to (``register_event``): a user (``agent:<user_id>``), a department
(``department:<id>``: its users, the supervisors of it and of its parents, admins) or a
queue (``queue:<name>``: the supervisors who see it). An event nobody registered is
refused, so a typo cannot send to nobody.

    publisher = LivePublisher(redis.Redis.from_url(url), url)
    publisher.emit("call.ringing", user_id, {"call_id": ..., "ami_read_at": ..., ...})
    publisher.emit("queue.update", ["support", "sales"], {...})
    publisher.emit("ticket.escalated", department_id, {...})

The screen pop is the hot path: an event kept in the user's live calls
(``live_calls="keep"``/``"drop"``: the call events) is one Lua round trip
(``agent_calls.record_agent_event``: seq and the live hash) and one ``PUBLISH``.
"""

from __future__ import annotations

import enum
import threading
import time
from dataclasses import dataclass
from typing import Any

import socketio

from callcenter.realtime.agent_calls import record_agent_event
from callcenter.realtime.live import (
    agent_room,
    channel_for,
    department_room,
    queue_room,
)


class Audience(enum.StrEnum):
    """The kind of room an event goes to, and what names the room."""

    USER = "user"              # a user id: agent:<user_id>
    DEPARTMENT = "department"  # a department id: department:<id>
    QUEUE = "queue"            # a queue name: queue:<name>


_ROOMS = {Audience.USER: agent_room, Audience.DEPARTMENT: department_room,
          Audience.QUEUE: queue_room}


@dataclass(frozen=True)
class LiveEvent:
    """A registered event: its name (``"<domain thing>.<what happened>"``) and rooms."""

    name: str
    audience: Audience
    #: For user events about a call (the payload has ``call_id``): "keep" makes the event
    #: the call's entry in the user's live calls (what a reconnecting desk is shown),
    #: "drop" removes the call; both count ``seq``. None: sent as is, not kept.
    live_calls: str | None = None


_events: dict[str, LiveEvent] = {}
_events_lock = threading.Lock()


def register_event(name: str, audience: Audience, *, live_calls: str | None = None
                   ) -> LiveEvent:
    """Let ``name`` be emitted to rooms of ``audience``. Registering the same again is a
    no-op (``init_app`` may run in every process); a different meaning is a ValueError."""
    event = LiveEvent(name, Audience(audience), live_calls)
    if live_calls not in (None, "keep", "drop"):
        raise ValueError(f"live_calls: 'keep', 'drop' or None, not {live_calls!r}")
    if live_calls is not None and event.audience != Audience.USER:
        raise ValueError("only a user's events are kept in their live calls")
    with _events_lock:
        known = _events.setdefault(name, event)
    if known != event:
        raise ValueError(f"the live event {name!r} is registered already as {known}")
    return known


def registered_events() -> dict[str, LiveEvent]:
    return dict(_events)


def live_event(name: str) -> LiveEvent:
    """The registration of ``name``; ValueError for an event nobody registered."""
    event = _events.get(name)
    if event is None:
        raise ValueError(f"unknown live event {name!r}; registered: "
                         f"{', '.join(sorted(_events)) or 'none'}")
    return event


def agent_event_name(event: str) -> str:
    """``"ringing"`` or ``"call.ringing"`` -> ``"call.ringing"``; ValueError unless it is
    a registered user event."""
    name = event if event.startswith("call.") else f"call.{event}"
    if live_event(name).audience != Audience.USER:
        raise ValueError(f"{name!r} is not an event for a user")
    return name


def _room(audience: Audience, target: Any) -> str:
    if audience == Audience.QUEUE:
        if not isinstance(target, str) or not target:
            raise ValueError(f"a queue event goes to a queue name, not {target!r}")
    elif not isinstance(target, int) or isinstance(target, bool):
        raise ValueError(f"a {audience} event goes to a {audience} id, not {target!r}")
    return _ROOMS[audience](target)


class LivePublisher:
    """Sends registered live events. Thread-safe; keep one per process.

    ``redis_client`` holds the live state; ``redis_url`` is the Socket.IO message queue
    (the same Redis as the web servers' ``REDIS_URL``). ``manager`` replaces the
    write-only ``socketio.RedisManager`` (tests). Creating one initialises the domains
    (idempotent), so every domain's events are registered.
    """

    def __init__(self, redis_client, redis_url: str, *, channel: str | None = None,
                 manager: Any = None):
        from callcenter.core.domains import init_domains
        init_domains()
        self.redis = redis_client
        self.manager = manager or socketio.RedisManager(
            redis_url, channel=channel or channel_for(redis_url), write_only=True)

    def emit(self, event: str, to: Any, payload: dict[str, Any]) -> dict[str, Any]:
        """Send ``event`` to the room of ``to`` (a user id, a department id or a queue
        name, as the event was registered), or to several (a list: a client in more
        than one of the rooms gets it once). Returns the event as sent: ``payload`` with
        ``sent_at`` and, for an event kept in the user's live calls, ``seq`` and
        ``event`` (its name: a snapshot must tell a ringing call from an ended one)."""
        spec = live_event(event)
        targets = list(to) if isinstance(to, list | tuple | set | frozenset) else [to]
        rooms = [_room(spec.audience, target) for target in targets]
        now = time.time()
        if spec.live_calls is None:
            message = {**payload, "sent_at": now}
        else:
            if len(targets) != 1:
                raise ValueError(f"{event!r} counts per user: send it to one user")
            if "call_id" not in payload:
                raise ValueError(f"{event!r} needs a call_id")
            body = {k: v for k, v in payload.items() if k not in ("seq", "sent_at")}
            body["call_id"] = str(body["call_id"])
            body["event"] = spec.name
            body["sent_at"] = now
            seq, run = record_agent_event(self.redis, targets[0], spec.name, body,
                                          keep=spec.live_calls == "keep", now=now)
            message = {"seq": seq, "seq_run": run, **body}
        if rooms:
            self.manager.emit(spec.name, message, namespace="/",
                              room=rooms[0] if len(rooms) == 1 else rooms)
        return message

    def publish(self, user_id: int, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        """A user's event by its short name too (``"ringing"``): ``emit`` to ``user_id``."""
        return self.emit(agent_event_name(event), int(user_id), payload)


#: The name the bridge and the tests have used; the same class.
AgentEventPublisher = LivePublisher

_publishers: dict[str, LivePublisher] = {}
_publishers_lock = threading.Lock()


def publisher_for(settings: Any) -> LivePublisher:
    """The process's LivePublisher for the Redis ``settings`` name (one per URL: the
    web app, a worker and the bridge each keep theirs)."""
    from callcenter.jobs import redis_connection, redis_url

    url = redis_url(settings)
    with _publishers_lock:
        if url not in _publishers:
            _publishers[url] = LivePublisher(redis_connection(settings), url)
        return _publishers[url]
