"""User administration pages (admins only: Permission.USER_MANAGE).

Thin shells over ``callcenter.users.services``: ``update_user`` and ``register_user``
hold the rules; their UserFieldError is shown next to the fields. A rejected form
answers 422, so anything flushed before the error was found is rolled back.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from callcenter.auth import keep_session, permission_required
from callcenter.core.pagination import Page, fetch_page
from callcenter.db import db_session
from callcenter.users.admin import (
    UserFieldError,
    department_paths,
    register_user,
    update_user,
    users_query,
)
from callcenter.users.forms import (
    LOCALE_LABELS,
    ROLE_LABELS,
    SCOPE_LABELS,
    NewUserForm,
    UserForm,
    apply_user_errors,
)
from callcenter.users.models import User
from callcenter.users.permissions import Permission
from callcenter.users.services import issue_api_token

users_bp = Blueprint("users", __name__, url_prefix="/admin/users")

PER_PAGE = 50
REJECTED = 422


@users_bp.before_request
@login_required
def _require_login():
    """Every page here needs a logged-in user; each view then needs USER_MANAGE."""


@users_bp.context_processor
def _labels() -> dict:
    return {"ROLE_LABELS": ROLE_LABELS, "SCOPE_LABELS": SCOPE_LABELS,
            "LOCALE_LABELS": LOCALE_LABELS}


def _paginate(stmt, page: int) -> Page:
    return fetch_page(db_session(), stmt, page=page, per_page=PER_PAGE, clamp=True)


def _load(user_id: int) -> User:
    user = db_session().get(User, user_id)
    if user is None:
        abort(404)
    return user


def _form_page(template: str, form, user: User | None, errors: list[str], status: int = 200):
    paths = department_paths(db_session())
    return render_template(template, form=form, user=user, errors=errors,
                           department_paths=sorted(set(paths.values()))), status


@users_bp.route("")
@permission_required(Permission.USER_MANAGE)
def index():
    q = request.args.get("q", "").strip()[:200]
    result = _paginate(users_query(q or None), request.args.get("page", 1, type=int))
    return render_template("users/list.html", q=q, result=result,
                           paths=department_paths(db_session()))


@users_bp.route("/new", methods=["GET", "POST"])
@permission_required(Permission.USER_MANAGE)
def create():
    form = NewUserForm()
    if request.method == "GET":
        return _form_page("users/form.html", form, None, [])
    if not form.validate_on_submit():
        return _form_page("users/form.html", form, None, [], REJECTED)
    try:
        user = register_user(db_session(), current_user, form.data_for_service())
    except UserFieldError as exc:
        leftover = apply_user_errors(form, exc)
        return _form_page("users/form.html", form, None, leftover, REJECTED)
    flash(_("User %(name)s created.", name=user.username), "success")
    return redirect(url_for("users.edit", user_id=user.id))


@users_bp.route("/<int:user_id>/edit", methods=["GET", "POST"])
@permission_required(Permission.USER_MANAGE)
def edit(user_id: int):
    user = _load(user_id)
    if request.method == "GET":
        form = UserForm(obj=user)
        form.role.data = user.role.value
        form.scope.data = user.scope.value
        form.department.data = department_paths(db_session()).get(user.department_id, "") \
            if user.department_id else ""
        form.interface.data = user.interface or ""
        return _form_page("users/form.html", form, user, [])
    form = UserForm()
    if not form.validate_on_submit():
        return _form_page("users/form.html", form, user, [], REJECTED)
    try:
        update_user(db_session(), current_user, user, form.changes())
    except UserFieldError as exc:
        leftover = apply_user_errors(form, exc)
        return _form_page("users/form.html", form, user, leftover, REJECTED)
    if user.id == current_user.id and form.password.data:
        keep_session(user)  # a new password of one's own ends the other sessions only
    flash(_("Changes to %(name)s saved.", name=user.username), "success")
    return redirect(url_for("users.index"))


@users_bp.route("/<int:user_id>/token", methods=["POST"])
@permission_required(Permission.USER_MANAGE)
def token(user_id: int):
    """A new API token (the old one stops working), shown on this page once only."""
    user = _load(user_id)
    plain = issue_api_token(db_session(), user)
    response = render_template("users/token.html", user=user, token=plain)
    return response, 200, {"Cache-Control": "no-store", "Pragma": "no-cache"}
