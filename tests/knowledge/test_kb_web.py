"""The knowledge base's pages through a logged-in browser session (CSRF on): search with
snippets, an entry, helpful, the editor's form (a stale one says so and saves nothing),
versions with what changed, and who may see and do what."""

from __future__ import annotations

import re

from webtools import login, text

from kb import items
from kb.codes import describe_codes


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_search_open_and_mark_helpful(client, session, make_user):
    editor = make_user("supervisor", username="ed")
    make_user("agent", username="ag")
    item = items.create_item(session, editor, {
        "title": "空调压缩机异响", "status": "published", "lang": "zh",
        "body": "压缩机皮带磨损会有异响。<script>alert(1)</script>"})
    items.create_item(session, editor, {"title": "压缩机草稿", "body": "压缩机"})
    assert login(client, "ag").status_code == 302
    page = text(client.get("/kb/?q=压缩机有异响"))
    assert "空调压缩机异响" in page and "<mark>压缩机</mark>" in page
    assert "压缩机草稿" not in page and "New article" not in page
    entry = text(client.get(f"/kb/{item.id}"))
    assert "&lt;script&gt;" in entry and "<script>alert" not in entry
    r = client.post(f"/kb/{item.id}/feedback", data={"helpful": "1", "csrf_token": _csrf(entry)})
    assert r.status_code == 302
    session.refresh(item)
    assert item.helpful == 1 and item.views >= 1
    assert client.post(f"/kb/{item.id}/feedback", data={"helpful": "1"}).status_code == 400
    assert client.get(f"/kb/{item.id}/edit").status_code == 403
    draft_id = items.create_item(session, editor, {"title": "草稿二", "body": "x"}).id
    assert client.get(f"/kb/{draft_id}").status_code == 404


def test_edit_then_the_search_finds_the_new_words_and_versions_show_it(client, session,
                                                                       make_user):
    editor = make_user("supervisor", username="ed")
    item = items.create_item(session, editor, {"title": "发电机无法启动", "status": "published",
                                               "body": "检查电瓶电压。"})
    assert login(client, "ed").status_code == 302
    form = text(client.get(f"/kb/{item.id}/edit"))
    fields = {"csrf_token": _csrf(form), "version": "1", "title": "发电机无法启动",
              "kind": "article", "lang": "zh", "status": "published", "category": "服务/发电机",
              "models": "GX-9 发电机组", "tags": "", "body": "更换燃油滤清器后再启动。",
              "symptom": "", "cause": "", "solution": ""}
    assert client.post(f"/kb/{item.id}/edit", data=fields).status_code == 302
    assert "发电机无法启动" in text(client.get("/kb/?q=燃油滤清器"))
    assert "发电机无法启动" not in text(client.get("/kb/?q=电瓶电压"))
    stale = client.post(f"/kb/{item.id}/edit", data={**fields, "body": "lost words"})
    assert stale.status_code == 409 and "Changed meanwhile" in text(stale)
    session.expire_all()
    assert "lost words" not in items.get_item(session, editor, item.id).body
    diff = text(client.get(f"/kb/{item.id}/versions/2"))
    hidden = '<span class="visually-hidden">'
    assert f'kb-diff__add">{hidden}Added: </span>更换燃油滤清器后再启动。' in diff
    assert f'kb-diff__del">{hidden}Removed: </span>检查电瓶电压。' in diff
    assert "Solution" not in diff   # only what changed
    # the browser's CRLF is not a change: saving the same text again makes no version
    fields = {**fields, "version": "2", "body": "更换燃油滤清器后再启动。\r\n仍不行请派工。"}
    assert client.post(f"/kb/{item.id}/edit", data=fields).status_code == 302
    assert client.post(f"/kb/{item.id}/edit", data={**fields, "version": "3"}).status_code == 302
    session.expire_all()
    saved = items.get_item(session, editor, item.id)
    assert saved.version == 3 and saved.body == "更换燃油滤清器后再启动。\n仍不行请派工。"
    bad = client.post(f"/kb/{item.id}/edit", data={**fields, "version": "3", "title": " "})
    assert bad.status_code == 422


def test_a_new_defect_through_the_form(client, session, make_user):
    make_user("supervisor", username="ed")
    assert login(client, "ed").status_code == 302
    form = text(client.get("/kb/new?kind=defect"))
    r = client.post("/kb/new", data={
        "csrf_token": _csrf(form), "title": "Door pump leaks", "kind": "defect", "lang": "en",
        "status": "published", "category": "Service/Doors", "models": "HT6120, HT6800",
        "tags": "door", "symptom": "Door closes slowly", "cause": "Torn diaphragm",
        "solution": "1. Replace the pump", "body": ""})
    assert r.status_code == 302
    page = text(client.get(r.headers["Location"]))
    assert "Torn diaphragm" in page and "<ol>" in page and "HT6800" in page
    assert "Door pump leaks" in text(client.get("/kb/?q=door+closes+slowly&kind=defect"))


def test_a_ticket_page_suggests_answers_and_a_resolved_one_becomes_an_article(
        app, client, session, make_user):
    from callcenter.customers.services import create_customer
    from kb.models import KbItem
    from tickets.models import TicketStatus
    from tickets.services import create_ticket

    editor = make_user("supervisor", username="ed", scope="all")
    items.create_item(session, editor, {"title": "车门气泵故障，车门无法关闭",
                                        "status": "published", "kind": "defect",
                                        "symptom": "乘客门关不上", "cause": "气泵膜片破损",
                                        "solution": "1. 更换气泵"})
    customer = create_customer(session, editor, {"name": "北京公交"}, region="CN")
    ticket = create_ticket(session, editor, {
        "type": "service_request", "subject": "前门关不上",
        "description": "车门气泵有漏气声", "customer_id": customer.id},
        settings=app.config["SETTINGS"])
    assert login(client, "ed").status_code == 302
    page = text(client.get(f"/tickets/{ticket.id}"))
    assert "Suggested answers" in page and "车门气泵故障，车门无法关闭" in page
    assert "data-kb-from-ticket" not in page   # not resolved yet
    ticket.status, ticket.resolution = TicketStatus.RESOLVED, "更换了车门气泵膜片。"
    session.flush()
    page = text(client.get(f"/tickets/{ticket.id}"))
    assert f"/kb/new?from_ticket={ticket.id}" in page
    form = text(client.get(f"/kb/new?from_ticket={ticket.id}"))
    assert "前门关不上" in form and "更换了车门气泵膜片。" in form
    r = client.post("/kb/new", data={
        "csrf_token": _csrf(form), "from_ticket": str(ticket.id), "title": "前门关不上怎么办",
        "kind": "article", "lang": "zh", "status": "draft", "category": "", "models": "",
        "tags": "", "body": "更换了车门气泵膜片。", "symptom": "", "cause": "", "solution": ""})
    assert r.status_code == 302
    made = session.query(KbItem).filter_by(title="前门关不上怎么办").one()
    assert made.source_ticket_id == ticket.id
    assert client.get("/kb/new?from_ticket=99999999").status_code == 404


def test_editors_keep_the_synonyms_on_their_page(client, session, make_user):
    make_user("supervisor", username="ed")
    make_user("agent", username="ag")
    assert login(client, "ed").status_code == 302
    page = text(client.get("/kb/synonyms"))
    r = client.post("/kb/synonyms", data={"csrf_token": _csrf(page), "terms": "不制冷，不冷了"})
    assert r.status_code == 302
    page = text(client.get("/kb/synonyms"))
    assert "不制冷, 不冷了" in page
    group_id = re.search(r'name="id" value="(\d+)"', page).group(1)
    bad = client.post("/kb/synonyms", data={"csrf_token": _csrf(page), "id": group_id,
                                             "terms": "alone"})
    assert bad.status_code == 422 and "at least two" in text(bad)
    assert client.post("/kb/synonyms", data={"csrf_token": _csrf(page), "id": group_id,
                                             "action": "delete"}).status_code == 302
    assert "不冷了" not in text(client.get("/kb/synonyms"))
    client.post("/logout", data={"csrf_token": _csrf(page)})
    assert login(client, "ag").status_code == 302
    assert client.get("/kb/synonyms").status_code == 403


def test_editors_keep_the_category_tree_on_its_page(client, session, make_user):
    make_user("supervisor", username="ed")
    make_user("agent", username="ag")
    assert login(client, "ed").status_code == 302
    page = text(client.get("/kb/categories"))
    r = client.post("/kb/categories", data={"csrf_token": _csrf(page), "action": "add",
                                            "path": "服务/空调/压缩机",
                                            "path_en": "Service/Air conditioners"})
    assert r.status_code == 302
    page = text(client.get("/kb/categories"))
    ids = {name: cid for cid, name in re.findall(
        r'data-category="(\d+)">.*?name="name" maxlength="120"\s+value="([^"]+)"', page, re.S)}
    assert set(ids) == {"服务", "空调", "压缩机"} and 'value="Air conditioners"' in page
    bad = client.post("/kb/categories", data={"csrf_token": _csrf(page), "action": "add",
                                              "path": " / "})
    assert bad.status_code == 422 and 'aria-invalid="true"' in text(bad)
    taken = client.post("/kb/categories", data={"csrf_token": _csrf(page), "action": "rename",
                                                "id": ids["压缩机"], "name": "a/b"})
    assert taken.status_code == 422 and "/" in text(taken)
    assert client.post("/kb/categories", data={
        "csrf_token": _csrf(page), "action": "rename", "id": ids["压缩机"], "name": "压缩机组",
        "name_en": "Compressors"}).status_code == 302
    busy = client.post("/kb/categories", data={"csrf_token": _csrf(page), "action": "delete",
                                               "id": ids["空调"]})
    assert busy.status_code == 409 and "subcategories" in text(busy)
    assert client.post("/kb/categories", data={"csrf_token": _csrf(page), "action": "delete",
                                               "id": ids["压缩机"]}).status_code == 302
    page = text(client.get("/kb/categories"))
    assert "压缩机组" not in page and 'value="空调"' in page
    assert client.post("/kb/categories", data={"action": "add", "path": "x"}).status_code == 400
    client.post("/logout", data={"csrf_token": _csrf(page)})
    assert login(client, "ag").status_code == 302
    assert client.get("/kb/categories").status_code == 403


def test_editors_keep_the_defect_codes_on_their_page(client, session, make_user):
    make_user("supervisor", username="ed")
    assert login(client, "ed").status_code == 302
    page = text(client.get("/kb/defect-codes"))
    new = {"csrf_token": _csrf(page), "key": "new", "code": "ac-cmp-noise", "name": "压缩机异响",
           "name_en": "Compressor noise", "defect_class": "product", "active": "on"}
    assert client.post("/kb/defect-codes", data=new).status_code == 302
    page = text(client.get("/kb/defect-codes"))
    assert 'data-code="AC-CMP-NOISE"' in page and "压缩机异响" in page
    bad = client.post("/kb/defect-codes", data={**new, "code": "坏 code", "name": ""})
    assert bad.status_code == 422
    assert bad.get_data(as_text=True).count('aria-invalid="true"') == 2
    # withdrawn and reclassed: the checkbox left out means "not in use"
    changed = {k: v for k, v in new.items() if k != "active"}
    assert client.post("/kb/defect-codes", data={**changed, "key": "AC-CMP-NOISE",
                                                  "code": "AC-CMP-NOISE",
                                                  "defect_class": "service"}).status_code == 302
    page = text(client.get("/kb/defect-codes"))
    assert "kb-taxo--withdrawn" in page
    row = page.split('data-code="AC-CMP-NOISE"')[1].split("</li>")[0]
    assert 'value="service" selected' in row
    assert "AC-CMP-NOISE" not in describe_codes(session)
