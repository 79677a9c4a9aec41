"""The pages where editors keep the knowledge base's two taxonomies: the category tree
(add by path, rename, remove an empty one) and the defect codes (add, rename, change the
class, withdraw). Thin shells over ``kb.categories`` and ``kb.codes``; a form that does
not pass shows the page again with its errors (422) and what was typed."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from callcenter.auth import permission_required
from callcenter.core.errors import AppError, ValidationError
from callcenter.core.messages import error_message, field_messages
from callcenter.db import db_session
from callcenter.users.permissions import Permission
from kb.categories import ensure_path, entry_counts, remove_category, rename_category, tree
from kb.codes import all_codes, save_code
from kb.views import kb_bp


def _form_id() -> int | None:
    raw = request.form.get("id", "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


@kb_bp.route("/categories", methods=["GET", "POST"])
@permission_required(Permission.KB_EDIT)
def categories_page():
    dbs = db_session()
    errors: dict[str, dict[str, str]] = {}
    failure = ""
    status = 200
    if request.method == "POST":
        action = request.form.get("action", "add")
        category_id = _form_id()
        key = str(category_id) if category_id else "new"
        try:
            if action == "add":
                names_en = tuple(n.strip() for n in
                                 request.form.get("path_en", "").replace("／", "/").split("/"))
                ensure_path(dbs, request.form.get("path", ""), names_en=names_en)
            elif action == "delete" and category_id:
                remove_category(dbs, current_user, category_id)
            elif category_id:
                rename_category(dbs, current_user, category_id,
                                {"name": request.form.get("name", ""),
                                 "name_en": request.form.get("name_en", "")})
            flash(_("Saved."), "success")
            return redirect(url_for("kb.categories_page"))
        except ValidationError as exc:
            dbs.rollback()
            errors[key], status = field_messages(exc), 422
        except AppError as exc:
            dbs.rollback()
            failure, status = error_message(exc), exc.status
    counts = entry_counts(dbs)
    nodes = tree(dbs)
    parents = {c.parent_id for c, _depth in nodes}
    rows = [(c, depth, counts.get(c.id, 0), c.id in parents) for c, depth in nodes]
    return render_template("kb/categories.html", rows=rows, errors=errors, failure=failure,
                           posted=request.form), status


@kb_bp.route("/defect-codes", methods=["GET", "POST"])
@permission_required(Permission.KB_EDIT)
def defect_codes_page():
    dbs = db_session()
    errors: dict[str, dict[str, str]] = {}
    status = 200
    if request.method == "POST":
        key = request.form.get("key", "new")[:40]
        data: dict[str, Any] = {
            "code": request.form.get("code", ""), "name": request.form.get("name", ""),
            "name_en": request.form.get("name_en", ""),
            "defect_class": request.form.get("defect_class", ""),
            "active": request.form.get("active") == "on"}
        try:
            save_code(dbs, current_user, data)
            flash(_("Saved."), "success")
            return redirect(url_for("kb.defect_codes_page"))
        except ValidationError as exc:
            dbs.rollback()
            errors[key], status = field_messages(exc), 422
    return render_template("kb/defect_codes.html", rows=all_codes(dbs), errors=errors,
                           posted=request.form), status
