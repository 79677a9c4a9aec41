"""Customer pages: search, the 360° page, create and edit forms, contacts, history.

Thin shells over ``callcenter.customers.services``: every read goes through
``customers_query``/``get_customer`` (the user's scope in SQL), every write checks the
role's permission first (403) and the record's scope second (404: a customer outside
one's scope looks exactly like one that does not exist).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from callcenter.auth import permission_required
from callcenter.core.display import phone_label
from callcenter.core.errors import StaleVersion, ValidationError
from callcenter.core.pagination import Page, fetch_page
from callcenter.customers.forms import (
    ADDRESS_PURPOSES,
    LIFECYCLE_LABELS,
    TIER_LABELS,
    ContactForm,
    CustomerForm,
    apply_errors,
    changed_meanwhile,
    phone_lines,
)
from callcenter.customers.history import customer_history
from callcenter.customers.models import Contact, Customer
from callcenter.customers.phones import try_normalise_phone
from callcenter.customers.services import (
    CustomerNotFound,
    add_contact,
    create_customer,
    customers_query,
    get_customer,
    update_customer,
)
from callcenter.db import db_session
from callcenter.users.models import Department, User
from callcenter.users.permissions import Permission

customers_bp = Blueprint("customers", __name__, url_prefix="/customers")

PER_PAGE = 25
#: Status of a form page whose input was rejected. (The request still commits: services
#: reject input before they change anything; see callcenter.db.)
REJECTED = 422


@customers_bp.before_request
@login_required
def _require_login():
    """Every customer page needs a logged-in user (login_required on the whole blueprint)."""


@customers_bp.app_template_filter("phone")
def _phone_filter(phone) -> str:
    """A Phone (with its extension) or an E.164 string, in the one display format."""
    return phone_label(phone, region())


@customers_bp.app_context_processor
def _labels() -> dict:
    from callcenter.products.forms import WARRANTY_LABELS
    return {"TIER_LABELS": TIER_LABELS, "LIFECYCLE_LABELS": LIFECYCLE_LABELS,
            "WARRANTY_LABELS": WARRANTY_LABELS, "ADDRESS_PURPOSES": ADDRESS_PURPOSES}


def region() -> str:
    return current_app.config["DEFAULT_PHONE_REGION"]


def today() -> date:
    """Today in the call center's time zone (warranty ends on a local date)."""
    return datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date()


def load_customer(customer_id: int, *, live: bool = False) -> Customer:
    """The customer if the current user may see it; 404 otherwise (same as not existing).

    ``live``: for changes; a record merged into another is history, not to be edited.
    """
    customer = get_customer(db_session(), current_user, customer_id)
    if live and customer.merged_into_id is not None:
        raise CustomerNotFound(customer_id)
    return customer


def visible_or_none(customer_id: int | None) -> Customer | None:
    if customer_id is None:
        return None
    try:
        return load_customer(customer_id)
    except CustomerNotFound:
        return None


def rejected(template: str, **context):
    return render_template(template, **context), REJECTED


def paginate(stmt, page: int, per_page: int = PER_PAGE) -> Page:
    """One page of ``stmt``'s rows; a page past the end shows the last one."""
    return fetch_page(db_session(), stmt, page=page, per_page=per_page, clamp=True)


# --- reading --------------------------------------------------------------------------

@customers_bp.route("/")
@permission_required(Permission.CUSTOMER_READ)
def search():
    q = request.args.get("q", "").strip()[:200]
    stmt = customers_query(current_user, q=q or None, region_code=region())
    stmt = stmt.options(selectinload(Customer.phones))
    result = paginate(stmt, request.args.get("page", 1, type=int))
    return render_template("customers/search.html", q=q, result=result)


def _through_call(customer_id: int) -> Customer:
    """The customer in the user's scope, or outside it through the call named by
    ``?call=`` while that call is theirs (callcenter.calls.access), audited; else 404."""
    try:
        return load_customer(customer_id)
    except CustomerNotFound:
        call_id = request.args.get("call")
        if not call_id:
            raise
    from callcenter.audit.services import record
    from callcenter.calls.access import call_opens_customer
    from callcenter.jobs import redis_connection

    settings = current_app.config["SETTINGS"]
    dbs = db_session()
    if not call_opens_customer(dbs, redis_connection(settings), current_user, call_id,
                               customer_id, now=datetime.now(UTC),
                               window_h=settings.call_access_hours):
        raise CustomerNotFound(customer_id)
    customer = dbs.get(Customer, customer_id)
    if customer is None:
        raise CustomerNotFound(customer_id)
    record(dbs, current_user, "customer.viewed_via_call", entity="customer",
           entity_id=customer.id, call_id=call_id, detail=request.path)
    return customer


@customers_bp.route("/<int:customer_id>")
@permission_required(Permission.CUSTOMER_READ)
def detail(customer_id: int):
    customer = _through_call(customer_id)
    via_call = request.args.get("call") if visible_or_none(customer.id) is None else None
    if customer.merged_into_id and via_call is None:
        survivor = visible_or_none(customer.merged_into_id)
        if survivor is not None:
            flash(_("%(name)s was merged into this customer.", name=customer.name), "info")
            return redirect(url_for("customers.detail", customer_id=survivor.id))
    dbs = db_session()
    contacts = list(dbs.scalars(select(Contact).where(Contact.customer_id == customer.id)
                                .options(selectinload(Contact.phones)).order_by(Contact.id)))
    partners = {role: (getattr(customer, f"{role}_id"),
                       visible_or_none(getattr(customer, f"{role}_id")))
                for role in ("ship_to", "bill_to", "payer")}
    from callcenter.customers.timeline import merged_timeline
    from callcenter.customers.views_merge import possible_duplicates
    from callcenter.products.views import products_with_state
    from tickets.timeline import customer_tickets, is_open, ticket_events
    calls = _customer_calls(customer.id)
    changes = customer_history(dbs, customer.id, limit=20)
    tickets = customer_tickets(dbs, current_user, customer.id)
    return render_template(
        "customers/detail.html", customer=customer, contacts=contacts, partners=partners,
        products=products_with_state(customer, today()),
        duplicates=possible_duplicates(dbs, current_user, customer),
        changes=changes[:5], calls=calls, tickets=tickets, via_call=via_call,
        open_tickets=[t for t in tickets if is_open(t)],
        timeline=merged_timeline(calls, ticket_events(tickets), changes))


#: Calls shown on the 360° page (newest first).
CALLS_ON_PAGE = 10


def _customer_calls(customer_id: int) -> list[dict]:
    """The customer's last calls for the 360° page: call, agent's name, labels, durations.
    The customer is in the user's scope, so their calls are too."""
    from callcenter.calls.labels import (
        DISPOSITION_LABELS,
        OUTCOME_LABELS,
        OUTCOME_TONES,
        format_duration,
        queue_labels,
    )
    from callcenter.calls.services import customer_calls, user_names

    dbs = db_session()
    calls = customer_calls(dbs, customer_id, limit=CALLS_ON_PAGE)
    queues = queue_labels(dbs) if calls else {}
    users = user_names(dbs, [c.agent_id for c in calls])
    rows = []
    for call in calls:
        agent = users.get(call.agent_id)
        rows.append({
            "call": call,
            "queue": queues.get(call.queue, call.queue) if call.queue else None,
            "agent": (agent.display_name or agent.username) if agent else None,
            "outcome": OUTCOME_LABELS.get(call.outcome, call.outcome),
            "tone": OUTCOME_TONES.get(call.outcome, "muted"),
            "wait": format_duration(call.wait_s),
            "talk": format_duration(call.talk_s),
            "disposition": DISPOSITION_LABELS.get(call.disposition, call.disposition)
            if call.disposition else None,
        })
    return rows


# --- writing --------------------------------------------------------------------------

def _choices(form: CustomerForm) -> None:
    dbs = db_session()
    users = dbs.scalars(select(User).where(User.active.is_(True))
                        .order_by(User.display_name, User.username))
    form.responsible_id.choices = [SelectChoice("", _("— nobody —"))] + [
        SelectChoice(str(u.id), f"{u.display_name} ({u.username})") for u in users]
    departments = list(dbs.scalars(select(Department)))
    names = {d.id: d.name for d in departments}
    labelled = sorted(
        (" / ".join(names.get(int(i), "?") for i in d.path.strip("/").split("/") if i), d.id)
        for d in departments)
    form.department_id.choices = [SelectChoice("", _("— none —"))] + [
        SelectChoice(str(i), label) for label, i in labelled]


def _as_int(value: str | None) -> int | None:
    return int(value) if value else None


def _customer_data(form: CustomerForm) -> dict:
    """The service's input from the form (the service refuses partners the user cannot
    see exactly like ones that do not exist)."""
    data = {
        "name": form.name.data, "tax_id": form.tax_id.data or "",
        "email": form.email.data or "", "region": form.region.data or "",
        "industry": form.industry.data or "", "notes": form.notes.data or "",
        "lifecycle": form.lifecycle.data, "tier": form.tier.data,
        "is_placeholder": bool(form.is_placeholder.data),
        "responsible_id": _as_int(form.responsible_id.data),
        "department_id": _as_int(form.department_id.data),
        "ship_to_id": form.ship_to_id.data, "bill_to_id": form.bill_to_id.data,
        "phones": phone_lines(form.phones.data),
    }
    if form.payer_id.data is not None:
        data["payer_id"] = form.payer_id.data
    return data


def _save_customer(form: CustomerForm, customer: Customer | None):
    """Create or update from a validated form; (customer, None) or (None, form-level
    errors). An edit of a version changed meanwhile raises StaleVersion."""
    data = _customer_data(form)
    try:
        if customer is None:
            # Left empty on a new record: the creator and their department (the default).
            for field in ("responsible_id", "department_id"):
                if data[field] is None:
                    del data[field]
            return create_customer(db_session(), current_user, data, region=region()), None
        # The version the form was filled from; none sent (a form of our own always
        # sends it): last writer wins, as with an API PATCH without one.
        version = (form.version.data or "").strip()
        if version:
            data["version"] = int(version) if version.isascii() and version.isdigit() \
                and len(version) <= 10 else 0
        return update_customer(db_session(), current_user, customer, data,
                               region=region()), None
    except ValidationError as exc:
        return None, apply_errors(form, exc.errors)


@customers_bp.route("/new", methods=["GET", "POST"])
@permission_required(Permission.CUSTOMER_CREATE)
def create():
    form = CustomerForm()
    _choices(form)
    if request.method == "GET":
        form.responsible_id.data = str(current_user.id)
        form.department_id.data = str(current_user.department_id or "")
        form.lifecycle.data = "potential"
        # Coming from a search that found nothing: start with what was searched for.
        typed = request.args.get("q", "").strip()[:200]
        if try_normalise_phone(typed, region()):
            form.phones.data = typed
        else:
            form.name.data = typed
    elif form.validate_on_submit():
        customer, leftover = _save_customer(form, None)
        if customer is not None:
            flash(_("Customer %(name)s created.", name=customer.name), "success")
            return redirect(url_for("customers.detail", customer_id=customer.id))
        return rejected("customers/form.html", form=form, customer=None, errors=leftover)
    else:
        return rejected("customers/form.html", form=form, customer=None, errors=[])
    return render_template("customers/form.html", form=form, customer=None, errors=[])


@customers_bp.route("/<int:customer_id>/edit", methods=["GET", "POST"])
@permission_required(Permission.CUSTOMER_UPDATE)
def edit(customer_id: int):
    customer = load_customer(customer_id, live=True)
    form = CustomerForm(obj=customer if request.method == "GET" else None)
    _choices(form)
    if request.method == "GET":
        _fill_from(form, customer)
    elif form.validate_on_submit():
        try:
            saved, leftover = _save_customer(form, customer)
        except StaleVersion:
            return _changed_meanwhile(form, customer)
        if saved is not None:
            flash(_("Changes saved."), "success")
            return redirect(url_for("customers.detail", customer_id=customer.id))
        return rejected("customers/form.html", form=form, customer=customer, errors=leftover)
    else:
        return rejected("customers/form.html", form=form, customer=customer, errors=[])
    return render_template("customers/form.html", form=form, customer=customer, errors=[])


def _fill_from(form: CustomerForm, customer: Customer) -> None:
    """What ``CustomerForm(obj=customer)`` cannot fill in by itself."""
    form.lifecycle.data = customer.lifecycle.value
    form.tier.data = customer.tier.value
    form.responsible_id.data = str(customer.responsible_id or "")
    form.department_id.data = str(customer.department_id or "")
    form.phones.data = "\n".join(p.raw for p in customer.phones)
    form.version.data = str(customer.version)


def _changed_meanwhile(form: CustomerForm, customer: Customer):
    """Someone saved the customer since this form was filled: nothing is overwritten. The
    form comes back with the user's values, the fields that differ from the saved record
    listed with both values, and the current version (saving again keeps the user's)."""
    db_session().refresh(customer)
    theirs = CustomerForm(formdata=None, obj=customer)
    _choices(theirs)
    _fill_from(theirs, customer)
    form.version.data = str(customer.version)
    return render_template("customers/form.html", form=form, customer=customer, errors=[],
                           conflicts=changed_meanwhile(theirs, form)), 409


@customers_bp.route("/<int:customer_id>/contacts/new", methods=["GET", "POST"])
@permission_required(Permission.CUSTOMER_UPDATE)
def new_contact(customer_id: int):
    customer = load_customer(customer_id, live=True)
    form = ContactForm()
    if form.validate_on_submit():
        try:
            contact = add_contact(db_session(), current_user, customer, {
                "name": form.name.data, "position": form.position.data or "",
                "email": form.email.data or "", "phones": phone_lines(form.phones.data)},
                region=region())
        except ValidationError as exc:
            leftover = apply_errors(form, exc.errors)
        else:
            flash(_("Contact %(name)s added.", name=contact.name), "success")
            return redirect(url_for("customers.detail", customer_id=customer.id,
                                    _anchor="contacts"))
        return rejected("customers/contact_form.html", form=form, customer=customer,
                        errors=leftover)
    if request.method == "POST":
        return rejected("customers/contact_form.html", form=form, customer=customer, errors=[])
    return render_template("customers/contact_form.html", form=form, customer=customer,
                           errors=[])


# Routes for addresses, the change history, and duplicates and merging live in their own
# modules.
from callcenter.customers import views_addresses as _views_addresses  # noqa: E402,F401
from callcenter.customers import views_history as _views_history  # noqa: E402,F401
from callcenter.customers import views_merge as _views_merge  # noqa: E402,F401
