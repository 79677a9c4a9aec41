"""The service desk's pages: the work queues, a ticket, the new-ticket form.

Thin shells over the tickets services (``tickets.services``, ``tickets.transitions``,
``tickets.comments``, ``tickets.queries``): the forms check shape, the input goes
through the API's schemas (``tickets.schemas``) so the web and the API accept the
same, and every rule stays in the services. A ticket outside the user's scope is "not
found" (404), a stale version is a message above the current ticket (409), a refused
move is a message (422): never a 500.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, select

from callcenter.auth import permission_required
from callcenter.core.errors import ValidationError
from callcenter.core.messages import describe, error_message
from callcenter.core.schema import parse
from callcenter.customers.forms import apply_errors
from callcenter.customers.views import paginate, visible_or_none
from callcenter.db import db_session
from callcenter.users.permissions import Permission
from tickets import presenters as show
from tickets.comments import add_comment
from tickets.forms import (
    AttachmentForm,
    CommentForm,
    EditTicketForm,
    TicketFilterForm,
    TicketForm,
    TransitionForm,
)
from tickets.queries import QUEUES, get_ticket, tickets_query
from tickets.schemas import TicketCreate, TicketPatch, TicketTransition
from tickets.services import StaleVersion, create_ticket, update_ticket
from tickets.transitions import transition_ticket

tickets_bp = Blueprint("tickets", __name__, url_prefix="/tickets")

REJECTED = 422
#: The work queues as tabs (QUEUES of tickets.queries), then every ticket one may see.
QUEUE_LABELS = {"mine": _l("Mine"), "team": _l("My team's"), "unassigned": _l("Unassigned"),
                "at_risk": _l("At risk"), "breached": _l("Breached"),
                "all": _l("All I can see")}
EMPTY_TEXTS = {"mine": _l("Nothing assigned to you is open. Well done."),
               "team": _l("Your team has no open tickets."),
               "unassigned": _l("Every open ticket has someone working on it."),
               "at_risk": _l("No ticket is close to its deadline."),
               "breached": _l("No ticket has missed its deadline."),
               "all": _l("No tickets match.")}


@tickets_bp.before_request
@login_required
def _require_login():
    """Every ticket page needs a logged-in user."""


@tickets_bp.app_context_processor
def _labels() -> dict:
    return show.label_context()


@tickets_bp.app_template_filter("filesize")
def _filesize(size: int | None) -> str:
    """Bytes in words a person reads (KB, MB: powers of 1024)."""
    from flask_babel import format_decimal
    if size is None:
        return "—"
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= factor:
            return f"{format_decimal(round(size / factor, 1))} {unit}"
    return _("%(n)s bytes", n=size)


def settings():
    return current_app.config["SETTINGS"]


def _now() -> datetime:
    return datetime.now(UTC)


def load(ticket_id: int):
    """The ticket if the user may see it; the services' TicketNotFound (404) otherwise."""
    return get_ticket(db_session(), current_user, ticket_id)


# --- the work queues --------------------------------------------------------------------

@tickets_bp.route("/")
@permission_required(Permission.TICKET_READ)
def index():
    queue = request.args.get("queue", "mine")
    if queue not in QUEUE_LABELS:
        queue = "mine"
    filters = TicketFilterForm(request.args)
    filters.type.choices = show.type_choices(db_session(), _("Any"))
    filters.validate()
    args = {"q": (filters.q.data or "").strip()[:200] or None,
            "status": filters.status.data or None, "priority": filters.priority.data or None,
            "type": filters.type.data or None}
    try:
        stmt = tickets_query(current_user, queue=None if queue == "all" else queue,
                             sort="newest" if queue == "all" else "due", **args)
    except ValidationError:
        # Filters only come from the select lists: tampered ones are simply dropped.
        args = {k: None for k in args}
        stmt = tickets_query(current_user, queue=None if queue == "all" else queue)
    result = paginate(stmt, request.args.get("page", 1, type=int))
    dbs = db_session()
    counts = {code: dbs.scalar(select(func.count()).select_from(
        tickets_query(current_user, queue=code).order_by(None).subquery()))
        for code in QUEUES}
    return render_template(
        "tickets/list.html", result=result, queue=queue, queue_label=QUEUE_LABELS[queue],
        queues=list(QUEUE_LABELS.items()), counts=counts, filters=filters,
        filtered=any(args.values()), empty_text=EMPTY_TEXTS[queue],
        customer_names=show.customer_names(dbs, {t.customer_id for t in result.items}),
        user_names=show.user_names(dbs, {t.assignee_id for t in result.items}))


# --- a new ticket -------------------------------------------------------------------------

def _arg_id(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and 0 < int(value) < 2**31 else None


@tickets_bp.route("/new", methods=["GET", "POST"])
@permission_required(Permission.TICKET_WRITE)
def new():
    """The new-ticket form, prefilled from the query (``call_id``, ``customer_id``,
    ``contact_id``, ``installed_product_id``, ``phone``, ``name``: what the desk's pop
    knows), so nothing is typed twice. Without a customer it asks for one first."""
    dbs = db_session()
    form = TicketForm()
    customer_id = form.customer_id.data if request.method == "POST" else _arg_id("customer_id")
    customer = visible_or_none(customer_id) if customer_id else None
    if customer is not None and customer.merged_into_id:
        customer = visible_or_none(customer.merged_into_id)
    phone = request.args.get("phone", "").strip()[:64]
    if customer is None and request.method == "GET":
        return _choose_customer(phone)
    if customer is None:
        abort(404)
    show.ticket_form_choices(dbs, form, customer, current_user)
    if request.method == "GET":
        show.prefill(dbs, form, customer, contact_id=_arg_id("contact_id"),
                     product_id=_arg_id("installed_product_id"),
                     call_id=request.args.get("call_id", "").strip()[:64], phone=phone,
                     name=request.args.get("name", "").strip()[:120])
        return render_template("tickets/form.html", form=form, customer=customer, errors=[])
    errors: list[str] = []
    if form.validate_on_submit():
        try:
            data = parse(TicketCreate, show.create_data(form))
            ticket = create_ticket(dbs, current_user, data, settings=settings(), now=_now())
        except ValidationError as exc:
            errors = apply_errors(form, show.form_errors(exc.errors))
        else:
            flash(_("Ticket #%(id)s created.", id=ticket.id), "success")
            return redirect(url_for("tickets.view", ticket_id=ticket.id))
    return render_template("tickets/form.html", form=form, customer=customer,
                           errors=errors), REJECTED


def _choose_customer(phone: str):
    """Step one of a ticket without a customer: find them (the caller's number first)."""
    from callcenter.customers.services import customers_query
    from callcenter.customers.views import region

    q = (request.args.get("q") or phone).strip()[:200]
    candidates = []
    if q:
        from callcenter.customers.models import Customer
        stmt = customers_query(current_user, q=q, region_code=region()).where(
            Customer.merged_into_id.is_(None)).limit(20)
        candidates = list(db_session().scalars(stmt))
    keep = {k: v for k, v in request.args.items() if k in ("call_id", "phone", "name")}
    return render_template("tickets/choose_customer.html", q=q, candidates=candidates,
                           keep=keep)


# --- one ticket ----------------------------------------------------------------------------

def render_ticket(ticket, *, status: int = 200, stale: bool = False, problem: str | None = None,
                  comment_form: CommentForm | None = None,
                  transition_form: TransitionForm | None = None):
    dbs = db_session()
    transition_form = transition_form or TransitionForm(formdata=None)
    show.transition_choices(dbs, transition_form, ticket, current_user)
    context = show.ticket_context(dbs, ticket, current_user, now=_now())
    return render_template(
        "tickets/view.html", ticket=ticket, stale=stale, problem=problem,
        comment_form=comment_form or CommentForm(formdata=None),
        transition_form=transition_form, attachment_form=AttachmentForm(formdata=None),
        max_upload=settings().ticket_attachment_max_bytes, **context), status


@tickets_bp.route("/<int:ticket_id>")
@permission_required(Permission.TICKET_READ)
def view(ticket_id: int):
    return render_ticket(load(ticket_id))


def _stale(ticket_id: int):
    """The ticket as it is now, with the message that the change was not saved."""
    dbs = db_session()
    dbs.rollback()  # nothing of the refused change stays in the session
    return render_ticket(load(ticket_id), status=409, stale=True)


@tickets_bp.route("/<int:ticket_id>/transition", methods=["POST"])
@permission_required(Permission.TICKET_WRITE)
def transition(ticket_id: int):
    ticket = load(ticket_id)
    form = TransitionForm()
    show.transition_choices(db_session(), form, ticket, current_user)
    if not form.validate_on_submit():
        return render_ticket(ticket, status=REJECTED, transition_form=form,
                             problem=_("Choose one of the buttons to move the ticket on."))
    data = {"to": form.to.data, "version": form.version.data,
            "note": (form.note.data or "").strip()}
    if form.to.data == "assigned":
        data["assignee_id"] = int(form.assignee_id.data) if form.assignee_id.data else None
    if form.to.data == "resolved" and (form.resolution.data or "").strip():
        data["resolution"] = form.resolution.data.strip()
    try:
        transition_ticket(db_session(), current_user, ticket, parse(TicketTransition, data),
                          settings=settings(), now=_now())
    except StaleVersion:
        return _stale(ticket_id)
    except ValidationError as exc:
        db_session().rollback()
        return render_ticket(load(ticket_id), status=REJECTED, transition_form=form,
                             problem=" ".join(describe(p) for p in exc.errors.values())
                             or error_message(exc))
    flash(_("Ticket #%(id)s is now: %(status)s.", id=ticket.id,
            status=show.STATUS_LABELS[ticket.status]), "success")
    return redirect(url_for("tickets.view", ticket_id=ticket.id))


@tickets_bp.route("/<int:ticket_id>/comments", methods=["POST"])
@permission_required(Permission.TICKET_WRITE)
def comment(ticket_id: int):
    ticket = load(ticket_id)
    form = CommentForm()
    if not form.validate_on_submit():
        return render_ticket(ticket, status=REJECTED, comment_form=form)
    try:
        add_comment(db_session(), current_user, ticket, form.body.data,
                    internal=form.internal.data != "0", settings=settings(), now=_now())
    except ValidationError as exc:
        apply_errors(form, exc.errors)
        return render_ticket(ticket, status=REJECTED, comment_form=form)
    flash(_("Internal note added.") if form.internal.data != "0"
          else _("Reply added: the customer sees it."), "success")
    return redirect(url_for("tickets.view", ticket_id=ticket.id, _anchor="conversation"))


@tickets_bp.route("/<int:ticket_id>/edit", methods=["GET", "POST"])
@permission_required(Permission.TICKET_WRITE)
def edit(ticket_id: int):
    ticket = load(ticket_id)
    form = EditTicketForm(obj=ticket if request.method == "GET" else None)
    show.edit_choices(db_session(), form, ticket)
    if request.method == "GET":
        form.version.data = str(ticket.version)
        form.priority.data = ticket.priority.value
        form.installed_product_id.data = str(ticket.installed_product_id or "")
        return render_template("tickets/edit.html", form=form, ticket=ticket, errors=[])
    errors: list[str] = []
    if form.validate_on_submit():
        version = int(form.version.data) if form.version.data.isdigit() else 0
        data = {"version": version, "subject": form.subject.data,
                "description": form.description.data or "", "priority": form.priority.data,
                "installed_product_id": int(form.installed_product_id.data)
                if form.installed_product_id.data else None}
        try:
            update_ticket(db_session(), current_user, ticket, parse(TicketPatch, data),
                          settings=settings(), now=_now())
        except StaleVersion:
            return _stale(ticket_id)
        except ValidationError as exc:
            errors = apply_errors(form, exc.errors)
        else:
            flash(_("Changes saved."), "success")
            return redirect(url_for("tickets.view", ticket_id=ticket.id))
    return render_template("tickets/edit.html", form=form, ticket=ticket,
                           errors=errors), REJECTED


# Attachments (upload and download) live in their own module.
from tickets import views_attachments as _views_attachments  # noqa: E402,F401
