"""The wallboard's view of the live state the bridge keeps in Redis.

The keys and the shape of each entry are the contract's (``callcenter.realtime.live``:
``QUEUES_KEY`` -> ``LiveQueue``, ``AGENTS_KEY`` -> ``LiveAgent``, checked by its
``parse_queue_entry`` / ``parse_agent_entry``). Only the bridge writes them.

An entry that is not what the contract says (not JSON, wrong shape, unknown state, a
time that is no time) is skipped, counted and logged; the rest still shows. When Redis
cannot be reached at all the result says so (``available`` False) and the wallboard
shows the call log's figures alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import redis

from callcenter.realtime.live import (
    AGENTS_KEY,
    QUEUES_KEY,
    GarbledEntry,
    LiveAgent,
    LiveQueue,
    decode_text,
    parse_agent_entry,
    parse_queue_entry,
    read_live_hashes,
)

log = logging.getLogger(__name__)


@dataclass
class LiveState:
    """What the bridge last wrote; ``queues``/``agents`` are None when Redis is unavailable."""

    queues: dict[str, LiveQueue] | None = None
    agents: dict[str, LiveAgent] | None = None
    #: Entries skipped because they could not be read.
    skipped: int = 0
    skipped_keys: list[str] = field(default_factory=list)

    @property
    def available(self) -> bool:
        return self.queues is not None and self.agents is not None

    def summary(self) -> dict[str, Any]:
        return {"available": self.available, "skipped": self.skipped}


def _parse_hash(key: str, raw: dict, parse, state: LiveState) -> dict[str, Any]:
    entries = {}
    for raw_field, raw_value in raw.items():
        try:
            name = decode_text(raw_field, "field")
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
    state.queues = _parse_hash(QUEUES_KEY, raw_queues, parse_queue_entry, state)
    state.agents = _parse_hash(AGENTS_KEY, raw_agents, parse_agent_entry, state)
    return state


def read_live(connection: redis.Redis | None) -> LiveState:
    """Both hashes, read in one round trip; not ``available`` when Redis cannot be reached."""
    if connection is None:
        return LiveState()
    try:
        raw_queues, raw_agents = read_live_hashes(connection)
    except (redis.RedisError, OSError) as exc:
        log.warning("live state unavailable (Redis: %s); showing the call log's figures only",
                    exc)
        return LiveState()
    return parse_live(raw_queues, raw_agents)
