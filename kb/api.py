"""REST routes of the knowledge base (/api/v1/kb/...): search, entries (articles and
defects), feedback, versions, synonyms. Thin: the rules are in ``kb.items``,
``kb.search`` and ``kb.synonyms``. An entry a reader may not see (a draft, for anyone
but an editor) is a 404 like a missing one."""

from __future__ import annotations

import html
from typing import Any

from flask import jsonify, url_for
from sqlalchemy import select

from callcenter.api import PAGE_PARAMS, api_route, arg, created, int_arg, paginate
from callcenter.auth import api_user
from callcenter.core.errors import Problem, ValidationError
from callcenter.db import db_session
from callcenter.openapi import Param
from callcenter.users.permissions import Permission
from kb import items, suggest, synonyms
from kb.categories import ensure_path, path_of, remove_category, rename_category, tree
from kb.codes import describe_codes, save_code
from kb.markdown import render
from kb.models import ItemKind, ItemStatus, KbItem, KbSynonym
from kb.schemas import (
    KbCategoryIn,
    KbCategoryNames,
    KbDefectCodeIn,
    KbFeedbackIn,
    KbItemCreate,
    KbItemPatch,
    KbSynonymIn,
)
from kb.schemas import KbItem as KbItemOut
from kb.search import as_dict, search

MAX_LIMIT = 50


def item_to_dict(item: KbItem) -> dict[str, Any]:
    dbs = db_session()
    return {"id": item.id, "external_id": item.external_id, "kind": item.kind.value,
            "lang": item.lang, "title": item.title, "body": item.body,
            "body_html": render(item.body), "status": item.status.value,
            "category_id": item.category_id, "defect_code_id": item.defect_code_id,
            "symptom": item.symptom, "cause": item.cause, "solution": item.solution,
            "models": items.models_of(dbs, item.id), "tags": items.tags_of(dbs, item.id),
            "views": item.views, "helpful": item.helpful, "not_helpful": item.not_helpful,
            "version": item.version, "created_at": item.created_at.isoformat(),
            "updated_at": item.updated_at.isoformat()}


def _choice(name: str, choices: type) -> str | None:
    value = arg(name)
    if value is not None and value not in {c.value for c in choices}:
        raise ValidationError({name: Problem("choice", {
            "choices": ", ".join(c.value for c in choices)})})
    return value


@api_route("GET", "/kb/search", summary="Search the knowledge base", tag="kb",
           permission=Permission.KB_READ, response="KbSearchResult",
           query=(Param("q", {"type": "string", "maxLength": 500}, "The question, in "
                        "Chinese or English (required)."),
                  Param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                                  "default": 10}, "How many."),
                  Param("kind", {"enum": ["article", "defect"]}, "Only this kind."),
                  Param("model", {"type": "string"}, "Only entries covering this product "
                        "model."),
                  Param("category_id", {"type": "integer", "minimum": 1},
                        "Only this category and those below it."),
                  Param("lang", {"enum": ["zh", "en"]}, "Only this language.")),
           description="Published entries, best first, each with a snippet in which the "
                       "words found are marked. Typos in English words are corrected "
                       "(`corrected`), synonyms editors keep are searched too.")
def kb_search():
    question = arg("q") or ""
    if len(question) > 500:
        raise ValidationError({"q": Problem("too_long", {"max": 500})})
    kind = _choice("kind", ItemKind)
    lang = arg("lang")
    if lang not in (None, "zh", "en"):
        raise ValidationError({"lang": Problem("choice", {"choices": "zh, en"})})
    q, hits = search(db_session(), question, kind=kind, model=arg("model"),
                     category_id=int_arg("category_id"), lang=lang,
                     limit=int_arg("limit", 10, maximum=MAX_LIMIT))
    return jsonify({"items": [as_dict(h) for h in hits], "corrected": q.corrected})


@api_route("GET", "/kb/suggestions", summary="Entries for a problem at hand", tag="kb",
           permission=Permission.KB_READ, response="KbSearchResult",
           query=(Param("q", {"type": "string", "maxLength": 500}, "What the problem is "
                        "about: a ticket's subject and description, a ringing caller's "
                        "open tickets' subjects."),
                  Param("model", {"type": "string"}, "A product model concerned (repeat "
                        "the parameter for several): their entries come first; without "
                        "`q`, the defects known for them."),
                  Param("limit", {"type": "integer", "minimum": 1, "maximum": 20,
                                  "default": 5}, "How many.")),
           description="Used by the desk's screen pop and the technician's job.")
def kb_suggestions():
    from flask import request
    question = (arg("q") or "")[:500]
    models = [m.strip()[:120] for m in request.args.getlist("model") if m.strip()][:10]
    limit = int_arg("limit", 5, maximum=20)
    dbs = db_session()
    if question:
        hits = suggest.for_problem(dbs, question, models, limit=limit)
        return jsonify({"items": [as_dict(h) for h in hits], "corrected": {}})
    found = suggest.defects_for_models(dbs, models, limit=limit)
    return jsonify({"items": [{"id": i.id, "external_id": i.external_id,
                               "kind": i.kind.value, "lang": i.lang, "title": i.title,
                               "snippet": html.escape(i.symptom[:140]), "score": 0.0,
                               "status": i.status.value} for i in found],
                    "corrected": {}})


@api_route("GET", "/kb/items", summary="List knowledge-base entries", tag="kb",
           permission=Permission.KB_READ, response="KbItemPage",
           query=(Param("kind", {"enum": ["article", "defect"]}, "Only this kind."),
                  Param("status", {"enum": ["draft", "published", "archived"]},
                        "Editors: entries in this status (others see published ones)."))
           + PAGE_PARAMS,
           description="Newest change first.")
def kb_items_list():
    stmt = select(KbItem)
    kind, status = _choice("kind", ItemKind), _choice("status", ItemStatus)
    if kind:
        stmt = stmt.where(KbItem.kind == kind)
    if not items.may_edit(api_user()):
        stmt = stmt.where(KbItem.status == ItemStatus.PUBLISHED)
    elif status:
        stmt = stmt.where(KbItem.status == status)
    return jsonify(paginate(stmt.order_by(KbItem.updated_at.desc(), KbItem.id.desc()),
                            item_to_dict))


@api_route("POST", "/kb/items", summary="Write a knowledge-base entry", tag="kb",
           permission=Permission.KB_EDIT, body=KbItemCreate, response=KbItemOut,
           status=201, description="An article, or a defect (symptom, cause, solution).")
def kb_items_create(body: dict[str, Any]):
    item = items.create_item(db_session(), api_user(), body)
    response = created(item_to_dict(item))
    response.headers["Location"] = url_for("api.kb_item_get", item_id=item.id)
    return response


@api_route("GET", "/kb/items/<id:item_id>", summary="A knowledge-base entry", tag="kb",
           permission=Permission.KB_READ, response=KbItemOut,
           description="Counts as a view.")
def kb_item_get(item_id: int):
    item = items.get_item(db_session(), api_user(), item_id)
    items.count_view(db_session(), item)
    return jsonify(item_to_dict(item))


@api_route("PATCH", "/kb/items/<id:item_id>", summary="Change a knowledge-base entry",
           tag="kb", permission=Permission.KB_EDIT, body=KbItemPatch, response=KbItemOut,
           errors=(409,), description="Only the fields sent change; each save is a new "
                                      "version. `status` publishes or archives.")
def kb_item_patch(item_id: int, body: dict[str, Any]):
    dbs = db_session()
    item = items.get_item(dbs, api_user(), item_id, for_update=True)
    version = body.pop("version", None)
    status = body.pop("status", None)
    if body:
        items.update_item(dbs, api_user(), item, body, version=version)
        version = None if version is None else item.version
    if status is not None:
        items.set_status(dbs, api_user(), item, status, version=version)
    return jsonify(item_to_dict(item))


@api_route("POST", "/kb/items/<id:item_id>/feedback", summary="Helpful or not", tag="kb",
           permission=Permission.KB_READ, body=KbFeedbackIn, response=KbItemOut,
           description="The caller's last word counts, once.")
def kb_item_feedback(item_id: int, body: dict[str, Any]):
    item = items.get_item(db_session(), api_user(), item_id, for_update=True)
    items.give_feedback(db_session(), api_user(), item, body["helpful"])
    return jsonify(item_to_dict(item))


@api_route("GET", "/kb/items/<id:item_id>/versions", summary="An entry's versions",
           tag="kb", permission=Permission.KB_EDIT, response="KbVersionList",
           description="Newest first: who saved which version when.")
def kb_item_versions(item_id: int):
    item = items.get_item(db_session(), api_user(), item_id)
    return jsonify({"items": [
        {"version": v.version, "title": v.title, "status": v.status.value,
         "changed_by_id": v.changed_by_id, "changed_at": v.changed_at.isoformat()}
        for v in items.versions_of(db_session(), item.id)]})


@api_route("GET", "/kb/defect-codes", summary="The defect-code taxonomy", tag="kb",
           permission=Permission.KB_READ, response="KbDefectCodeList",
           description="Active codes with their names and class (service or product).")
def kb_defect_codes():
    return jsonify({"items": [{"code": c.code, "name": c.name, "name_en": c.name_en,
                               "defect_class": c.defect_class}
                              for c in describe_codes(db_session()).values()]})


@api_route("POST", "/kb/defect-codes", summary="Add or change a defect code", tag="kb",
           permission=Permission.KB_EDIT, body=KbDefectCodeIn, response="KbDefectCode",
           description="Keyed by `code` (upper case letters, digits, . _ -): an existing "
                       "code is changed.")
def kb_defect_code_save(body: dict[str, Any]):
    row = save_code(db_session(), api_user(), body)
    return jsonify({"code": row.code, "name": row.name, "name_en": row.name_en,
                    "defect_class": row.defect_class.value})


@api_route("GET", "/kb/categories", summary="The category tree", tag="kb",
           permission=Permission.KB_READ, response="KbCategoryList",
           description="Every category, parents before children, with its `path` of names.")
def kb_categories():
    dbs = db_session()
    return jsonify({"items": [{"id": c.id, "parent_id": c.parent_id, "name": c.name,
                               "name_en": c.name_en, "depth": depth,
                               "path": path_of(dbs, c)} for c, depth in tree(dbs)]})


@api_route("POST", "/kb/categories", summary="Add a category (and its missing parents)",
           tag="kb", permission=Permission.KB_EDIT, body=KbCategoryIn,
           response="KbCategory", status=201,
           description='By its path of names, e.g. "服务/空调/压缩机": the levels that do not '
                       "exist yet are made; an existing path answers that category.")
def kb_category_create(body: dict[str, Any]):
    return created(_category_dict(ensure_path(db_session(), body["path"])))


def _category_dict(category) -> dict[str, Any]:
    return {"id": category.id, "parent_id": category.parent_id, "name": category.name,
            "name_en": category.name_en, "depth": category.path.count("/") - 2,
            "path": path_of(db_session(), category)}


@api_route("PUT", "/kb/categories/<id:category_id>", summary="Rename a category",
           tag="kb", permission=Permission.KB_EDIT, body=KbCategoryNames,
           response="KbCategory",
           description="Its place, subcategories and entries stay; a name another "
                       "category on the same level has is refused (422).")
def kb_category_rename(category_id: int, body: dict[str, Any]):
    return jsonify(_category_dict(rename_category(db_session(), api_user(), category_id,
                                                  body)))


@api_route("DELETE", "/kb/categories/<id:category_id>", summary="Remove an empty category",
           tag="kb", permission=Permission.KB_EDIT, status=204,
           description="One that still holds entries or subcategories is refused (409).")
def kb_category_delete(category_id: int):
    remove_category(db_session(), api_user(), category_id)
    return "", 204


@api_route("GET", "/kb/synonyms", summary="Synonym groups", tag="kb",
           permission=Permission.KB_READ, response="KbSynonymList")
def kb_synonyms_list():
    rows = db_session().scalars(select(KbSynonym).order_by(KbSynonym.id))
    return jsonify({"items": [{"id": r.id, "terms": r.terms} for r in rows]})


@api_route("POST", "/kb/synonyms", summary="Add a synonym group", tag="kb",
           permission=Permission.KB_EDIT, body=KbSynonymIn, response="KbSynonym",
           status=201)
def kb_synonyms_create(body: dict[str, Any]):
    row = synonyms.save_synonyms(db_session(), api_user(), body)
    return created({"id": row.id, "terms": row.terms})


@api_route("PUT", "/kb/synonyms/<id:synonym_id>", summary="Change a synonym group",
           tag="kb", permission=Permission.KB_EDIT, body=KbSynonymIn, response="KbSynonym")
def kb_synonyms_update(synonym_id: int, body: dict[str, Any]):
    row = synonyms.save_synonyms(db_session(), api_user(), body, synonym_id)
    return jsonify({"id": row.id, "terms": row.terms})


@api_route("DELETE", "/kb/synonyms/<id:synonym_id>", summary="Remove a synonym group",
           tag="kb", permission=Permission.KB_EDIT, status=204)
def kb_synonyms_delete(synonym_id: int):
    synonyms.delete_synonyms(db_session(), api_user(), synonym_id)
    return "", 204
