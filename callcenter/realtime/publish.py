"""Emitting live events from outside the web server (the telephony bridge, jobs).

No Flask app is needed: the events go through the Socket.IO message queue (a Redis
pub/sub channel) to every ``callcenter serve`` process, which hands them to the
browsers in the room. This is the screen-pop hot path: one Lua round trip keeps the
counter and the live hash (``callcenter.realtime.live``), one ``PUBLISH`` sends it.

    publisher = AgentEventPublisher(redis.Redis.from_url(url), url)
    publisher.publish(user_id, "call.ringing", {"call_id": ..., "ami_read_at": ..., ...})
    publisher.publish_supervisor("support", "queue.update", {...})
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs, urlparse

import socketio

from callcenter.realtime.live import agent_room, queue_room, record_agent_event

#: Flask-SocketIO's default channel, used as is for Redis database 0.
CHANNEL = "flask-socketio"


def channel_for(redis_url: str) -> str:
    """The Socket.IO message-queue channel for a REDIS_URL.

    Redis pub/sub ignores the database number, so two installations (or test runs) on
    one Redis server with different database numbers would see each other's pops on one
    channel. The channel therefore carries the database number (but 0, where it is
    Flask-SocketIO's default, so a plain setup stays compatible with other publishers).
    """
    parsed = urlparse(redis_url)
    db = parse_qs(parsed.query).get("db", [""])[0]
    if not db and parsed.scheme in ("redis", "rediss"):  # unix:// paths are socket files
        db = parsed.path.strip("/")
    db = db or "0"
    return CHANNEL if db == "0" else f"{CHANNEL}:db{db}"

AGENT_EVENTS = ("call.ringing", "call.answered", "call.dismissed", "call.ended")
SUPERVISOR_EVENTS = ("queue.update", "agent.update")


def agent_event_name(event: str) -> str:
    """``"ringing"`` or ``"call.ringing"`` -> ``"call.ringing"``; ValueError otherwise."""
    name = event if event.startswith("call.") else f"call.{event}"
    if name not in AGENT_EVENTS:
        raise ValueError(f"unknown agent event {event!r}; one of {', '.join(AGENT_EVENTS)}")
    return name


class AgentEventPublisher:
    """Sends agent and supervisor events. Thread-safe; keep one per process.

    ``redis_client`` holds the live state; ``redis_url`` is the Socket.IO message queue
    (the same Redis as the web servers' ``REDIS_URL``). ``manager`` replaces the
    write-only ``socketio.RedisManager`` (tests).
    """

    def __init__(self, redis_client, redis_url: str, *, channel: str | None = None,
                 manager: Any = None):
        self.redis = redis_client
        self.manager = manager or socketio.RedisManager(
            redis_url, channel=channel or channel_for(redis_url), write_only=True)

    def publish(self, user_id: int, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Emit an agent event to ``agent:<user_id>``; returns it as sent (with seq, sent_at).

        ``payload`` is the event as in the contract (JSON-ready, with ``call_id``);
        ``seq``, ``sent_at`` and ``event`` (the event's name) are set here.
        ringing/answered/ended become the call's entry in the agent's live calls,
        dismissed removes it.
        """
        name = agent_event_name(event)
        if "call_id" not in payload:
            raise ValueError("an agent event needs a call_id")
        body = {k: v for k, v in payload.items() if k not in ("seq", "sent_at")}
        body["call_id"] = str(body["call_id"])
        # Which event this is: a snapshot holds the latest event of each call, and the
        # desk must tell a ringing call from an answered or ended one.
        body["event"] = name
        now = time.time()
        body["sent_at"] = now
        seq = record_agent_event(self.redis, user_id, name, body, now=now)
        message = {"seq": seq, **body}
        self.manager.emit(name, message, namespace="/", room=agent_room(user_id))
        return message

    def publish_supervisor(self, queue: str | Iterable[str], event: str,
                           payload: dict[str, Any]) -> dict[str, Any]:
        """Emit ``queue.update`` / ``agent.update`` to ``queue:<queue>`` (or several queues:
        a supervisor in more than one of them gets it once)."""
        if event not in SUPERVISOR_EVENTS:
            raise ValueError(f"unknown supervisor event {event!r}; "
                             f"one of {', '.join(SUPERVISOR_EVENTS)}")
        queues = [queue] if isinstance(queue, str) else list(queue)
        if not queues:
            return dict(payload)
        message = {**payload, "sent_at": time.time()}
        rooms = [queue_room(q) for q in queues]
        self.manager.emit(event, message, namespace="/",
                          room=rooms[0] if len(rooms) == 1 else rooms)
        return message
