"""The call log: business rules. The bridge, the web pages and the REST API call these.

``record_call`` turns the call tracker's summaries (telephony/README.md, ``CallSummary``)
into one ``CallRecord`` per Linkedid; replaying the same AMI events never adds a row.
Reads go through ``calls_visible_to`` so a user's scope is always applied in SQL:

- an admin, or a user with scope ``all``: every call;
- everyone else: the calls they handled (``agent_id``, or their interface among the
  call's ``agents``) and the calls of customers within their customer scope
  (``callcenter.customers.services.visible_to``);
- supervisors additionally: calls that came through a queue of their department or a
  sub-department (``PbxQueue.department_id``), whatever their customer scope.

No function commits; the caller's unit of work does.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, ColumnElement, Select, false, func, or_, select, true, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import FunctionElement

from callcenter.calls.models import CallRecord, Outcome, PbxQueue
from callcenter.customers.errors import PermissionDenied, ValidationError
from callcenter.customers.fields import as_id
from callcenter.customers.merge import register_merge_handler
from callcenter.customers.models import Customer
from callcenter.customers.phones import try_normalise_phone
from callcenter.customers.services import find_customer_by_phone, visible_to
from callcenter.db import after_commit, utcnow
from callcenter.users.models import Role, Scope, User
from callcenter.users.scopes import department_subtree_ids

#: Column sizes (callcenter.calls.models): longer values are cut, never refused.
LIMITS = {"call_id": 64, "queue_uniqueid": 64, "caller_number": 80, "caller_name": 120,
          "queue": 80, "agent_interface": 120}
#: Most interfaces kept in ``agents`` (a call bounced between more agents keeps the last).
MAX_AGENTS = 50
#: Longest duration (seconds) believed; anything larger is a clock error.
MAX_DURATION_S = 7 * 24 * 3600
#: Wrap-up dispositions, in the order the form offers them (labels: calls.labels).
DISPOSITIONS = ("resolved", "callback", "ticket_needed", "wrong_number", "other")
MAX_NOTES = 2000

#: Callbacks run after the commit of a saved wrap-up: fn(call_id, user_id). The live
#: layer uses this to drop the call from the agent's open pops.
WRAPUP_LISTENERS: list[Callable[[str, int], None]] = []

_OUTCOMES = {m.value: m for m in Outcome}
#: Unicode categories removed from caller IDs: controls, format characters (bidi
#: overrides, zero-width joiners), lone surrogates, private use.
_STRIP_CATEGORIES = {"Cc", "Cf", "Cs", "Co"}


class CallNotFound(LookupError):
    """No such call, or not within the asking user's scope (the two look the same)."""


# --- hostile input ---------------------------------------------------------------------

def clean_text(value: Any, limit: int) -> str:
    """Printable text of at most ``limit`` characters from anything the PBX reports.

    Control and format characters go, runs of white space become one space; bytes are
    read as UTF-8 (bad bytes replaced). Never raises.
    """
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    elif not isinstance(value, str):
        value = str(value)
    out = []
    for ch in value[: limit * 4]:
        if ch.isspace():
            out.append(" ")
        elif unicodedata.category(ch) not in _STRIP_CATEGORIES:
            out.append(ch)
    return " ".join("".join(out).split())[:limit]


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
        return [clean_text(value, LIMITS["agent_interface"])] if value else []
    try:
        items = [clean_text(v, LIMITS["agent_interface"]) for v in value]
    except TypeError:
        return []
    return [i for i in items if i][-MAX_AGENTS:]


def _summary_values(summary: Any) -> dict[str, Any]:
    """The summary as CallRecord column values, cleaned; None where it says nothing."""
    outcome = _field(summary, "outcome")
    outcome = getattr(outcome, "value", outcome)
    values = {
        "queue_uniqueid": clean_text(_field(summary, "queue_uniqueid"),
                                     LIMITS["queue_uniqueid"]) or None,
        "caller_number": clean_text(_field(summary, "caller_number"), LIMITS["caller_number"]),
        "caller_name": clean_text(_field(summary, "caller_name"), LIMITS["caller_name"]),
        "queue": clean_text(_field(summary, "queue"), LIMITS["queue"]) or None,
        "agent_interface": clean_text(_field(summary, "agent_interface"),
                                      LIMITS["agent_interface"]) or None,
        "agents": _agents(_field(summary, "agents")),
        "outcome": _OUTCOMES.get(outcome if isinstance(outcome, str) else None,
                                 Outcome.IN_PROGRESS),
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
    name = clean_text(name, LIMITS["queue"])
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


def record_call(session: Session, summary: Any, *, region: str = "CN") -> CallRecord:
    """Store (insert or update) the call log row of one call summary; idempotent.

    ``summary`` is a mapping or an object with the ``CallSummary`` fields: call_id,
    queue_uniqueid, caller_number, caller_name, customer_id, queue, agent_interface,
    agents, outcome, started_at, queued_at, answered_at, ended_at (epoch seconds or
    None), wait_s, talk_s. The row is keyed by ``call_id`` (the Linkedid): the same
    summary twice changes nothing, a later one updates the row, and a final row
    (``ended_at`` set) is never taken back to "in progress" by an older summary.

    Caller IDs are cleaned, never refused. ``agent_id`` comes from ``users.interface``;
    ``customer_id`` is the summary's (from the FastAGI lookup) or found by the phone
    number, read in ``region`` (the setting DEFAULT_PHONE_REGION). A couple of indexed
    queries per call; lookups already done for the row are not repeated.
    """
    call_id = clean_text(_field(summary, "call_id"), LIMITS["call_id"])
    if not call_id:
        raise ValueError("a call summary needs a call_id")
    values = _summary_values(summary)
    call = session.scalar(select(CallRecord).where(CallRecord.call_id == call_id))
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
        _merge_into(call, values)
        if values["agent_interface"] is not None:
            call.agent_id = values["agent_id"]  # the agent it is with now, even if unknown
        if number:
            call.caller_e164 = e164  # follows the number, also when it is no phone number
        session.flush()
        return call
    values["started_at"] = (values["started_at"] or values["queued_at"]
                            or values["answered_at"] or utcnow())
    call = _insert_unless_exists(session, CallRecord, "call_id", {"call_id": call_id, **values})
    if call is not None:
        return call
    # Recorded by another process meanwhile: update that row like any later summary.
    call = session.scalar(select(CallRecord).where(CallRecord.call_id == call_id))
    if call.ended_at is None or values["ended_at"] is not None:
        _merge_into(call, values)
        session.flush()
    return call


@register_merge_handler
def _move_calls_on_merge(session: Session, survivor_id: int, merged_id: int) -> dict[str, int]:
    """A merged-away customer's calls belong to the survivor."""
    result = session.execute(update(CallRecord).where(CallRecord.customer_id == merged_id)
                             .values(customer_id=survivor_id)
                             .execution_options(synchronize_session="fetch"))
    return {"calls": result.rowcount or 0}


# --- scope -------------------------------------------------------------------------------

class json_array_contains(FunctionElement):
    """SQL: the JSON array in ``column`` has the string ``value`` as an element."""

    type = Boolean()
    inherit_cache = True
    name = "json_array_contains"


@compiles(json_array_contains, "postgresql")
def _contains_pg(element, compiler, **kw):
    column, _text, as_json = list(element.clauses)
    return (f"(CAST({compiler.process(column, **kw)} AS JSONB) @> "
            f"CAST({compiler.process(as_json, **kw)} AS JSONB))")


@compiles(json_array_contains, "sqlite")
def _contains_sqlite(element, compiler, **kw):
    column, text, _as_json = list(element.clauses)
    # Both parts are compiled SQL (a column and a bound parameter), never input text.
    sql = "EXISTS (SELECT 1 FROM json_each({}) WHERE json_each.value = {})"
    return sql.format(compiler.process(column, **kw), compiler.process(text, **kw))


def _has_agent(interface: str) -> ColumnElement[bool]:
    return json_array_contains(CallRecord.agents, interface, json.dumps([interface]))


def calls_visible_to(user: User) -> ColumnElement[bool]:
    """SQL clause: the calls ``user`` may see (see the module docstring)."""
    if not user.is_active:
        return false()
    if user.role == Role.ADMIN or user.scope == Scope.ALL:
        return true()
    clauses = [CallRecord.agent_id == user.id,
               CallRecord.customer_id.in_(select(Customer.id).where(visible_to(user)))]
    if user.interface:
        clauses += [CallRecord.agent_interface == user.interface, _has_agent(user.interface)]
    if user.role == Role.SUPERVISOR and user.department_id is not None:
        clauses.append(CallRecord.queue.in_(
            select(PbxQueue.name).where(
                PbxQueue.department_id.in_(department_subtree_ids(user.department_id)))))
    return or_(*clauses)


def handled_by(call: CallRecord, user: User) -> bool:
    """Whether ``user`` talked to the caller of ``call``."""
    if call.agent_id is not None and call.agent_id == user.id:
        return True
    return bool(user.interface) and (user.interface == call.agent_interface
                                     or user.interface in (call.agents or []))


# --- reading -----------------------------------------------------------------------------

def parse_since(value: Any, tz: str = "Asia/Shanghai") -> datetime:
    """An aware datetime from a datetime, a date or ISO 8601 text; a time without a zone
    (or a bare date, meaning its midnight) is read in the call center's time zone
    ``tz``. ValidationError naming ``since`` otherwise."""
    zone = ZoneInfo(tz)
    if isinstance(value, datetime):
        return value.replace(tzinfo=zone) if value.tzinfo is None else value
    if isinstance(value, date):
        return datetime.combine(value, time(), zone)
    if isinstance(value, str) and 0 < len(value.strip()) <= 40:
        text = value.strip()
        try:
            if len(text) == 10:
                return datetime.combine(date.fromisoformat(text), time(), zone)
            parsed = datetime.fromisoformat(text.replace(" ", "T", 1))
        except ValueError:
            pass
        else:
            return parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed
    raise ValidationError({"since": "must be an ISO 8601 date or date and time, "
                                    "e.g. 2026-12-01T08:00:00+08:00"})


def _text_filter(field: str, value: Any, limit: int) -> str:
    if not isinstance(value, str) or len(value.strip()) > limit or not value.strip() or \
            clean_text(value, limit) != value.strip():
        raise ValidationError({field: f"must be a name of at most {limit} characters"})
    return value.strip()


def calls_query(user: User, *, since: Any = None, queue: str | None = None,
                agent: int | str | None = None, customer: int | str | None = None,
                outcome: str | None = None,
                tz: str = "Asia/Shanghai") -> Select[tuple[CallRecord]]:
    """SELECT of the calls ``user`` may see, filtered, newest first.

    ``agent``: a user id or username; ``customer``: a customer id (also finds the calls
    of records merged into it); ``since``: see ``parse_since``. ValidationError naming
    the filter when one is unusable.
    """
    stmt = select(CallRecord).where(calls_visible_to(user))
    if since not in (None, ""):
        stmt = stmt.where(CallRecord.started_at >= parse_since(since, tz))
    if queue not in (None, ""):
        stmt = stmt.where(CallRecord.queue == _text_filter("queue", queue, LIMITS["queue"]))
    if agent not in (None, ""):
        agent_id = as_id(agent)
        if isinstance(agent, int) and not isinstance(agent, bool):
            if agent_id is None:
                raise ValidationError({"agent": "must be a user id or a username"})
            stmt = stmt.where(CallRecord.agent_id == agent_id)
        else:
            username = _text_filter("agent", agent, 80)
            by_name = CallRecord.agent_id.in_(select(User.id).where(User.username == username))
            stmt = stmt.where(or_(CallRecord.agent_id == agent_id, by_name)
                              if agent_id is not None else by_name)
    if customer not in (None, ""):
        cid = as_id(customer)
        if cid is None:
            raise ValidationError({"customer": "must be a customer id"})
        stmt = stmt.where(or_(CallRecord.customer_id == cid, CallRecord.customer_id.in_(
            select(Customer.id).where(Customer.merged_into_id == cid))))
    if outcome not in (None, ""):
        if not isinstance(outcome, str) or outcome not in _OUTCOMES:
            raise ValidationError({"outcome": "must be one of " + ", ".join(_OUTCOMES)})
        stmt = stmt.where(CallRecord.outcome == _OUTCOMES[outcome])
    return stmt.order_by(CallRecord.started_at.desc(), CallRecord.id.desc())


@dataclass(frozen=True)
class CallPage:
    items: list[CallRecord]
    total: int
    page: int
    per_page: int
    pages: int


def list_calls(session: Session, actor: User, *, since: Any = None, queue: str | None = None,
               agent: int | str | None = None, customer: int | str | None = None,
               outcome: str | None = None, page: int = 1, per_page: int = 25,
               tz: str = "Asia/Shanghai") -> CallPage:
    """One page of ``calls_query`` (LIMIT/OFFSET in SQL) and the count of all of it."""
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise ValidationError({"page": "must be a whole number from 1"})
    if isinstance(per_page, bool) or not isinstance(per_page, int) or per_page < 1:
        raise ValidationError({"per_page": "must be a whole number from 1"})
    per_page = min(per_page, 100)
    stmt = calls_query(actor, since=since, queue=queue, agent=agent, customer=customer,
                       outcome=outcome, tz=tz)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = list(session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    return CallPage(items, total, page, per_page, max(1, -(-total // per_page)))


def get_call(session: Session, actor: User, call_id: str) -> CallRecord:
    """The call, if it exists and ``actor`` may see it; else CallNotFound."""
    if not isinstance(call_id, str) or not call_id or len(call_id) > LIMITS["call_id"] or \
            clean_text(call_id, LIMITS["call_id"]) != call_id:
        raise CallNotFound(call_id)
    call = session.scalar(select(CallRecord).where(CallRecord.call_id == call_id,
                                                   calls_visible_to(actor)))
    if call is None:
        raise CallNotFound(call_id)
    return call


def user_names(session: Session, ids) -> dict[int, User]:
    """The users among ``ids``, in one query (for agent names next to a page of calls)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(wanted)))}


def customer_calls(session: Session, customer_id: int, *, limit: int = 10) -> list[CallRecord]:
    """The customer's latest calls (also those of records merged into it), newest first.
    The caller checks that the customer is in scope."""
    merged = select(Customer.id).where(Customer.merged_into_id == customer_id)
    return list(session.scalars(
        select(CallRecord)
        .where(or_(CallRecord.customer_id == customer_id, CallRecord.customer_id.in_(merged)))
        .order_by(CallRecord.started_at.desc(), CallRecord.id.desc()).limit(limit)))


# --- wrap-up -----------------------------------------------------------------------------

def _clean_notes(notes: Any) -> str:
    if notes is None:
        return ""
    if not isinstance(notes, str):
        raise ValidationError({"notes": "must be text"})
    text = notes.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) > MAX_NOTES:
        raise ValidationError({"notes": f"at most {MAX_NOTES} characters"})
    if any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\n\t" for ch in text):
        raise ValidationError({"notes": "contains control characters"})
    return text


def save_wrapup(session: Session, actor: User, call_id: str, disposition: Any,
                notes: Any = "") -> CallRecord:
    """Record the wrap-up (disposition and note) of a call; who and when are kept.

    Allowed to an agent who talked to the caller, and to a supervisor or admin whose
    scope covers the call. CallNotFound when ``actor`` may not see the call at all,
    PermissionDenied when they see it but did not handle it, ValidationError naming
    ``disposition`` (one of DISPOSITIONS) or ``notes`` (at most MAX_NOTES characters).
    Saving again replaces the previous wrap-up.
    """
    call = get_call(session, actor, call_id)
    if not handled_by(call, actor) and actor.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise PermissionDenied("only an agent who handled the call, or a supervisor, "
                               "may wrap it up")
    errors: dict[str, str] = {}
    if not isinstance(disposition, str) or disposition not in DISPOSITIONS:
        errors["disposition"] = "must be one of " + ", ".join(DISPOSITIONS)
    try:
        text = _clean_notes(notes)
    except ValidationError as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationError(errors)
    call.disposition = disposition
    call.wrapup_notes = text
    call.wrapup_by_id = actor.id
    call.wrapup_at = utcnow()
    session.flush()
    for listener in list(WRAPUP_LISTENERS):
        after_commit(session, lambda fn=listener: fn(call.call_id, actor.id))
    return call
