"""No screen pop left open: what each desk shows, checked against the PBX after a reconnect.

A pop stays on an agent's desk until ``call.dismissed`` or ``call.ended`` comes. If the
bridge was away when the call ended (killed, cut from AMI, or Redis was down so the
event could not go out), nobody sends it. So after every resync the bridge compares
each agent's open pops with the calls the PBX lists and sends what is missing:

* a ringing pop of a call that is gone, or that rings the agent no more: ``call.dismissed``;
* an answered pop of a call the agent no longer talks on: ``call.ended`` (the desk
  keeps it for the wrap-up);
* an ended pop that Redis lost (it restarted empty) and whose wrap-up is not saved:
  ``call.ended`` again, so the wrap-up card is not lost.

The open pops come from Redis (``cc:live:agent_calls:<user>``, what a desk gets on
reconnect) and from this process's own ledger of what it sent, which outlives a Redis
that restarted empty (the bridge process survives the outage; its leader term may not).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from callcenter.calls.models import CallRecord
from callcenter.realtime.agent_calls import EXPIRY_S, read_snapshot

log = logging.getLogger(__name__)

RINGING, ANSWERED, ENDED, DISMISSED = ("call.ringing", "call.answered", "call.ended",
                                       "call.dismissed")
#: Fields of a kept event that are the transport's, not the call's.
_TRANSPORT = ("seq", "sent_at", "event")


@dataclass(frozen=True)
class LiveLegs:
    """Right after a resync: call_id -> {interface: "ringing" | "connected"} of every call
    the PBX lists (a call with no agent leg maps to {})."""

    legs: dict[str, dict[str, str]]
    listed_at: float


class PopLedger:
    """user_id -> call_id -> the last call event this process sent (or tried to)."""

    def __init__(self) -> None:
        self._open: dict[int, dict[str, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def record(self, user_id: int, event: str, body: dict[str, Any]) -> None:
        call_id = str(body.get("call_id"))
        with self._lock:
            calls = self._open.setdefault(int(user_id), {})
            if event == DISMISSED:
                calls.pop(call_id, None)
            else:
                calls[call_id] = {**body, "event": event, "sent_at": time.time()}

    def of(self, user_id: int) -> dict[str, dict[str, Any]]:
        now = time.time()
        with self._lock:
            calls = self._open.get(int(user_id), {})
            for call_id in [c for c, e in calls.items()
                            if e["sent_at"] + EXPIRY_S.get(e["event"], 3600) < now]:
                del calls[call_id]
            return dict(calls)


def stale_pops(open_pops: dict[str, dict[str, Any]], interface: str, live: LiveLegs,
               in_redis: dict[str, str], wrapped_up: set[str]) -> list[tuple[str, dict]]:
    """(event to send, payload) for each open pop the PBX's state contradicts, or whose
    last event never reached Redis (``in_redis``: call_id -> the event Redis holds)."""
    out = []
    for call_id, entry in open_pops.items():
        event = entry.get("event")
        delivered = in_redis.get(call_id) == event
        legs = live.legs.get(call_id)
        status = legs.get(interface) if legs is not None else None
        body = {k: v for k, v in entry.items() if k not in _TRANSPORT}
        body["call_id"] = call_id
        body["ami_read_at"] = live.listed_at
        if event == RINGING:
            if status == "ringing":
                if not delivered:
                    out.append((RINGING, body))
            elif status == "connected":
                out.append((ANSWERED, {**body, "state": "connected"}))
            else:
                reason = "caller_left" if legs is None else (
                    "answered_elsewhere" if any(s == "connected" for s in legs.values())
                    else "no_answer")
                out.append((DISMISSED, {**body, "reason": reason}))
        elif event == ANSWERED:
            if status != "connected":
                out.append((ENDED, {**body, "state": "ended",
                                    "reason": "hangup" if legs is None else "transferred"}))
            elif not delivered:
                out.append((ANSWERED, body))
        elif event == ENDED and not delivered and call_id not in wrapped_up:
            out.append((ENDED, body))  # it never got out, or Redis lost it: the wrap-up
    return out


class PopChecker:
    """Runs on the pop thread after each resync (in order after the resync's pops)."""

    def __init__(self, session_factory: sessionmaker[Session], redis_client: Any,
                 publisher: Any, ledger: PopLedger) -> None:
        self.session_factory = session_factory
        self.redis = redis_client
        self.publisher = publisher
        self.ledger = ledger
        self.stats = {"checks": 0, "closed": 0}

    def check(self, live: LiveLegs, agents: list[tuple[int, str]]) -> int:
        """``agents``: (user_id, interface) of every user with a PBX interface."""
        plans = []
        for user_id, interface in agents:
            in_redis = {str(e.get("call_id")): e
                        for e in read_snapshot(self.redis, user_id)["calls"]}
            # the ledger's entry is the newer one when both have the call: it was
            # recorded before its publish, which may have failed
            open_pops = {**in_redis, **self.ledger.of(user_id)}
            if open_pops:
                plans.append((user_id, interface, open_pops,
                              {c: str(e.get("event")) for c, e in in_redis.items()}))
        ended = {c for _, _, pops, _ in plans for c, e in pops.items() if e.get("event") == ENDED}
        wrapped = self._wrapped_up(ended)
        sent = 0
        for user_id, interface, open_pops, in_redis in plans:
            for event, payload in stale_pops(open_pops, interface, live, in_redis, wrapped):
                self.ledger.record(user_id, event, payload)
                self.publisher.publish(user_id, event, payload)
                sent += 1
        self.stats["checks"] += 1
        self.stats["closed"] += sent
        if sent:
            log.info("after the resync: %d screen pops brought in line with the PBX", sent)
        return sent

    def _wrapped_up(self, call_ids: set[str]) -> set[str]:
        if not call_ids:
            return set()
        with self.session_factory() as session:
            return set(session.scalars(select(CallRecord.call_id).where(
                CallRecord.call_id.in_(list(call_ids)), CallRecord.wrapup_at.is_not(None))))
