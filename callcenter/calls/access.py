"""The call as a reason to see a caller outside one's scope.

Rule (docs/architecture.md, "Access is checked in SQL"): scopes decide which customers a
user sees, but calls are not routed by scope: a queue rings whichever agent is free. So
the agent rung for a call may

- see that caller's card in the screen pop, for that call (the bridge builds it,
  ``callcenter.calls.cards``, and audits each pop of a customer outside the agent's
  scope: ``audit_pops_outside_scope``);
- open that customer's page through the call (``/customers/<id>?call=<call_id>``, the
  card's ``url``);
- save the call's wrap-up (``calls.services.save_wrapup``)

while the call is theirs: it rings them or they answered it (the bridge's live entry in
Redis, ``callcenter.realtime.agent_calls``), or they talked to the caller (the call
log's agent), until the wrap-up is saved or ``CALL_ACCESS_HOURS`` (24 h) have passed
since the call started. Each such access outside the user's normal scope is one row in
the audit log (``callcenter.audit``). Without the call, or once it is over, the customer
is "not found" again, exactly like one that does not exist.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.calls.models import CallRecord
from callcenter.calls.recording import LIMITS
from callcenter.calls.services import handled_by
from callcenter.core.fields import clean_printable
from callcenter.customers.models import Customer
from callcenter.customers.services import visible_to
from callcenter.realtime.agent_calls import agent_call
from callcenter.users.models import User

log = logging.getLogger(__name__)

#: How long after its start a call still opens its caller's page (``CALL_ACCESS_HOURS``).
DEFAULT_ACCESS_HOURS = 24


def in_scope(session: Session, user: User, customer_id: int) -> bool:
    """Whether ``user`` sees the customer without any call."""
    return session.scalar(select(Customer.id).where(Customer.id == customer_id,
                                                    visible_to(user))) is not None


def audit_pops_outside_scope(session: Session, pops: list[tuple[int, int, str]]) -> int:
    """Audit rows for screen pops that showed an agent a customer outside their scope
    (``(user_id, customer_id, call_id)`` each, as the bridge sent them; one row per
    user, customer and call however often it rang). Returns the rows written."""
    from callcenter.audit.models import AuditEntry
    from callcenter.audit.services import record

    written = 0
    for user_id, customer_id, call_id in dict.fromkeys(pops):
        user = session.get(User, user_id)
        if user is None or in_scope(session, user, customer_id):
            continue
        seen = session.scalar(select(AuditEntry.id).where(
            AuditEntry.user_id == user_id, AuditEntry.action == "customer.popped_via_call",
            AuditEntry.entity_id == customer_id, AuditEntry.call_id == call_id))
        if seen is None:
            record(session, user, "customer.popped_via_call", entity="customer",
                   entity_id=customer_id, call_id=call_id)
            written += 1
    return written


def call_is_open(call: CallRecord, now: datetime, window_h: int) -> bool:
    """Not wrapped up yet, and started less than ``window_h`` hours before ``now``."""
    return call.wrapup_at is None and call.started_at > now - timedelta(hours=window_h)


def _live_customer_id(event: dict[str, Any]) -> int | None:
    customer = event.get("customer")
    value = customer.get("id") if isinstance(customer, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def call_opens_customer(session: Session, redis_client: Any, user: User, call_id: Any,
                        customer_id: int, *, now: datetime,
                        window_h: int = DEFAULT_ACCESS_HOURS) -> bool:
    """Whether ``call_id`` lets ``user`` open customer ``customer_id`` now (see the module
    docstring). ``redis_client`` None, or Redis down: only the call log decides."""
    if not isinstance(call_id, str) or not call_id or len(call_id) > LIMITS["call_id"] \
            or clean_printable(call_id, LIMITS["call_id"]) != call_id or not user.is_active:
        return False
    call = session.scalar(select(CallRecord).where(CallRecord.call_id == call_id))
    if call is not None and not call_is_open(call, now, window_h):
        return False
    if call is not None and call.customer_id == customer_id and handled_by(call, user):
        return True
    if redis_client is None:
        return False
    try:
        event = agent_call(redis_client, user.id, call_id, now=now.timestamp())
    except redis.RedisError as exc:
        log.warning("live calls of user %s unreadable: %s", user.id, exc)
        return False
    # The bridge alone writes these entries: the pop it gave this agent for this call.
    return event is not None and _live_customer_id(event) == customer_id and (
        call is None or call.customer_id in (None, customer_id))
