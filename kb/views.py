"""The knowledge base's pages: search (with filters, snippets), an entry (helpful or not,
its versions for editors), and the editor's form. Thin shells over ``kb.search`` and
``kb.items``; an entry a reader may not see is "not found" (404)."""

from __future__ import annotations

import difflib
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from callcenter.auth import permission_required
from callcenter.core.errors import StaleVersion, ValidationError
from callcenter.core.messages import describe, error_message, field_messages
from callcenter.db import db_session
from callcenter.users.models import User
from callcenter.users.permissions import Permission
from kb import items
from kb.categories import ensure_path, path_of, tree
from kb.markdown import render
from kb.models import DefectCode, ItemKind, ItemStatus, KbCategory, KbItem, KbItemModel
from kb.search import search

kb_bp = Blueprint("kb", __name__, url_prefix="/kb")

KIND_LABELS = {ItemKind.ARTICLE: _l("Article"), ItemKind.DEFECT: _l("Defect")}
STATUS_LABELS = {ItemStatus.DRAFT: _l("Draft"), ItemStatus.PUBLISHED: _l("Published"),
                 ItemStatus.ARCHIVED: _l("Archived")}
LANG_LABELS = {"zh": "中文", "en": "English"}
PER_PAGE = 20


@kb_bp.before_request
@login_required
def _require_login():
    """Every knowledge-base page needs a logged-in user."""


def _english() -> bool:
    """Category names in English for a user reading in English."""
    locale = get_locale()
    return bool(locale) and locale.language == "en"


@kb_bp.app_context_processor
def _labels() -> dict[str, Any]:
    return {"kb_kind_labels": KIND_LABELS, "kb_status_labels": STATUS_LABELS,
            "kb_lang_labels": LANG_LABELS, "kb_english": _english}


def _filters() -> dict[str, Any]:
    kind = request.args.get("kind", "")
    lang = request.args.get("lang", "")
    category = request.args.get("category", "")
    return {"kind": kind if kind in {k.value for k in ItemKind} else "",
            "lang": lang if lang in LANG_LABELS else "",
            "model": request.args.get("model", "").strip()[:120],
            "category": int(category) if category.isdigit() and len(category) < 10 else None}


@kb_bp.route("/")
@permission_required(Permission.KB_READ)
def index():
    dbs = db_session()
    question = request.args.get("q", "").strip()[:500]
    filters = _filters()
    editor = items.may_edit(current_user)
    statuses = tuple(ItemStatus) if editor and request.args.get("all") else \
        (ItemStatus.PUBLISHED,)
    query, hits, recent = None, [], []
    if question:
        query, hits = search(dbs, question, kind=filters["kind"] or None,
                             model=filters["model"] or None,
                             category_id=filters["category"], lang=filters["lang"] or None,
                             statuses=statuses, limit=PER_PAGE)
    else:
        stmt = select(KbItem).order_by(KbItem.updated_at.desc(), KbItem.id.desc()) \
            .limit(PER_PAGE)
        if not editor:
            stmt = stmt.where(KbItem.status == ItemStatus.PUBLISHED)
        recent = list(dbs.scalars(stmt))
    models = dbs.scalars(select(KbItemModel.model).distinct().order_by(KbItemModel.model))
    return render_template("kb/index.html", question=question, filters=filters, query=query,
                           hits=hits, recent=recent, editor=editor, models=list(models),
                           categories=tree(dbs))


def _entry_context(item: KbItem) -> dict[str, Any]:
    dbs = db_session()
    category = dbs.get(KbCategory, item.category_id) if item.category_id else None
    code = dbs.get(DefectCode, item.defect_code_id) if item.defect_code_id else None
    return {"item": item, "body_html": render(item.body),
            "solution_html": render(item.solution), "models": items.models_of(dbs, item.id),
            "tags": items.tags_of(dbs, item.id),
            "category_path": path_of(dbs, category, english=_english()),
            "code": code, "editor": items.may_edit(current_user),
            "versions": items.versions_of(dbs, item.id)
            if items.may_edit(current_user) else []}


@kb_bp.route("/<int:item_id>")
@permission_required(Permission.KB_READ)
def entry(item_id: int):
    item = items.get_item(db_session(), current_user, item_id)
    items.count_view(db_session(), item)
    return render_template("kb/entry.html", **_entry_context(item))


@kb_bp.route("/<int:item_id>/feedback", methods=["POST"])
@permission_required(Permission.KB_READ)
def feedback(item_id: int):
    item = items.get_item(db_session(), current_user, item_id, for_update=True)
    helpful = request.form.get("helpful")
    if helpful not in ("1", "0"):
        abort(400)
    items.give_feedback(db_session(), current_user, item, helpful == "1")
    flash(_("Thank you: your feedback is recorded."), "success")
    return redirect(url_for("kb.entry", item_id=item.id))


def _form_data() -> dict[str, Any]:
    form = request.form
    data: dict[str, Any] = {name: form.get(name, "") for name in
                            ("title", "body", "symptom", "cause", "solution")}
    data.update(kind=form.get("kind", "article"), lang=form.get("lang", "zh"),
                models=form.get("models", ""), tags=form.get("tags", ""))
    return data


def _category(form_path: str) -> int | None:
    path = form_path.strip()
    return ensure_path(db_session(), path).id if path else None


def _source_ticket(value: str):
    """The resolved ticket an article is written from (in the editor's scope), if any."""
    if not value.isdigit() or len(value) > 10:
        return None
    from tickets.queries import TicketNotFound, get_ticket
    try:
        return get_ticket(db_session(), current_user, int(value))
    except TicketNotFound:
        abort(404)


def _editor_page(item: KbItem | None, data: dict[str, Any], errors: dict[str, str],
                 status: int = 200, conflict: KbItem | None = None, source=None):
    return render_template("kb/edit.html", item=item, data=data, errors=errors,
                           conflict=conflict, source=source,
                           codes=list(db_session().scalars(select(DefectCode)
                                                          .order_by(DefectCode.code)))), status


@kb_bp.route("/new", methods=["GET", "POST"])
@permission_required(Permission.KB_EDIT)
def new():
    source = _source_ticket(request.values.get("from_ticket", ""))
    if request.method == "GET":
        data = {"kind": request.args.get("kind", "article"), "lang": "zh",
                "status": "draft"}
        if source is not None:
            data.update(title=source.subject, body="\n\n".join(
                part for part in (source.description, source.resolution) if part))
        return _editor_page(None, data, {}, source=source)
    data = _form_data()
    try:
        data["category_id"] = _category(request.form.get("category", ""))
        item = items.create_item(db_session(), current_user,
                                 {**data, "status": request.form.get("status", "draft")})
        if source is not None:
            item.source_ticket_id = source.id
    except ValidationError as exc:
        db_session().rollback()
        return _editor_page(None, {**data, "category": request.form.get("category", "")},
                            field_messages(exc), 422)
    flash(_("Saved."), "success")
    return redirect(url_for("kb.entry", item_id=item.id))


@kb_bp.route("/<int:item_id>/edit", methods=["GET", "POST"])
@permission_required(Permission.KB_EDIT)
def edit(item_id: int):
    dbs = db_session()
    item = items.get_item(dbs, current_user, item_id, for_update=request.method == "POST")
    if request.method == "GET":
        data = {"title": item.title, "body": item.body, "symptom": item.symptom,
                "cause": item.cause, "solution": item.solution, "kind": item.kind.value,
                "lang": item.lang, "status": item.status.value,
                "models": ", ".join(items.models_of(dbs, item.id)),
                "tags": ", ".join(items.tags_of(dbs, item.id)),
                "category": path_of(dbs, dbs.get(KbCategory, item.category_id))
                if item.category_id else ""}
        return _editor_page(item, data, {})
    data = _form_data()
    version = request.form.get("version", "")
    version_n = int(version) if version.isdigit() and len(version) < 10 else None
    try:
        data["category_id"] = _category(request.form.get("category", ""))
        items.update_item(dbs, current_user, item, data, version=version_n)
        items.set_status(dbs, current_user, item, request.form.get("status", "draft"),
                         version=None)
    except StaleVersion as exc:
        dbs.rollback()
        current = items.get_item(dbs, current_user, item_id)
        return _editor_page(current, {**data, "category": request.form.get("category", ""),
                                      "status": request.form.get("status", "draft")},
                            {"_": error_message(exc)}, 409, conflict=current)
    except ValidationError as exc:
        dbs.rollback()
        return _editor_page(items.get_item(dbs, current_user, item_id),
                            {**data, "category": request.form.get("category", ""),
                             "status": request.form.get("status", "draft")},
                            field_messages(exc), 422)
    flash(_("Saved."), "success")
    return redirect(url_for("kb.entry", item_id=item.id))


def _diff_lines(old: str, new: str) -> list[tuple[str, str]]:
    """(kind, text) per line of what changed, two lines of context around each change:
    kind "add", "del", "ctx", or "gap" between changes far apart."""
    out: list[tuple[str, str]] = []
    for line in list(difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="",
                                          n=2))[2:]:
        if line.startswith("@@"):
            if out:
                out.append(("gap", "…"))
            continue
        kind = {"+": "add", "-": "del"}.get(line[:1], "ctx")
        out.append((kind, line[1:]))
    return out


@kb_bp.route("/<int:item_id>/versions/<int:version>")
@permission_required(Permission.KB_EDIT)
def version_diff(item_id: int, version: int):
    """What version ``version`` changed against the one before it."""
    dbs = db_session()
    item = items.get_item(dbs, current_user, item_id)
    versions = {v.version: v for v in items.versions_of(dbs, item.id)}
    if version not in versions:
        abort(404)
    after = versions[version]
    before = versions.get(max((v for v in versions if v < version), default=0))
    changes = []
    for field, label in (("title", _("Title")), ("body", _("Text")),
                         ("symptom", _("Symptom")), ("cause", _("Cause")),
                         ("solution", _("Solution")), ("status", _("Status"))):
        old = str(getattr(before, field) or "") if before else ""
        new_ = str(getattr(after, field) or "")
        if old != new_:
            changes.append((label, _diff_lines(old, new_)))
    author = dbs.get(User, after.changed_by_id) if after.changed_by_id else None
    return render_template("kb/version.html", item=item, after=after, before=before,
                           changes=changes,
                           author=(author.display_name or author.username) if author else "")


@kb_bp.route("/synonyms", methods=["GET", "POST"])
@permission_required(Permission.KB_EDIT)
def synonyms_page():
    """The synonym groups editors keep: add, change, remove (one form per group)."""
    from kb import synonyms as syn
    from kb.models import KbSynonym
    dbs = db_session()
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        action = request.form.get("action", "save")
        raw_id = request.form.get("id", "")
        synonym_id = int(raw_id) if raw_id.isdigit() and len(raw_id) < 10 else None
        try:
            if action == "delete" and synonym_id is not None:
                syn.delete_synonyms(dbs, current_user, synonym_id)
            else:
                syn.save_synonyms(dbs, current_user, {"terms": request.form.get("terms", "")},
                                  synonym_id)
            flash(_("Saved."), "success")
            return redirect(url_for("kb.synonyms_page"))
        except ValidationError as exc:
            dbs.rollback()
            errors = {str(synonym_id or "new"): describe(exc.errors["terms"])}
            status = 422
    groups = list(dbs.scalars(select(KbSynonym).order_by(KbSynonym.id)))
    return render_template("kb/synonyms.html", groups=groups, errors=errors,
                           posted=request.form.get("terms", "")), status
