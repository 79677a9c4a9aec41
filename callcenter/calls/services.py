"""The call log: business rules. The bridge, the web pages and the REST API call these.

Recording calls is ``callcenter.calls.recording``. Reads go through
``calls_visible_to`` so a user's scope is always applied in SQL:

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
import unicodedata
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, ColumnElement, Select, false, or_, select, true, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import FunctionElement

from callcenter.calls.models import CallRecord, Direction, PbxQueue
from callcenter.calls.recording import LIMITS, OUTCOMES
from callcenter.calls.schemas import DISPOSITIONS, MAX_NOTES
from callcenter.calls.signals import call_wrapped_up
from callcenter.core.errors import NotFound, PermissionDenied, Problem, ValidationError
from callcenter.core.fields import (
    MAX_ID,
    as_id,
    choice_problem,
    clean_printable,
    has_control_chars,
)
from callcenter.core.pagination import Page, fetch_page
from callcenter.customers.models import Customer
from callcenter.customers.services import visible_to
from callcenter.db import after_commit, utcnow
from callcenter.users.models import Role, Scope, User
from callcenter.users.scopes import department_subtree_ids


class CallNotFound(NotFound):
    """No such call, or not within the asking user's scope (the two look the same)."""

    entity = "call"


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

def parse_since(value: Any, tz: str, *, field: str = "since") -> datetime:
    """An aware datetime from a datetime, a date or ISO 8601 text; a time without a zone
    (or a bare date, meaning its midnight) is read in the call center's time zone
    ``tz``. ValidationError naming ``field`` otherwise."""
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
    raise ValidationError({field: Problem("not_datetime")})


def parse_until(value: Any, tz: str) -> datetime:
    """The end (exclusive) of a period: a bare date means the whole of that day."""
    bare = isinstance(value, date) and not isinstance(value, datetime) or \
        isinstance(value, str) and len(value.strip()) == 10
    moment = parse_since(value, tz, field="until")
    return moment + timedelta(days=1) if bare else moment


def caller_is(number: Any, region: str) -> ColumnElement[bool]:
    """SQL clause: the call came from ``number`` typed any way; a phone number is one
    equality on the indexed ``caller_e164``, anything else (an extension, a short code)
    the caller ID as typed or its digits. ValidationError naming ``number`` when it
    holds fewer than 3 digits or is too long."""
    from callcenter.customers.phones import try_normalise_phone

    typed = number.strip() if isinstance(number, str) else ""
    digits = "".join(ch for ch in typed if ch.isdigit())
    if not 3 <= len(digits) <= 20 or len(typed) > 40:
        raise ValidationError({"number": Problem("phone.invalid", {"value": typed[:40]})})
    parsed = try_normalise_phone(typed, region)
    if parsed is not None:
        return CallRecord.caller_e164 == parsed.e164
    return CallRecord.caller_number.in_(sorted({typed, digits}))


def _text_filter(field: str, value: Any, limit: int) -> str:
    if not isinstance(value, str) or len(value.strip()) > limit or not value.strip() or \
            clean_printable(value, limit) != value.strip():
        raise ValidationError({field: Problem("name_text", {"max": limit})})
    return value.strip()


def calls_query(user: User, *, since: Any = None, queue: str | None = None,
                agent: int | str | None = None, customer: int | str | None = None,
                outcome: str | None = None, until: Any = None,
                disposition: str | None = None, number: str | None = None,
                direction: str | None = None,
                region: str = "CN", tz: str) -> Select[tuple[CallRecord]]:
    """SELECT of the calls ``user`` may see, filtered, newest first.

    ``agent``: a user id or username; ``customer``: a customer id (also finds the calls
    of records merged into it); ``since``/``until``: see ``parse_since``/``parse_until``;
    ``disposition``: one of DISPOSITIONS, or ``none`` for calls not wrapped up;
    ``number``: the caller's number in any format (``region`` reads it); ``direction``:
    ``inbound`` or ``outbound`` (click-to-dial). ValidationError
    naming the filter when one is unusable.
    """
    stmt = select(CallRecord).where(calls_visible_to(user))
    if since not in (None, ""):
        stmt = stmt.where(CallRecord.started_at >= parse_since(since, tz))
    if until not in (None, ""):
        stmt = stmt.where(CallRecord.started_at < parse_until(until, tz))
    if disposition not in (None, ""):
        if disposition == "none":
            stmt = stmt.where(CallRecord.disposition.is_(None))
        elif isinstance(disposition, str) and disposition in DISPOSITIONS:
            stmt = stmt.where(CallRecord.disposition == disposition)
        else:
            raise ValidationError({"disposition": choice_problem([*DISPOSITIONS, "none"])})
    if number not in (None, ""):
        stmt = stmt.where(caller_is(number, region))
    if queue not in (None, ""):
        stmt = stmt.where(CallRecord.queue == _text_filter("queue", queue, LIMITS["queue"]))
    if agent not in (None, ""):
        agent_id = as_id(agent)
        if isinstance(agent, int) and not isinstance(agent, bool):
            if agent_id is None:
                raise ValidationError({"agent": Problem("user_or_username")})
            stmt = stmt.where(CallRecord.agent_id == agent_id)
        else:
            username = _text_filter("agent", agent, 80)
            by_name = CallRecord.agent_id.in_(select(User.id).where(User.username == username))
            stmt = stmt.where(or_(CallRecord.agent_id == agent_id, by_name)
                              if agent_id is not None else by_name)
    if customer not in (None, ""):
        cid = as_id(customer)
        if cid is None:
            raise ValidationError({"customer": Problem("not_id")})
        stmt = stmt.where(or_(CallRecord.customer_id == cid, CallRecord.customer_id.in_(
            select(Customer.id).where(Customer.merged_into_id == cid))))
    if direction not in (None, ""):
        if not isinstance(direction, str) or direction not in set(Direction):
            raise ValidationError({"direction": choice_problem([d.value for d in Direction])})
        stmt = stmt.where(CallRecord.direction == Direction(direction))
    if outcome not in (None, ""):
        if not isinstance(outcome, str) or outcome not in OUTCOMES:
            raise ValidationError({"outcome": choice_problem(list(OUTCOMES))})
        stmt = stmt.where(CallRecord.outcome == OUTCOMES[outcome])
    return stmt.order_by(CallRecord.started_at.desc(), CallRecord.id.desc())


def list_calls(session: Session, actor: User, *, since: Any = None, queue: str | None = None,
               agent: int | str | None = None, customer: int | str | None = None,
               outcome: str | None = None, page: int = 1, per_page: int = 25,
               tz: str) -> Page:
    """One page of ``calls_query`` (LIMIT/OFFSET in SQL) and the count of all of it."""
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise ValidationError({"page": Problem("whole_number", {"min": 1, "max": MAX_ID})})
    if isinstance(per_page, bool) or not isinstance(per_page, int) or per_page < 1:
        raise ValidationError({"per_page": Problem("whole_number", {"min": 1, "max": MAX_ID})})
    stmt = calls_query(actor, since=since, queue=queue, agent=agent, customer=customer,
                       outcome=outcome, tz=tz)
    return fetch_page(session, stmt, page=page, per_page=per_page)


def get_call(session: Session, actor: User, call_id: str) -> CallRecord:
    """The call, if it exists and ``actor`` may see it; else CallNotFound."""
    if not isinstance(call_id, str) or not call_id or len(call_id) > LIMITS["call_id"] or \
            clean_printable(call_id, LIMITS["call_id"]) != call_id:
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
        raise ValidationError({"notes": Problem("not_text")})
    text = notes.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) > MAX_NOTES:
        raise ValidationError({"notes": Problem("too_long", {"max": MAX_NOTES})})
    if has_control_chars(text, allow_newlines=True) or \
            any(unicodedata.category(ch) == "Cs" for ch in text):
        raise ValidationError({"notes": Problem("control_chars")})
    return text


def save_wrapup(session: Session, actor: User, call_id: str, disposition: Any,
                notes: Any = "", *, now: datetime | None = None,
                access_window_h: int = 24) -> CallRecord:
    """Record the wrap-up (disposition and note) of a call; who and when are kept.

    Allowed to an agent who talked to the caller, and to a supervisor or admin whose
    scope covers the call. CallNotFound when ``actor`` may not see the call at all,
    PermissionDenied when they see it but did not handle it, ValidationError naming
    ``disposition`` (one of DISPOSITIONS) or ``notes`` (at most MAX_NOTES characters).
    Saving again replaces the previous wrap-up, except for a caller outside the
    actor's customer scope: there the call is the only reason (calls.access), so the
    wrap-up is saved once, within ``access_window_h`` hours of the call's start
    (``CALL_ACCESS_HOURS``), and written to the audit log; later, PermissionDenied.
    """
    now = now or utcnow()
    call = get_call(session, actor, call_id)
    if not handled_by(call, actor) and actor.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise PermissionDenied.because("call.not_yours")
    through_call = call.customer_id is not None and actor.role != Role.ADMIN and \
        actor.scope != Scope.ALL and session.scalar(select(Customer.id).where(
            Customer.id == call.customer_id, visible_to(actor))) is None
    if through_call and (call.wrapup_at is not None or
                         call.started_at <= now - timedelta(hours=access_window_h)):
        raise PermissionDenied.because("call.access_ended")
    errors: dict[str, Problem] = {}
    if not isinstance(disposition, str) or disposition not in DISPOSITIONS:
        errors["disposition"] = choice_problem(DISPOSITIONS)
    try:
        text = _clean_notes(notes)
    except ValidationError as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationError(errors)
    call.disposition = disposition
    call.wrapup_notes = text
    call.wrapup_by_id = actor.id
    call.wrapup_at = now
    session.flush()
    if through_call:
        from callcenter.audit.services import record
        record(session, actor, "call.wrapped_up_via_call", entity="customer",
               entity_id=call.customer_id, call_id=call.call_id, detail="wrap-up")
    _announce_wrap_up(session, call.call_id, [actor.id, *_agents_of(session, call)],
                      disposition)
    return call


def _agents_of(session: Session, call: CallRecord) -> list[int]:
    """The users who talked to the caller: the last agent and, after a transfer, the
    ones before (by their interfaces in ``agents``)."""
    ids = [call.agent_id] if call.agent_id is not None else []
    interfaces = [i for i in (call.agents or []) if isinstance(i, str)]
    if interfaces:
        ids += session.scalars(select(User.id).where(User.interface.in_(interfaces)))
    return ids


def _announce_wrap_up(session: Session, call_id: str, user_ids: list[int],
                      disposition: str) -> None:
    """After the commit, ``calls.wrapped-up`` once per user whose desk has the call
    (the saver first): one wrap-up per call, so every agent of a transferred call is
    done with it, not only the one who saved it."""
    for user_id in dict.fromkeys(user_ids):
        after_commit(session, lambda user_id=user_id: call_wrapped_up.send(
            call_id, user_id=user_id, disposition=disposition))


def apply_default_wrapup(session: Session, call_id: str, disposition: str, *,
                         now: datetime | None = None) -> bool:
    """Give ``call_id`` the default ``disposition`` if it still has no wrap-up (after
    ``ACW_DEFAULT_AFTER_S``: callcenter.desk.acw). One conditional UPDATE, so a wrap-up
    an agent saves at the same moment is never overwritten. No one is recorded as
    having saved it (``wrapup_by_id`` stays empty). True when it was applied; the
    agent's card then leaves the desk like a saved one."""
    if disposition not in DISPOSITIONS:
        raise ValueError(f"disposition {disposition!r}")
    now = now or utcnow()
    applied = session.execute(
        update(CallRecord)
        .where(CallRecord.call_id == call_id, CallRecord.disposition.is_(None))
        .values(disposition=disposition, wrapup_at=now, wrapup_by_id=None,
                updated_at=now)
        .execution_options(synchronize_session=False)).rowcount == 1
    if applied:
        call = session.scalar(select(CallRecord).where(CallRecord.call_id == call_id))
        _announce_wrap_up(session, call_id, _agents_of(session, call), disposition)
    return applied
