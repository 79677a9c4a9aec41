"""How the ticket pages show a ticket: labels, the choices of the forms, the SLA clock
in words, the history in words. Presentation only: what may be done and what it does
is the services' business (``tickets.services``, ``tickets.transitions``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import g
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from wtforms import SelectChoice

from callcenter.core.display import page_datetime
from callcenter.customers.models import Contact, Customer
from callcenter.products.models import InstalledProduct
from callcenter.users.models import Department, User
from callcenter.users.permissions import Permission, has_permission
from callcenter.users.scopes import department_subtree_ids
from tickets.comments import list_comments
from tickets.forms import (
    CHANNEL_LABELS,
    PRIORITY_ICONS,
    PRIORITY_LABELS,
    STATUS_LABELS,
    TRANSITION_LABELS,
)
from tickets.history import ticket_history
from tickets.history_words import HistoryWords
from tickets.models import (
    SlaState,
    Ticket,
    TicketAttachment,
    TicketHistory,
    TicketStatus,
    TicketType,
    ticket_calls,
)
from tickets.states import allowed_transitions

SLA_LABELS = {SlaState.ON_TRACK: _l("On track"), SlaState.AT_RISK: _l("At risk"),
              SlaState.BREACHED: _l("SLA breached"), SlaState.PAUSED: _l("Clock paused"),
              SlaState.MET: _l("Met")}
HISTORY_FIELDS = {
    "created": _l("Opened"), "status": _l("Status"), "assignee_id": _l("Assignee"),
    "priority": _l("Priority"), "escalation_level": _l("Escalated"),
    "comment": _l("Comment"), "attachment": _l("Attachment"), "merged": _l("Merged"),
    "linked": _l("Linked"), "call": _l("Call"), "sla_state": _l("SLA"),
    "subject": _l("Subject"), "description": _l("Details"), "type": _l("Type"),
    "installed_product_id": _l("Product"), "contact_id": _l("Reporter"),
    "department_id": _l("Team"), "related_user_ids": _l("Related employees"),
    "resolution": _l("Result"), "merged_into_id": _l("Merged into"),
    "first_response_at": _l("First response"), "customer_id": _l("Customer"),
}
#: History fields whose values are times (kept as ISO text): shown in local time.
TIME_FIELDS = frozenset({"first_response_at", "resolved_at", "closed_at"})
#: Long texts in the history are cut to this many characters (the ticket shows them whole).
HISTORY_TEXT = 160


class _TypeLabels:
    """Ticket type code -> name in the page's language, loaded once per request and only
    by a page that shows one (a context processor runs for every page)."""

    def get(self, code: str, default: str | None = None) -> str:
        labels = g.get("_ticket_type_labels")
        if labels is None:
            from callcenter.db import db_session
            zh = _is_zh()
            labels = {t.code: (t.name_zh if zh else t.name_en) or t.code
                      for t in db_session().scalars(select(TicketType))}
            g._ticket_type_labels = labels
        return labels.get(code, default if default is not None else code)


def _is_zh() -> bool:
    locale = get_locale()
    return locale is not None and locale.language == "zh"


def label_context() -> dict[str, Any]:
    return {"STATUS_LABELS": STATUS_LABELS, "PRIORITY_LABELS": PRIORITY_LABELS,
            "PRIORITY_ICONS": PRIORITY_ICONS, "SLA_LABELS": SLA_LABELS,
            "CHANNEL_LABELS": CHANNEL_LABELS, "TYPE_LABELS": _TypeLabels()}


def type_choices(session: Session, first: str | None = None) -> list[SelectChoice]:
    zh = _is_zh()
    types = session.scalars(select(TicketType).where(TicketType.active.is_(True))
                            .order_by(TicketType.builtin.desc(), TicketType.id))
    choices = [SelectChoice(t.code, (t.name_zh if zh else t.name_en) or t.code) for t in types]
    return ([SelectChoice("", first)] if first is not None else []) + choices


def customer_names(session: Session, ids) -> dict[int, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return dict(session.execute(select(Customer.id, Customer.name)
                                .where(Customer.id.in_(wanted))).all())


def user_names(session: Session, ids) -> dict[int, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return {u.id: u.display_name or u.username
            for u in session.scalars(select(User).where(User.id.in_(wanted)))}


def _workers(session: Session, department_id: int | None, keep: int | None) -> list[User]:
    """Who may take a ticket of this team: its active members who work tickets (the
    services decide; this only offers the likely ones), and whoever has it now."""
    stmt = select(User).where(User.active.is_(True)).order_by(User.display_name,
                                                              User.username)
    if department_id is not None:
        stmt = stmt.where(User.department_id.in_(department_subtree_ids(department_id)))
    users = [u for u in session.scalars(stmt.limit(200))
             if has_permission(u.role, Permission.TICKET_WRITE)]
    if keep and keep not in {u.id for u in users}:
        kept = session.get(User, keep)
        if kept is not None:
            users.append(kept)
    return users


def _user_choice(user: User) -> SelectChoice:
    return SelectChoice(str(user.id), f"{user.display_name or user.username} ({user.username})")


def ticket_form_choices(session: Session, form, customer: Customer, actor: User) -> None:
    form.type.choices = type_choices(session)
    contacts = session.scalars(select(Contact).where(Contact.customer_id == customer.id)
                               .order_by(Contact.id))
    form.contact_id.choices = [SelectChoice("", _("— someone new (below) —"))] + [
        SelectChoice(str(c.id), c.name + (f" · {c.position}" if c.position else ""))
        for c in contacts]
    form.installed_product_id.choices = _product_choices(session, customer.id)
    if has_permission(actor.role, Permission.TICKET_ASSIGN):
        form.assignee_id.choices = [SelectChoice("", _("— the team's next agent in turn —"))] + [
            _user_choice(u) for u in _workers(session, actor.department_id, None)]
    else:
        form.assignee_id.choices = [SelectChoice("", _("— the team's next agent in turn —")),
                                    _user_choice(actor)]


def _product_choices(session: Session, customer_id: int) -> list[SelectChoice]:
    products = session.scalars(select(InstalledProduct)
                               .where(InstalledProduct.customer_id == customer_id)
                               .order_by(InstalledProduct.id))
    return [SelectChoice("", _("— none —"))] + [
        SelectChoice(str(p.id), f"{p.model} · {p.serial_number}") for p in products]


def prefill(session: Session, form, customer: Customer, *, contact_id: int | None,
            product_id: int | None, call_id: str, phone: str, name: str) -> None:
    """What the desk knows goes into the form: the calling contact (by id, or found by
    the caller's number), the product, the call; an unknown caller's number and name go
    into the reporter fields (the service adds them as a contact)."""
    form.customer_id.data = customer.id
    form.call_id.data = call_id
    form.channel.data = "phone" if call_id else form.channel.data
    contact_ids = {c.data for c in form.contact_id}
    if contact_id and str(contact_id) in contact_ids:
        form.contact_id.data = str(contact_id)
    elif phone:
        from callcenter.customers.models import Phone
        from callcenter.customers.phones import try_normalise_phone
        from callcenter.customers.views import region
        number = try_normalise_phone(phone, region())
        found = session.scalar(select(Phone.contact_id).where(
            Phone.e164 == number.e164, Phone.contact_id.is_not(None),
            Phone.contact_id.in_([int(i) for i in contact_ids if i]))) if number else None
        if found:
            form.contact_id.data = str(found)
        else:
            form.reporter_phone.data = phone
            form.reporter_name.data = name
    if product_id and str(product_id) in {c.data for c in form.installed_product_id}:
        form.installed_product_id.data = str(product_id)
    if not form.type.data and form.type.choices:
        form.type.data = form.type.choices[0].value


def _as_id(value) -> int | None:
    return int(value) if value and str(value).isdigit() else None


def create_data(form) -> dict[str, Any]:
    """The form as the body ``TicketCreate`` checks (the API's and the web's one input)."""
    data: dict[str, Any] = {
        "type": form.type.data, "subject": form.subject.data or "",
        "description": form.description.data or "", "customer_id": form.customer_id.data,
        "priority": form.priority.data, "channel": form.channel.data}
    for field in ("contact_id", "installed_product_id", "assignee_id"):
        value = _as_id(getattr(form, field).data)
        if value is not None:
            data[field] = value
    if form.call_id.data:
        data["call_id"] = form.call_id.data
    if "contact_id" not in data and (form.reporter_name.data or form.reporter_phone.data):
        data["reporter"] = {"name": (form.reporter_name.data or "").strip(),
                            "phone": (form.reporter_phone.data or "").strip()}
    return data


def form_errors(errors: dict) -> dict:
    """The services' field names as the form's ("reporter.name" -> "reporter_name")."""
    out = {}
    for key, problem in errors.items():
        if key.startswith("reporter"):
            key = "reporter_phone" if "phone" in key else "reporter_name"
        out[key] = problem
    return out


def transition_choices(session: Session, form, ticket: Ticket, actor: User) -> None:
    if has_permission(actor.role, Permission.TICKET_ASSIGN):
        users = _workers(session, ticket.department_id or actor.department_id,
                         ticket.assignee_id)
        form.assignee_id.choices = [_user_choice(u) for u in users]
    else:
        form.assignee_id.choices = [_user_choice(actor)]
    if not form.assignee_id.data:
        form.assignee_id.data = str(actor.id)


def edit_choices(session: Session, form, ticket: Ticket) -> None:
    form.installed_product_id.choices = _product_choices(session, ticket.customer_id)


def _when(value: datetime | None) -> str:
    return page_datetime(value) if value else "—"


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def clock(seconds: float) -> str:
    """h:mm:ss of a duration (days as "2 d 3:04:05")."""
    total = int(abs(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}:{minutes:02d}:{secs:02d}"
    return _("%(d)s d %(t)s", d=days, t=text) if days else text


def sla_view(ticket: Ticket, now: datetime) -> dict[str, Any]:
    """The SLA clock in words: a title, the big figure, and each target's line."""
    status = TicketStatus(ticket.status)
    first_due, due = _aware(ticket.first_response_due_at), _aware(ticket.resolution_due_at)
    first_met = _aware(ticket.first_response_at)
    targets = []
    paused = _("paused") if status == TicketStatus.PENDING else "—"
    if ticket.first_response_minutes:
        text = _("met %(when)s", when=_when(first_met)) if first_met else \
            (_("due %(when)s", when=_when(first_due)) if first_due else paused)
        targets.append({"label": _("First response"), "text": text})
    if ticket.resolution_minutes:
        done = _aware(ticket.resolved_at) if status in (TicketStatus.RESOLVED,
                                                        TicketStatus.CLOSED) else None
        text = _("met %(when)s", when=_when(done)) if done else \
            (_("due %(when)s", when=_when(due)) if due else paused)
        targets.append({"label": _("Resolution"), "text": text})
    if status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        return {"state": "done", "title": _("Resolved"), "big": "✓", "left_s": None,
                "targets": targets}
    if status == TicketStatus.PENDING:
        return {"state": "paused", "title": _("Clock paused: waiting (pending)"),
                "big": "‖ " + _("Paused"), "left_s": None, "targets": targets}
    running = [d for d in (None if first_met else first_due, due) if d is not None]
    if not running:
        return {"state": "none", "title": _("Time left"), "big": "—", "left_s": None,
                "targets": targets}
    left = (min(running) - now).total_seconds()
    which = _("Time left to first response") if not first_met and first_due == min(running) \
        else _("Time left to resolve")
    return {"state": "overdue" if left < 0 else ticket.sla_state.value,
            "title": which, "left_s": int(left),
            "big": clock(left) if left >= 0 else _("overdue by %(t)s", t=clock(left)),
            "targets": targets}


#: Ticket history fields whose values are ids, and of what (named by HistoryWords).
ID_FIELDS = {"assignee_id": "user", "created_by": "user", "related_user_ids": "user",
             "department_id": "department", "customer_id": "customer",
             "contact_id": "contact", "installed_product_id": "product"}
#: Fields whose values are ticket numbers (shown as the pages show them: #12).
TICKET_FIELDS = frozenset({"merged", "merged_into_id", "linked"})


def _history_value(field: str, value: str | None, words: HistoryWords) -> str | None:
    if value is None:
        return None
    if field in ID_FIELDS:
        return words.ids(field, value)
    try:
        if field == "status":
            return str(STATUS_LABELS[TicketStatus(value)])
        if field == "priority":
            from tickets.models import Priority
            return str(PRIORITY_LABELS[Priority(value)])
        if field == "sla_state":
            return str(SLA_LABELS[SlaState(value)])
        if field == "type":
            return _TypeLabels().get(value)
        if field in TIME_FIELDS:
            return page_datetime(datetime.fromisoformat(value))
    except ValueError:
        pass
    if field in TICKET_FIELDS and value.isdigit():
        return f"#{value}"
    if field == "comment" and value in ("internal", "public"):
        return _("Internal note") if value == "internal" else _("Reply to the customer")
    return value if len(value) <= HISTORY_TEXT else value[:HISTORY_TEXT] + "…"


def history_row_words(row: TicketHistory, words: HistoryWords) -> dict[str, Any]:
    """One history row in words: who, what, the old and new value, the note."""
    field = row.field
    old = _history_value(field, row.old_value, words)
    new = _history_value(field, row.new_value, words)
    if field == "created":
        old = new = None
    elif field == "escalation_level":
        old, new = (_("level %(n)s", n=old) if old else None,
                    _("level %(n)s", n=new) if new else None)
    return {"id": row.id, "at": _aware(row.changed_at), "field": field,
            "who": words.who(row), "what": str(HISTORY_FIELDS.get(field, field)),
            "old": old, "new": new, "note": words.note(row),
            "system_note": words.system_note(row)}


def history_words(session: Session, reader: User, rows: list[TicketHistory]) -> HistoryWords:
    """The names ``rows`` need, fetched at once (``tickets.history_words``)."""
    return HistoryWords(session, reader, rows, ID_FIELDS)


def history_rows(session: Session, ticket: Ticket, reader: User) -> list[dict[str, Any]]:
    """The one history of the ticket, newest first, in words."""
    rows = ticket_history(session, ticket.id)
    words = history_words(session, reader, rows)
    return [history_row_words(r, words) for r in reversed(rows)]


def ticket_context(session: Session, ticket: Ticket, actor: User, *,
                   now: datetime) -> dict[str, Any]:
    """Everything the ticket page shows besides the ticket itself."""
    from callcenter.customers.views import today, visible_or_none
    from callcenter.products.views import WARRANTY_STATES
    from callcenter.products.warranty import warranty_state

    customer = visible_or_none(ticket.customer_id)
    contact = session.scalar(select(Contact).where(Contact.id == ticket.contact_id)
                             .options(selectinload(Contact.phones))) \
        if ticket.contact_id else None
    product = session.get(InstalledProduct, ticket.installed_product_id) \
        if ticket.installed_product_id else None
    warranty = None
    if product is not None:
        label, tone = WARRANTY_STATES[warranty_state(product, today())]
        warranty = {"state": label, "tone": tone}
    comments = list_comments(session, ticket)
    related = [u.display_name or u.username for u in ticket.related_users]
    names = user_names(session, {ticket.assignee_id, ticket.creator_id}
                       | {c.author_id for c in comments})
    from callcenter.calls.models import CallRecord
    calls = list(session.scalars(select(CallRecord).join(
        ticket_calls, ticket_calls.c.call_id == CallRecord.id)
        .where(ticket_calls.c.ticket_id == ticket.id).order_by(CallRecord.started_at)))
    status = TicketStatus(ticket.status)
    transitions = [{"code": s.value, "label": TRANSITION_LABELS.get(s, STATUS_LABELS[s])}
                   for s in _ordered(allowed_transitions(status), status)]
    if status == TicketStatus.RESOLVED:
        for tr in transitions:
            if tr["code"] == TicketStatus.IN_PROGRESS.value:
                tr["label"] = _("Reopen")
    return {
        "customer": customer, "contact": contact, "product": product, "warranty": warranty,
        "calls": calls, "names": names, "related_names": related,
        "department_name": session.get(Department, ticket.department_id).name
        if ticket.department_id else None,
        "public_comments": [c for c in comments if not c.internal],
        "internal_comments": [c for c in comments if c.internal],
        "history": history_rows(session, ticket, actor),
        "attachments": list(session.scalars(
            select(TicketAttachment).where(TicketAttachment.ticket_id == ticket.id)
            .order_by(TicketAttachment.id))),
        "transitions": transitions,
        "sla": sla_view(ticket, now),
    }


#: The order of the "next step" buttons: the usual way forward first.
_FORWARD = (TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED, TicketStatus.CLOSED,
            TicketStatus.PENDING, TicketStatus.ASSIGNED, TicketStatus.NEW)


def _ordered(allowed, current: TicketStatus) -> list[TicketStatus]:
    return [s for s in _FORWARD if s in allowed]
