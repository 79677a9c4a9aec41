"""Reading the live state the bridge keeps in Redis (telephony/README.md, "Live state").

``cc:live:queues``: queue name -> ``{"queue", "waiting": [{"call_id", "caller_number",
"queued_at"}], "members": [interface, ...]}``; ``cc:live:agents``: interface ->
``{"interface", "name", "state", "reason", "since", "queues": [...]}``. Times are epoch
seconds (or ISO 8601 with a zone). Only the bridge writes these keys; the web only reads.

An entry that is not what the contract says (not JSON, wrong shape, unknown state, a
time that is no time) is skipped, counted and logged; the rest still shows. When Redis
cannot be reached at all the result says so (``available`` False) and the wallboard
shows the call log's figures alone.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import redis

from callcenter.wallboard.figures import AGENT_STATES, to_utc

log = logging.getLogger(__name__)

LIVE_QUEUES = "cc:live:queues"
LIVE_AGENTS = "cc:live:agents"


class GarbledEntry(ValueError):
    """A live-state entry that does not follow the contract; the message says how."""


@dataclass
class LiveState:
    """What the bridge last wrote; ``queues``/``agents`` are None when Redis is unavailable."""

    queues: dict[str, dict[str, Any]] | None = None
    agents: dict[str, dict[str, Any]] | None = None
    #: Entries skipped because they could not be read.
    skipped: int = 0
    skipped_keys: list[str] = field(default_factory=list)

    @property
    def available(self) -> bool:
        return self.queues is not None and self.agents is not None

    def summary(self) -> dict[str, Any]:
        return {"available": self.available, "skipped": self.skipped}


def _text(value: Any, what: str) -> str:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise GarbledEntry(f"{what} is not UTF-8") from exc
    if isinstance(value, str):
        return value
    raise GarbledEntry(f"{what} is not text")


def _object(raw: Any) -> dict[str, Any]:
    try:
        data = json.loads(_text(raw, "value"))
    except (ValueError, RecursionError) as exc:
        raise GarbledEntry("value is not JSON") from exc
    if not isinstance(data, dict):
        raise GarbledEntry("value is not a JSON object")
    return data


def _str_list(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise GarbledEntry(f"{what} is not a list of strings")
    return value


def parse_queue_entry(name: str, raw: Any) -> dict[str, Any]:
    """One ``cc:live:queues`` value, checked; raises GarbledEntry."""
    data = _object(raw)
    if data.get("queue", name) != name:
        raise GarbledEntry(f"queue {data.get('queue')!r} under the field {name!r}")
    waiting = data.get("waiting")
    if waiting is None:
        waiting = []
    if not isinstance(waiting, list):
        raise GarbledEntry("waiting is not a list")
    callers = []
    for item in waiting:
        if not isinstance(item, dict):
            raise GarbledEntry("a waiting caller is not an object")
        call_id, number = item.get("call_id"), item.get("caller_number")
        if not isinstance(call_id, str) or not call_id:
            raise GarbledEntry("a waiting caller has no call_id")
        if number is not None and not isinstance(number, str):
            raise GarbledEntry("a caller_number is not text")
        if to_utc(item.get("queued_at")) is None:
            raise GarbledEntry("a waiting caller has no valid queued_at")
        callers.append({"call_id": call_id, "caller_number": number or "",
                        "queued_at": item["queued_at"]})
    return {"queue": name, "waiting": callers,
            "members": _str_list(data.get("members"), "members")}


def parse_agent_entry(interface: str, raw: Any) -> dict[str, Any]:
    """One ``cc:live:agents`` value, checked; raises GarbledEntry."""
    data = _object(raw)
    if data.get("interface", interface) != interface:
        raise GarbledEntry(f"interface {data.get('interface')!r} under the field {interface!r}")
    state = data.get("state")
    if state not in AGENT_STATES:
        raise GarbledEntry(f"unknown state {state!r}")
    reason, name = data.get("reason"), data.get("name")
    if reason is not None and not isinstance(reason, str):
        raise GarbledEntry("reason is not text")
    if name is not None and not isinstance(name, str):
        raise GarbledEntry("name is not text")
    since = data.get("since")
    if since is not None and to_utc(since) is None:
        raise GarbledEntry("since is not a time")
    return {"interface": interface, "name": name or "", "state": state,
            "reason": reason or None, "since": since,
            "queues": _str_list(data.get("queues"), "queues")}


def _parse_hash(key: str, raw: dict, parse, state: LiveState) -> dict[str, dict[str, Any]]:
    entries = {}
    for raw_field, raw_value in raw.items():
        try:
            name = _text(raw_field, "field")
            entries[name] = parse(name, raw_value)
        except GarbledEntry as exc:
            shown = raw_field[:80] if isinstance(raw_field, str | bytes) else raw_field
            log.warning("live state %s: skipped the entry %r: %s", key, shown, exc)
            state.skipped += 1
            state.skipped_keys.append(f"{key}:{shown!r}")
    return entries


def parse_live(raw_queues: dict, raw_agents: dict) -> LiveState:
    """The live state from the two hashes as HGETALL returns them (bytes or text)."""
    state = LiveState()
    state.queues = _parse_hash(LIVE_QUEUES, raw_queues, parse_queue_entry, state)
    state.agents = _parse_hash(LIVE_AGENTS, raw_agents, parse_agent_entry, state)
    return state


def read_live(connection: redis.Redis | None) -> LiveState:
    """Both hashes, read in one round trip; not ``available`` when Redis cannot be reached."""
    if connection is None:
        return LiveState()
    try:
        pipe = connection.pipeline(transaction=False)
        pipe.hgetall(LIVE_QUEUES)
        pipe.hgetall(LIVE_AGENTS)
        raw_queues, raw_agents = pipe.execute()
    except (redis.RedisError, OSError) as exc:
        log.warning("live state unavailable (Redis: %s); showing the call log's figures only",
                    exc)
        return LiveState()
    return parse_live(raw_queues, raw_agents)
