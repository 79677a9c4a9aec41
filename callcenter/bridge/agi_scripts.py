"""The call center's FastAGI scripts: ``lookup`` and ``ticket_status``.

``agi://host:4573/lookup`` (run before ``Queue()``) sets, from the caller ID:

============== ============================================================
CUSTOMER_ID    the customer's id; empty for an unknown caller
CUSTOMER_NAME  the customer's name made dialplan-safe (``dialplan_safe``: no
               quotes, backslashes, control characters or argument separators,
               at most 40 characters / 80 bytes; Chinese kept)
CUSTOMER_TIER  vip / major / ordinary / small; empty when unknown
QUEUE_PRIORITY for ``Queue()``'s QUEUE_PRIO (higher is served first):
               vip=10, major=5, ordinary=1, small=0; an unknown caller gets 1,
               like an ordinary customer (many "unknown" callers are customers
               on a new phone; small accounts do not outrank them)
OPEN_TICKET_ID the customer's first open ticket as the caller card lists them
               (answers to ``calls.signals.open_tickets_asked``); empty while
               no domain answers (the tickets domain comes later)
WARRANTY_STATE the best state over the customer's installed products
               (in_warranty > expiring > expired > none, see
               ``callcenter.products.warranty.warranty_state``); "none" with no
               products, empty for an unknown caller
============== ============================================================

A failing or slow database never holds the call: after ``lookup_timeout`` seconds
or on an error the caller is treated as unknown and queued with the default
priority (and the failure is logged and counted).

``agi://host:4573/ticket_status`` plays a prompt (``?prompt=<sound>``, default
``enter-ticket-number``), collects DTMF digits until ``#``, ``max_digits`` or a
digit timeout (digits typed during the prompt count), asks the question
``calls.signals.ticket_status_asked`` ("unknown" while no domain answers it) and
sets ``TICKET_NUMBER`` and ``TICKET_STATUS`` (a lower-case word such as ``open``,
``unknown`` or ``no_input``, usable in a sound file name).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from callcenter.bridge.settings import AGIAccess, load_agi_access
from callcenter.calls.cards import open_tickets
from callcenter.calls.signals import ticket_status_asked
from callcenter.core.locality import Locality
from callcenter.core.signals import collect
from callcenter.customers.models import Customer, Tier
from callcenter.customers.services import find_customer_by_phone
from callcenter.products.warranty import warranty_state
from telephony.agi.protocol import dialplan_safe, token_safe
from telephony.agi.server import AGISession, FastAGIServer, Script

log = logging.getLogger(__name__)

#: Asterisk queue priority per customer tier: VIP callers are answered first.
TIER_PRIORITY: dict[Tier, int] = {Tier.VIP: 10, Tier.MAJOR: 5, Tier.ORDINARY: 1,
                                  Tier.SMALL: 0}
UNKNOWN_CALLER_PRIORITY = 1

#: Dates warranty states when no ``today`` is given (tests, scripts); the bridge passes
#: the configured time zone's.
_DEFAULT_LOCALITY = Locality()

_SOUND_NAME = re.compile(r"[A-Za-z0-9_/-]{1,80}\Z")


#: Most favourable first: a customer with any product in warranty is "in_warranty".
WARRANTY_RANK = ("in_warranty", "expiring", "expired", "none")


def newest_open_ticket_id(session: Session, customer_id: int) -> str | None:
    """The id of the first of the customer's open tickets as the caller card lists them
    (``calls.cards.open_tickets``); None when no domain knows one."""
    for ticket in open_tickets(session, customer_id):
        if isinstance(ticket, dict) and ticket.get("id") not in (None, ""):
            return str(ticket["id"])
    return None


def ask_ticket_status(session: Session, ticket_number: str) -> str:
    """The first answer to ``ticket_status_asked`` for the number; "unknown" without one."""
    answers = collect(ticket_status_asked, ticket_number, session=session)
    return str(answers[0]) if answers else "unknown"


@dataclass(frozen=True)
class CallerInfo:
    customer_id: int
    name: str
    tier: str
    priority: int
    open_ticket_id: str
    warranty_state: str


def best_warranty_state(customer: Customer, today: date) -> str:
    """The most favourable warranty state of the customer's products ("none" if none)."""
    states = set()
    for product in customer.products:
        if warranty_state is not None:
            states.add(str(getattr(warranty_state(product, today), "value", "none")))
        elif product.warranty_end is not None:  # pragma: no cover - fallback
            states.add("in_warranty" if product.warranty_end >= today else "expired")
    return next((s for s in WARRANTY_RANK if s in states), "none")


def find_caller(session: Session, number: str, region: str,
                today: date) -> CallerInfo | None:
    """Everything the dialplan needs about the caller, or None for an unknown caller."""
    if not number:
        return None
    customer = find_customer_by_phone(session, number, region=region)
    if customer is None:
        return None
    ticket = newest_open_ticket_id(session, customer.id)
    return CallerInfo(
        customer_id=customer.id,
        name=dialplan_safe(customer.name),
        tier=customer.tier.value,
        priority=TIER_PRIORITY.get(customer.tier, UNKNOWN_CALLER_PRIORITY),
        open_ticket_id=dialplan_safe(ticket) if ticket is not None else "",
        warranty_state=best_warranty_state(customer, today),
    )


class CallCenterScripts:
    """The scripts, with their limits. What other domains add (open tickets, ticket
    status) comes as answers to the calls domain's questions (``calls.signals``)."""

    def __init__(self, *, today: Callable[[], date] = _DEFAULT_LOCALITY.today,
                 lookup_timeout: float = 2.0,
                 digit_timeout_ms: int = 5000, max_digits: int = 12):
        self.today = today
        self.lookup_timeout = lookup_timeout
        self.digit_timeout_ms = digit_timeout_ms
        self.max_digits = max_digits

    def as_mapping(self) -> dict[str, Script]:
        return {"lookup": self.lookup, "ticket_status": self.ticket_status}

    async def lookup(self, agi: AGISession) -> None:
        env = agi.env
        # agi_callerid is "unknown" when there is none; the dialplan passes it as arg 1 too.
        number = env.callerid or (env.args[0].strip() if env.args else "")
        info: CallerInfo | None = None
        try:
            async with asyncio.timeout(self.lookup_timeout):
                info = await agi.run_db(find_caller, number, agi.server.region,
                                        self.today())
        except Exception:
            agi.server.stats["lookup_failed"] += 1
            log.exception("FastAGI lookup of %r failed; treating the caller as unknown",
                          number[:40])
        if info is None:
            values = {"CUSTOMER_ID": "", "CUSTOMER_NAME": "", "CUSTOMER_TIER": "",
                      "QUEUE_PRIORITY": UNKNOWN_CALLER_PRIORITY, "OPEN_TICKET_ID": "",
                      "WARRANTY_STATE": ""}
        else:
            values = {"CUSTOMER_ID": info.customer_id, "CUSTOMER_NAME": info.name,
                      "CUSTOMER_TIER": info.tier, "QUEUE_PRIORITY": info.priority,
                      "OPEN_TICKET_ID": info.open_ticket_id,
                      "WARRANTY_STATE": info.warranty_state}
        for name, value in values.items():
            await agi.set_variable(name, value)
        # Caller-controlled text goes out quoted (quote_arg) and only for the CLI log.
        await agi.verbose(f"lookup {number[:40]} {env.calleridname[:40]} -> "
                          f"customer {values['CUSTOMER_ID'] or 'unknown'}", 3)

    async def collect_digits(self, agi: AGISession, prompt: str) -> str:
        """Digits up to '#', ``max_digits`` or a digit timeout; the prompt can be typed over."""
        digits = ""
        first = await agi.stream_file(prompt, "0123456789*#")
        while True:
            digit = first or await agi.wait_for_digit(self.digit_timeout_ms)
            first = ""
            if digit in ("", "#"):
                return digits
            if digit.isdigit():
                digits += digit
            if len(digits) >= self.max_digits:
                return digits

    async def ticket_status(self, agi: AGISession) -> None:
        prompt = agi.env.params.get("prompt", "")
        if not _SOUND_NAME.match(prompt):
            prompt = "enter-ticket-number"
        await agi.answer()
        number = await self.collect_digits(agi, prompt)
        if not number:
            status = "no_input"
        else:
            try:
                async with asyncio.timeout(self.lookup_timeout):
                    status = await agi.run_db(ask_ticket_status, number)
            except Exception:
                agi.server.stats["lookup_failed"] += 1
                log.exception("FastAGI ticket_status of %r failed", number)
                status = "unknown"
        await agi.set_variable("TICKET_NUMBER", number)
        await agi.set_variable("TICKET_STATUS", token_safe(status))


def create_fastagi_server(session_factory: sessionmaker[Session], *, host: str = "127.0.0.1",
                          port: int = 4573, region: str, timezone: str,
                          scripts: CallCenterScripts | None = None,
                          access: AGIAccess | None = None,
                          **options: Any) -> FastAGIServer:
    """A FastAGI server running ``lookup`` and ``ticket_status`` (not yet listening).

    ``access``: who may connect and how much (``BridgeSettings.agi_access``); when not
    given, read from the environment (``AGI_ALLOWED_PEERS`` ..., loopback by default),
    so a bridge never serves strangers because a caller forgot to pass it. ``options``
    are FastAGIServer's other limits (env_timeout, reply_timeout, max_session_s,
    max_sessions, db_workers, ...) and may override ``access``'s.
    """
    scripts = scripts or CallCenterScripts(today=Locality(region, timezone).today)
    limits = (access or load_agi_access()).server_options()
    limits.update(options)
    return FastAGIServer(scripts.as_mapping(), host=host, port=port,
                         session_factory=session_factory, region=region, **limits)


async def serve_fastagi(host: str, port: int, session_factory: sessionmaker[Session],
                        region: str, timezone: str, **options: Any) -> None:
    """Serve FastAGI until cancelled (for ``asyncio.gather`` with the AMI client)."""
    server = create_fastagi_server(session_factory, host=host, port=port, region=region,
                                   timezone=timezone, **options)
    await server.serve_forever()
