"""Screen pops: call-state effects for agents, turned into Socket.IO events.

Runs in a thread of its own (``EffectWorker``), so that a slow database never holds the
AMI read loop, and so that pops never wait behind call-log writes. The customer card
is looked up once per call, as soon as the call is first reported (the FastAGI lookup's
CUSTOMER_ID comes tens of milliseconds before the queue rings anyone), and reused for
every agent the call rings, so the pop itself is only a Redis round trip.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from callcenter.calls.cards import caller_card
from callcenter.core.locality import Locality
from callcenter.users.models import User
from telephony.callstate import (
    OUTBOUND,
    CallAnswered,
    CallDismissed,
    CallEnded,
    CallFinished,
    CallRinging,
)

log = logging.getLogger(__name__)

AGENT_EVENTS = {CallRinging: "call.ringing", CallAnswered: "call.answered",
                CallDismissed: "call.dismissed", CallEnded: "call.ended"}
#: Keep the cards of this many recent calls (a call lives minutes; this is hours at 20/s).
CARD_CACHE_SIZE = 5000
DIRECTORY_TTL_S = 30.0
#: A card slower than this is given up on: the pop goes out with the number alone.
CARD_TIMEOUT_S = 1.0


class AgentDirectory:
    """PBX interface -> user, re-read from the database now and then (users change rarely).

    An interface nobody has gets no pop; it is logged once, not on every ring.
    """

    def __init__(self, session_factory: sessionmaker[Session], ttl_s: float = DIRECTORY_TTL_S):
        self.session_factory = session_factory
        self.ttl_s = ttl_s
        self._by_interface: dict[str, tuple[int, str]] = {}
        self._loaded_at = float("-inf")
        self._unknown_logged: set[str] = set()

    def refresh(self) -> None:
        with self.session_factory() as session:
            rows = session.execute(
                select(User.id, User.interface, User.display_name, User.username)
                .where(User.interface.is_not(None), User.active.is_(True))).all()
        self._by_interface = {iface: (uid, display or username)
                              for uid, iface, display, username in rows}
        self._loaded_at = time.monotonic()

    def refresh_if_stale(self) -> None:
        """Re-read the users when ``ttl_s`` has passed (the log thread calls this between
        batches, so no pop and no event-loop step ever waits for the query)."""
        if time.monotonic() - self._loaded_at > self.ttl_s:
            self.refresh()

    def agents(self) -> list[tuple[int, str]]:
        """(user_id, interface) of every active user with a PBX interface."""
        return [(uid, iface) for iface, (uid, _) in self._by_interface.items()]

    def lookup(self, interface: str | None) -> tuple[int, str] | None:
        """The user of ``interface``, from memory; never the database."""
        if not interface:
            return None
        found = self._by_interface.get(interface)
        if found is None and interface not in self._unknown_logged:
            self._unknown_logged.add(interface)
            log.info("no user has the PBX interface %r; its calls get no screen pop",
                     interface[:120])
        return found


class PopSender:
    """Builds and publishes the agent events (contract: telephony/README.md).

    Customer cards are looked up by a small pool of their own threads, started when a
    call is first seen (``prefetch``, from the event loop): a pop never waits behind the
    card of another call, only (rarely) for its own.
    """

    def __init__(self, session_factory: sessionmaker[Session], publisher: Any,
                 directory: AgentDirectory, region: str, *, timezone: str,
                 card_workers: int = 2, ledger: Any = None) -> None:
        self.session_factory = session_factory
        self.publisher = publisher
        self.directory = directory
        #: ``pop_ledger.PopLedger``: what each desk was sent (None: not kept)
        self.ledger = ledger
        #: ``fn(user_id, customer_id, call_id)`` for each pop showing a customer: the
        #: bridge audits, off this thread, those outside the agent's scope
        self.on_customer_shown: Any = None
        self.region = region
        #: Dates the products' warranty state on the card (the call center's today).
        self.locality = Locality(region, timezone)
        #: call_id -> (the number looked up, its card)
        self._cards: OrderedDict[str, tuple[str, Future]] = OrderedDict()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(card_workers, thread_name_prefix="bridge-cards")
        self.stats = {"pops": 0, "no_user": 0, "card_failures": 0}

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def prefetch(self, call_id: str, number: str, name: str) -> None:
        """Start looking up the caller's card (once per call and number); returns at
        once. A click-to-dial call learns its number (CC_NUMBER) after it is first
        reported, so a new number looks the card up again."""
        with self._lock:
            known = self._cards.get(call_id)
            if known is not None and known[0] == number:
                return
            self._cards[call_id] = (number, self._pool.submit(self._lookup, call_id,
                                                              number, name))
            if len(self._cards) > CARD_CACHE_SIZE:
                self._cards.popitem(last=False)

    def forget(self, call_id: str) -> None:
        with self._lock:
            self._cards.pop(call_id, None)

    def _lookup(self, call_id: str, number: str, name: str) -> dict:
        try:
            try:
                return self._card(call_id, number, name)
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
                # the database dropped the connection (a restart, a killed backend): the
                # pool has thrown it away, so once more on a fresh one
                return self._card(call_id, number, name)
        except Exception:
            # A pop without the customer beats no pop: the agent still sees the number.
            log.exception("customer card for call %s failed", call_id)
            self.stats["card_failures"] += 1
            return {"caller": {"number": number, "name": name, "e164": None, "display": None},
                    "customer": None}

    def _card(self, call_id: str, number: str, name: str) -> dict:
        with self.session_factory() as session:
            return caller_card(session, number, name, self.region,
                               today=self.locality.today(), exclude_call_id=call_id)

    def card_for(self, call: Any) -> dict:
        self.prefetch(call.call_id, call.caller_number or "", call.caller_name or "")
        with self._lock:
            known = self._cards.get(call.call_id)
        if known is None:  # evicted between the two lines: look it up here
            return self._lookup(call.call_id, call.caller_number or "", call.caller_name or "")
        return known[1].result(timeout=CARD_TIMEOUT_S)

    def handle(self, effect: Any) -> None:
        kind = type(effect)
        if kind is CallFinished:
            self.forget(effect.summary.call_id)
            return
        name = AGENT_EVENTS.get(kind)
        if name is None:
            return
        user = self.directory.lookup(effect.interface)
        if user is None:
            self.stats["no_user"] += 1
            return
        payload = self.payload(effect)
        customer = payload.get("customer")
        # a customer first shows when the call rings; a click-to-dial call never rings
        # the desk: it pops when the customer answers
        first_shown = kind is CallRinging or (kind is CallAnswered
                                              and effect.call.direction == OUTBOUND)
        if first_shown and isinstance(customer, dict) and self.on_customer_shown:
            self.on_customer_shown(user[0], customer.get("id"), payload["call_id"])
        if self.ledger is not None:
            # before the publish: a publish that fails (Redis down) is still known to be
            # on its way, and the check after the next resync settles it
            self.ledger.record(user[0], name, payload)
        self.publisher.publish(user[0], name, payload)
        self.stats["pops"] += 1

    def payload(self, effect: Any) -> dict:
        call = effect.call
        card = self.card_for(call)
        read_at = effect.read_at
        queued_at = call.queued_at
        answered_at = call.answered_at
        if queued_at is None:
            wait_s = None
        else:
            wait_s = round(max(0.0, (answered_at or read_at) - queued_at), 3)
        summary = getattr(effect, "summary", None)
        return {
            "call_id": call.call_id,
            "ami_read_at": read_at,
            "caller": card["caller"],
            "customer": card["customer"],
            "queue": call.queue,
            "direction": call.direction,
            "wait_s": wait_s,
            "interface": effect.interface,
            "state": call.state,
            "reason": getattr(effect, "reason", None),
            "outcome": getattr(summary, "outcome", None),
            "talk_s": (round(read_at - answered_at, 3)
                       if isinstance(effect, CallEnded) and answered_at else None),
        }
