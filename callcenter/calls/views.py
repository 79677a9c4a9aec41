"""The call log page (/calls): every call the user may see, filtered by period, queue,
agent, outcome, disposition, customer and number, a page at a time, with its wrap-up;
and the same list as CSV. Thin shells over ``calls.services.calls_query`` (the API's
query, so the page is scoped exactly like ``GET /api/v1/calls``)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, render_template, request, stream_with_context
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.auth import permission_required
from callcenter.calls.labels import (
    DIRECTION_LABELS,
    DISPOSITION_LABELS,
    OUTCOME_LABELS,
    format_duration,
    queue_labels,
)
from callcenter.calls.models import CallRecord, PbxQueue
from callcenter.calls.services import calls_query, user_names
from callcenter.core.errors import ValidationError
from callcenter.core.exports import CSV_MEDIA_TYPE, EXCEL_UTF8_BOM, SafeCsvWriter
from callcenter.core.messages import field_messages
from callcenter.core.pagination import fetch_page
from callcenter.customers.models import Customer
from callcenter.customers.services import visible_to
from callcenter.db import db_session, own_transaction
from callcenter.users.models import Role, User
from callcenter.users.permissions import Permission

calls_bp = Blueprint("calls", __name__, url_prefix="/calls")

FILTERS = ("since", "until", "queue", "agent", "direction", "outcome", "disposition",
           "customer", "number")
PER_PAGE = 50
#: At most this many rows in one CSV file (a period longer than that: split it).
MAX_EXPORT = 100_000


@calls_bp.before_request
@login_required
def _require_login():
    """The call log needs a logged-in user."""


def _filters() -> dict[str, str]:
    return {name: request.args.get(name, "").strip()[:80] for name in FILTERS}


def _query(filters: dict[str, str]):
    return calls_query(current_user, tz=current_app.config["TIMEZONE"],
                       region=current_app.config["DEFAULT_PHONE_REGION"],
                       **{k: v or None for k, v in filters.items()})


def _customers(ids, session: Session | None = None) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict((session or db_session()).execute(select(Customer.id, Customer.name)
                                                  .where(Customer.id.in_(wanted))).all())


def _choices() -> dict[str, Any]:
    dbs = db_session()
    queues = list(dbs.scalars(select(PbxQueue.name).order_by(PbxQueue.name)))
    agents: list[tuple[str, str]] = []
    if current_user.role in (Role.SUPERVISOR, Role.ADMIN):
        agents = [(u.username, u.display_name or u.username) for u in dbs.scalars(
            select(User).where(User.role.in_((Role.AGENT, Role.SUPERVISOR)),
                               User.active.is_(True)).order_by(User.username))]
    return {"queues": queues, "agents": agents, "queue_labels": queue_labels(dbs)}


@calls_bp.route("/")
@permission_required(Permission.CUSTOMER_READ)
def index():
    filters = _filters()
    page_arg = request.args.get("page", "1")
    page = int(page_arg) if page_arg.isdigit() and len(page_arg) < 7 else 1
    dbs = db_session()
    errors: dict[str, str] = {}
    try:
        result = fetch_page(dbs, _query(filters), page=page, per_page=PER_PAGE, clamp=True)
    except ValidationError as exc:
        errors = field_messages(exc)
        result = None
    calls = result.items if result else []
    users = user_names(dbs, [i for c in calls for i in (c.agent_id, c.wrapup_by_id)])
    customers = _customers(c.customer_id for c in calls)
    if filters["customer"].isdigit() and len(filters["customer"]) < 10:
        customers.update(_customers([int(filters["customer"])]))
    # Linked only where the reader may open the customer: in their scope, or through
    # their own call (?call=, audited); a supervisor sees the queue's calls, not every
    # caller's record.
    openable = set(dbs.scalars(select(Customer.id).where(
        Customer.id.in_(list(customers)), visible_to(current_user)))) if customers else set()
    return render_template("calls/list.html", filters=filters, result=result, calls=calls,
                           users=users, customers=customers, openable=openable,
                           errors=errors,
                           outcome_labels=OUTCOME_LABELS,
                           direction_labels=DIRECTION_LABELS,
                           disposition_labels=DISPOSITION_LABELS,
                           duration=format_duration, **_choices()), 422 if errors else 200


def _local(value: datetime | None, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if value else ""


@calls_bp.route("/export.csv")
@permission_required(Permission.CUSTOMER_READ)
def export():
    filters = _filters()
    try:
        stmt = _query(filters).limit(MAX_EXPORT)
    except ValidationError as exc:
        return Response("\n".join(f"{f}: {m}" for f, m in field_messages(exc).items()),
                        status=422, mimetype="text/plain")
    zone = ZoneInfo(current_app.config["TIMEZONE"])

    def rows() -> Iterator[str]:
        # The body streams after the request's session was committed and closed
        # (callcenter.db): reading through that one would open a connection nobody
        # returns. The export reads through a session of its own, closed at the end.
        dbs = own_transaction()
        try:
            yield from _csv_rows(dbs, stmt, zone)
        finally:
            dbs.close()

    stamp = datetime.now(zone).strftime("%Y%m%d-%H%M")
    return Response(stream_with_context(rows()), mimetype=CSV_MEDIA_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="calls-{stamp}.csv"'})


def _csv_rows(dbs: Session, stmt, zone: ZoneInfo) -> Iterator[str]:
    out = io.StringIO()
    writer = SafeCsvWriter(out)   # a caller's "=..." name never runs as a formula
    writer.writerow(["call_id", "started_at", "caller_number", "caller_name",
                     "customer_id", "customer", "queue", "agent", "outcome", "wait_s",
                     "talk_s", "disposition", "notes", "wrapup_by", "wrapup_at",
                     "direction"])
    batch: list[CallRecord] = []

    def flush() -> Iterator[str]:
        users = user_names(dbs, [i for c in batch for i in (c.agent_id, c.wrapup_by_id)])
        names = _customers((c.customer_id for c in batch), dbs)
        for c in batch:
            agent, by = users.get(c.agent_id), users.get(c.wrapup_by_id)
            writer.writerow(["" if v is None else v for v in (
                c.call_id, _local(c.started_at, zone), c.caller_number, c.caller_name,
                c.customer_id, names.get(c.customer_id, ""), c.queue,
                agent.username if agent else "", c.outcome.value,
                "" if c.wait_s is None else round(c.wait_s, 1),
                "" if c.talk_s is None else round(c.talk_s, 1), c.disposition or "",
                c.wrapup_notes or "", by.username if by else "",
                _local(c.wrapup_at, zone), c.direction.value)])
        batch.clear()
        yield out.getvalue()
        out.seek(0)
        out.truncate()

    yield EXCEL_UTF8_BOM
    yield from flush()
    for call in dbs.scalars(stmt.execution_options(yield_per=1000)):
        batch.append(call)
        if len(batch) == 1000:
            yield from flush()
    yield from flush()
