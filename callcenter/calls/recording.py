"""Recording calls: the call tracker's summaries (telephony/README.md, ``CallSummary``)
become one ``CallRecord`` per Linkedid; replaying the same AMI events never adds a row.

Caller IDs are hostile input: control and format characters are removed and lengths
cut to the columns, never refused. No function commits; the caller's unit of work does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from callcenter.calls.models import CallRecord, Direction, Outcome, PbxQueue
from callcenter.core.fields import as_id, clean_printable
from callcenter.customers.models import Customer
from callcenter.customers.phones import try_normalise_phone
from callcenter.customers.services import find_customer_by_phone
from callcenter.db import utcnow
from callcenter.users.models import User

#: Column sizes (callcenter.calls.models): longer values are cut, never refused.
LIMITS = {"call_id": 64, "queue_uniqueid": 64, "caller_number": 80, "caller_name": 120,
          "queue": 80, "agent_interface": 120}
#: Most interfaces kept in ``agents`` (a call bounced between more agents keeps the last).
MAX_AGENTS = 50
#: Longest duration (seconds) believed; anything larger is a clock error.
MAX_DURATION_S = 7 * 24 * 3600
OUTCOMES = {m.value: m for m in Outcome}
DIRECTIONS = {m.value: m for m in Direction}


# --- hostile input ---------------------------------------------------------------------

def _field(summary: Any, key: str) -> Any:
    if isinstance(summary, Mapping):
        return summary.get(key)
    return getattr(summary, key, None)


def _timestamp(value: Any) -> datetime | None:
    """An aware UTC datetime from epoch seconds (float, int, numeric text) or a datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    try:
        seconds = float(value)
        if not math.isfinite(seconds) or seconds <= 0:
            return None
        return datetime.fromtimestamp(seconds, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _duration(value: Any) -> float | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(seconds) or seconds < 0 or seconds > MAX_DURATION_S:
        return None
    return round(seconds, 3)


def _agents(value: Any) -> list[str]:
    if not value or isinstance(value, (str, bytes)):
        return [clean_printable(value, LIMITS["agent_interface"])] if value else []
    try:
        items = [clean_printable(v, LIMITS["agent_interface"]) for v in value]
    except TypeError:
        return []
    return [i for i in items if i][-MAX_AGENTS:]


def _summary_values(summary: Any) -> dict[str, Any]:
    """The summary as CallRecord column values, cleaned; None where it says nothing."""
    outcome = _field(summary, "outcome")
    outcome = getattr(outcome, "value", outcome)
    direction = _field(summary, "direction")
    direction = getattr(direction, "value", direction)
    values = {
        "queue_uniqueid": clean_printable(_field(summary, "queue_uniqueid"),
                                     LIMITS["queue_uniqueid"]) or None,
        "caller_number": clean_printable(_field(summary, "caller_number"), LIMITS["caller_number"]),
        "caller_name": clean_printable(_field(summary, "caller_name"), LIMITS["caller_name"]),
        "queue": clean_printable(_field(summary, "queue"), LIMITS["queue"]) or None,
        "agent_interface": clean_printable(_field(summary, "agent_interface"),
                                      LIMITS["agent_interface"]) or None,
        "agents": _agents(_field(summary, "agents")),
        "outcome": OUTCOMES.get(outcome if isinstance(outcome, str) else None,
                                 Outcome.IN_PROGRESS),
        # None: the summary does not say (queue_log's, an older bridge's dead letter):
        # a new row is inbound, an existing one keeps its direction
        "direction": DIRECTIONS.get(direction) if isinstance(direction, str) else None,
        "started_at": _timestamp(_field(summary, "started_at")),
        "queued_at": _timestamp(_field(summary, "queued_at")),
        "answered_at": _timestamp(_field(summary, "answered_at")),
        "ended_at": _timestamp(_field(summary, "ended_at")),
        "wait_s": _duration(_field(summary, "wait_s")),
        "talk_s": _duration(_field(summary, "talk_s")),
    }
    return values


# --- recording ---------------------------------------------------------------------------

def ensure_queue(session: Session, name: str) -> PbxQueue:
    """The queue row for ``name``, created on first sight (no department yet)."""
    name = clean_printable(name, LIMITS["queue"])
    if not name:
        raise ValueError("a queue needs a name")
    queue = session.scalar(select(PbxQueue).where(PbxQueue.name == name))
    if queue is not None:
        return queue
    # Another process may create it at the same moment: its row is as good as ours.
    queue = _insert_unless_exists(session, PbxQueue, "name",
                                  {"name": name, "display_name": name})
    return queue or session.scalar(select(PbxQueue).where(PbxQueue.name == name))


def _insert_unless_exists(session: Session, model, key: str, values: dict[str, Any]):
    """INSERT ... ON CONFLICT (key) DO NOTHING RETURNING: the new row, or None when a
    concurrent writer got there first (no savepoint, no error)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the product runs on PostgreSQL and SQLite only
        raise NotImplementedError(f"no upsert for {dialect}")
    stmt = (insert(model).values(**values).on_conflict_do_nothing(index_elements=[key])
            .returning(model))
    return session.scalar(stmt)


def _existing_customer_id(session: Session, customer_id: Any) -> int | None:
    """``customer_id`` (or its survivor, if merged away) when it exists; else None."""
    cid = as_id(customer_id)
    if cid is None:
        return None
    row = session.execute(select(Customer.id, Customer.merged_into_id)
                          .where(Customer.id == cid)).first()
    if row is None:
        return None
    return row.merged_into_id or row.id


def _resolve_customer(session: Session, call: CallRecord | None, given: Any,
                      e164: str | None, region: str) -> int | None:
    if given not in (None, ""):
        cid = as_id(given)
        if call is not None and cid is not None and call.customer_id == cid:
            return cid
        cid = _existing_customer_id(session, given)
        if cid is not None:
            return cid
    if call is not None and call.customer_id is not None:
        return call.customer_id
    if e164 is None:
        return None
    # Unknown so far: look again (the agent may have created the customer meanwhile).
    customer = find_customer_by_phone(session, e164, region=region)
    return customer.id if customer is not None else None


def _resolve_agent(session: Session, call: CallRecord | None,
                   interface: str | None) -> int | None:
    if interface is None:
        return call.agent_id if call is not None else None
    if call is not None and call.agent_interface == interface and call.agent_id is not None:
        return call.agent_id
    return session.scalar(select(User.id).where(User.interface == interface))


def _merge_into(call: CallRecord, values: dict[str, Any]) -> None:
    """Apply a summary to an existing row: what the summary does not know stays."""
    for key, value in values.items():
        if value is None or value == "":
            continue
        if key == "agents":
            old = list(call.agents or [])
            # An older summary knows a prefix of the agents; keep the longer list.
            if not value or (len(value) < len(old) and old[:len(value)] == value):
                continue
        if key == "outcome" and value == Outcome.IN_PROGRESS and \
                call.outcome not in (None, Outcome.IN_PROGRESS):
            continue
        if getattr(call, key) != value:
            setattr(call, key, value)


def record_call(session: Session, summary: Any, *, region: str) -> CallRecord:
    """Store (insert or update) the call log row of one call summary; idempotent.

    ``summary`` is a mapping or an object with the ``CallSummary`` fields: call_id,
    queue_uniqueid, caller_number, caller_name, customer_id, queue, agent_interface,
    agents, outcome, direction (``inbound`` when absent), started_at, queued_at,
    answered_at, ended_at (epoch seconds or None), wait_s, talk_s. The row is keyed by
    ``call_id`` (the Linkedid): the same summary twice changes nothing, a later one
    updates the row, and a final row (``ended_at`` set) is never taken back to "in
    progress" by an older summary.

    Caller IDs are cleaned, never refused. ``agent_id`` comes from ``users.interface``;
    ``customer_id`` is the summary's (from the FastAGI lookup) or found by the phone
    number, read in ``region`` (the setting DEFAULT_PHONE_REGION). A couple of indexed
    queries per call; lookups already done for the row are not repeated.
    """
    call_id = clean_printable(_field(summary, "call_id"), LIMITS["call_id"])
    if not call_id:
        raise ValueError("a call summary needs a call_id")
    values = _summary_values(summary)
    own, found = _find_rows(session, call_id, summary, values["queue_uniqueid"])
    call, pbx_values = _take_over(session, call_id, own, found)
    if call is not None and call.ended_at is not None and values["ended_at"] is None:
        return call  # an older summary of a call already final
    number = values["caller_number"]
    if call is not None and call.caller_number == number and number:
        e164 = call.caller_e164
    else:
        normalised = try_normalise_phone(number, region) if number else None
        e164 = normalised.e164 if normalised else None
    values["caller_e164"] = e164
    values["customer_id"] = _resolve_customer(session, call, _field(summary, "customer_id"),
                                              e164, region)
    values["agent_id"] = _resolve_agent(session, call, values["agent_interface"])
    if values["queue"] and (call is None or call.queue != values["queue"]):
        ensure_queue(session, values["queue"])
    if call is not None:
        if call.queue_uniqueid and not values["queue_uniqueid"]:
            # a summary that never saw the call queued (its bridge missed the join) knows
            # less of it than the row, which has the queue's record
            for key in ("outcome", "queue", "agent_interface", "agents", "wait_s", "talk_s",
                        "queued_at", "answered_at", "agent_id"):
                values.pop(key, None)
        _merge_into(call, values)
        if values.get("agent_interface") is not None:
            call.agent_id = values["agent_id"]  # the agent it is with now, even if unknown
        if number:
            call.caller_e164 = e164  # follows the number, also when it is no phone number
        if pbx_values is not None:
            for key, value in pbx_values.items():
                if value is not None and value != []:
                    setattr(call, key, value)
        session.flush()
        return call
    values["started_at"] = (values["started_at"] or values["queued_at"]
                            or values["answered_at"] or utcnow())
    values["direction"] = values["direction"] or Direction.INBOUND
    call = _insert_unless_exists(session, CallRecord, "call_id", {"call_id": call_id, **values})
    if call is not None:
        return call
    # Recorded by another process meanwhile: update that row like any later summary.
    call = session.scalar(select(CallRecord).where(CallRecord.call_id == call_id))
    if call.ended_at is None or values["ended_at"] is not None:
        _merge_into(call, values)
        session.flush()
    return call


#: What a row the PBX-record reconciler made knows better than a bridge's summary that
#: comes later (a guess made after a reconnect, or the same figures less rounded).
_PBX_FIELDS = ("outcome", "queue", "queue_uniqueid", "agent_interface", "agent_id",
               "agents", "wait_s", "talk_s", "queued_at", "answered_at", "ended_at")


def _find_rows(session: Session, call_id: str, summary: Any,
               queue_uniqueid: str | None) -> tuple[CallRecord | None, list[CallRecord]]:
    """(the call's own row, rows the PBX-record reconciler added for it).

    The reconciler keys a call the bridge missed by queue_log's callid (the Uniqueid of
    the channel that ran Queue(); its row has ``call_id == queue_uniqueid``), as it knows
    no Linkedid. A summary names that Uniqueid as its ``queue_uniqueid`` or among its
    ``channel_ids``: then it is the same call. One query either way."""
    ids = _field(summary, "channel_ids") or ()
    candidates = {str(c)[:LIMITS["call_id"]] for c in (queue_uniqueid, *ids) if c} - {call_id}
    if not candidates:
        return session.scalar(select(CallRecord).where(CallRecord.call_id == call_id)), []
    rows = session.scalars(select(CallRecord).where(
        (CallRecord.call_id == call_id)
        | (CallRecord.call_id.in_(sorted(candidates))
           & (CallRecord.queue_uniqueid == CallRecord.call_id)))).all()
    own = next((row for row in rows if row.call_id == call_id), None)
    return own, [row for row in rows if row.call_id != call_id]


def _take_over(session: Session, call_id: str, own: CallRecord | None,
               found: list[CallRecord]) -> tuple[CallRecord | None, dict[str, Any] | None]:
    """The row to update, and the PBX's values to restore after the summary's merge."""
    if not found:
        return own, None
    pbx = found[0]
    values = {key: getattr(pbx, key) for key in _PBX_FIELDS}
    if not pbx.ended_at:
        values = None  # an unfinished record knows nothing better than the bridge
    if own is None:
        pbx.call_id = call_id
        session.flush()
        return pbx, values
    for extra in found:
        session.delete(extra)
    session.flush()
    return own, values


def move_calls_to_survivor(survivor_id: int, *, merged_id: int, session: Session,
                           **_: Any) -> dict[str, int]:
    """A merged-away customer's calls belong to the survivor (a receiver of
    ``customers_merged``, connected by ``callcenter.calls.init_app``)."""
    result = session.execute(update(CallRecord).where(CallRecord.customer_id == merged_id)
                             .values(customer_id=survivor_id)
                             .execution_options(synchronize_session="fetch"))
    return {"calls": result.rowcount or 0}
