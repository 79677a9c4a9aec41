"""The access matrix of the knowledge base's API: every endpoint x every role, computed
from ``ROLE_PERMISSIONS`` (the knowledge base has no record scope: what a role may read
is the published entries, and drafts only with ``kb.edit``). No permission: 403, and
nothing written; a draft for a reader: 404, like a missing entry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from api_helpers import bearer
from sqlalchemy import func, select

from callcenter.users.models import Role
from callcenter.users.permissions import ROLE_PERMISSIONS, Permission
from kb import items
from kb.categories import ensure_path
from kb.models import KbCategory, KbFeedback, KbItem, KbSynonym

ROLES = list(Role)
READ, EDIT = Permission.KB_READ, Permission.KB_EDIT


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    rule: str
    permission: Permission
    url: Callable[[dict], str]
    body: Callable[[dict], Any] | None = None
    ok: int = 200
    draft: bool = False        # the target is a draft: readers without kb.edit get 404


def world(session, make_user) -> dict:
    editor = make_user("supervisor", username="kb_editor")
    published = items.create_item(session, editor, {"title": "压缩机异响",
                                                    "status": "published"})
    draft = items.create_item(session, editor, {"title": "草稿"})
    synonym = KbSynonym(terms="a, b")
    session.add(synonym)
    category = ensure_path(session, "服务/空调")
    session.flush()
    return {"published": published.id, "draft": draft.id, "synonym": synonym.id,
            "category": category.id}


ITEM = "/api/v1/kb/items/<id:item_id>"
CASES = [
    Case("search", "GET", "/api/v1/kb/search", READ, lambda w: "/api/v1/kb/search?q=压缩机"),
    Case("suggest", "GET", "/api/v1/kb/suggestions", READ,
         lambda w: "/api/v1/kb/suggestions?q=压缩机"),
    Case("list", "GET", "/api/v1/kb/items", READ, lambda w: "/api/v1/kb/items"),
    Case("read", "GET", ITEM, READ, lambda w: f"/api/v1/kb/items/{w['published']}"),
    Case("read draft", "GET", ITEM, READ, lambda w: f"/api/v1/kb/items/{w['draft']}",
         draft=True),
    Case("create", "POST", "/api/v1/kb/items", EDIT, lambda w: "/api/v1/kb/items",
         lambda w: {"title": "新条目"}, ok=201),
    Case("patch", "PATCH", ITEM, EDIT, lambda w: f"/api/v1/kb/items/{w['published']}",
         lambda w: {"title": "改", "version": 1}),
    Case("feedback", "POST", ITEM + "/feedback", READ,
         lambda w: f"/api/v1/kb/items/{w['published']}/feedback",
         lambda w: {"helpful": True}),
    Case("feedback on a draft", "POST", ITEM + "/feedback", READ,
         lambda w: f"/api/v1/kb/items/{w['draft']}/feedback",
         lambda w: {"helpful": True}, draft=True),
    Case("versions", "GET", ITEM + "/versions", EDIT,
         lambda w: f"/api/v1/kb/items/{w['published']}/versions"),
    Case("codes", "GET", "/api/v1/kb/defect-codes", READ, lambda w: "/api/v1/kb/defect-codes"),
    Case("save code", "POST", "/api/v1/kb/defect-codes", EDIT,
         lambda w: "/api/v1/kb/defect-codes",
         lambda w: {"code": "X-1", "name": "x", "defect_class": "product"}),
    Case("categories", "GET", "/api/v1/kb/categories", READ,
         lambda w: "/api/v1/kb/categories"),
    Case("add category", "POST", "/api/v1/kb/categories", EDIT,
         lambda w: "/api/v1/kb/categories", lambda w: {"path": "服务/空调"}, ok=201),
    Case("rename category", "PUT", "/api/v1/kb/categories/<id:category_id>", EDIT,
         lambda w: f"/api/v1/kb/categories/{w['category']}",
         lambda w: {"name": "冷气", "name_en": "Air conditioning"}),
    Case("remove category", "DELETE", "/api/v1/kb/categories/<id:category_id>", EDIT,
         lambda w: f"/api/v1/kb/categories/{w['category']}", ok=204),
    Case("synonyms", "GET", "/api/v1/kb/synonyms", READ, lambda w: "/api/v1/kb/synonyms"),
    Case("add synonyms", "POST", "/api/v1/kb/synonyms", EDIT,
         lambda w: "/api/v1/kb/synonyms", lambda w: {"terms": "c, d"}, ok=201),
    Case("change synonyms", "PUT", "/api/v1/kb/synonyms/<id:synonym_id>", EDIT,
         lambda w: f"/api/v1/kb/synonyms/{w['synonym']}", lambda w: {"terms": "e, f"}),
    Case("remove synonyms", "DELETE", "/api/v1/kb/synonyms/<id:synonym_id>", EDIT,
         lambda w: f"/api/v1/kb/synonyms/{w['synonym']}", ok=204),
]


def expected(case: Case, role: Role) -> int:
    granted = ROLE_PERMISSIONS[role]
    if case.permission not in granted:
        return 403
    if case.draft and EDIT not in granted:
        return 404
    return case.ok


def _written(session) -> tuple:
    return (session.scalar(select(func.count()).select_from(KbItem)),
            session.scalar(select(func.count()).select_from(KbFeedback)),
            session.scalar(select(func.count()).select_from(KbSynonym)),
            session.scalar(select(func.count()).select_from(KbCategory)),
            tuple(session.scalars(select(KbCategory.name).order_by(KbCategory.id))),
            session.scalar(select(func.max(KbItem.version))))


@pytest.mark.parametrize("role", ROLES, ids=str)
def test_kb_matrix(role: Role, session, make_user, client, connection):
    """Every endpoint for one role, against one world: each case runs inside a savepoint
    rolled back after it, so no case sees another's writes (one world per role, not per
    case: the matrix ran 88 s that way, most of it building worlds)."""
    w = world(session, make_user)
    caller = make_user(role.value, token=True)
    session.flush()
    wrong = []
    for case in CASES:
        savepoint = connection.begin_nested()
        try:
            before = _written(session)
            r = client.open(case.url(w), method=case.method,
                            json=case.body(w) if case.body else None, headers=bearer(caller))
            if r.status_code != expected(case, role):
                wrong.append(f"{case.name}: {r.status_code}, expected {expected(case, role)}: "
                             f"{r.get_data(True)[:200]}")
            elif r.status_code >= 400:
                session.expire_all()
                if _written(session) != before:   # refused: nothing written
                    wrong.append(f"{case.name}: refused but wrote")
        finally:
            session.expire_all()
            savepoint.rollback()
    assert wrong == []


def test_unauthenticated_callers_get_401(client, session, make_user):
    w = world(session, make_user)
    for case in CASES:
        r = client.open(case.url(w), method=case.method,
                        json=case.body(w) if case.body else None)
        assert r.status_code == 401, case.name


def test_the_matrix_covers_every_kb_rule(app):
    served = {(method, rule.rule) for rule in app.url_map.iter_rules()
              if rule.rule.startswith("/api/v1/kb/")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert served == {(case.method, case.rule) for case in CASES}
