"""The knowledge base's REST API: search answers `{"items": [...]}` in rank order with
`external_id`, `kind`, `title` and a snippet; entries written, changed (409 when stale),
published and read; feedback; who may do what."""

from __future__ import annotations

from api_helpers import bearer


def _make(client, editor, **data):
    r = client.post("/api/v1/kb/items", json={"status": "published", **data},
                    headers=bearer(editor))
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_search_answers_items_in_rank_order(client, make_user):
    editor = make_user("supervisor", token=True)
    agent = make_user("agent", token=True)
    _make(client, editor, title="空调压缩机异响", body="压缩机皮带磨损会有异响。",
          external_id="AC-001")
    _make(client, editor, title="压缩机保养", body="定期检查。", external_id="AC-002",
          kind="defect", symptom="压缩机温度高", cause="散热差", solution="清洗冷凝器")
    r = client.get("/api/v1/kb/search?q=压缩机异响&limit=10", headers=bearer(agent))
    assert r.status_code == 200
    found = r.get_json()["items"]
    assert [i["external_id"] for i in found] == ["AC-001", "AC-002"]
    assert {"external_id", "kind", "title", "snippet"} <= set(found[0])
    assert "<mark>" in found[0]["snippet"] and found[1]["kind"] == "defect"
    r = client.get("/api/v1/kb/search?q=压缩机&kind=defect", headers=bearer(agent))
    assert [i["external_id"] for i in r.get_json()["items"]] == ["AC-002"]
    for bad in ("kind=x", "limit=0", "limit=51", "lang=fr", "q=" + "x" * 501):
        assert client.get(f"/api/v1/kb/search?q=a&{bad}",
                          headers=bearer(agent)).status_code == 422, bad
    assert client.get("/api/v1/kb/search?q=a").status_code == 401


def test_write_change_publish_and_read(client, make_user):
    editor = make_user("supervisor", token=True)
    agent = make_user("agent", token=True)
    item = _make(client, editor, title="Draft", status="draft",
                 body="**Bold** <script>x</script>", models=["KX-200"], tags=["ac"])
    assert item["body_html"].startswith("<p><strong>Bold</strong> &lt;script&gt;")
    url = f"/api/v1/kb/items/{item['id']}"
    assert client.get(url, headers=bearer(agent)).status_code == 404   # a draft
    assert client.post("/api/v1/kb/items", json={"title": "x"},
                       headers=bearer(agent)).status_code == 403
    r = client.patch(url, json={"version": 1, "title": "Final", "status": "published"},
                     headers=bearer(editor))
    assert r.status_code == 200 and r.get_json()["status"] == "published"
    assert r.get_json()["version"] == 3   # the change, then the publishing
    stale = client.patch(url, json={"version": 1, "title": "Lost"}, headers=bearer(editor))
    assert stale.status_code == 409 and stale.get_json()["current_version"] == 3
    read = client.get(url, headers=bearer(agent)).get_json()
    assert (read["title"], read["models"], read["tags"]) == ("Final", ["KX-200"], ["ac"])
    r = client.post(url + "/feedback", json={"helpful": True}, headers=bearer(agent))
    assert r.get_json()["helpful"] == 1
    assert client.post(url + "/feedback", json={"helpful": "yes"},
                       headers=bearer(agent)).status_code == 422
    versions = client.get(url + "/versions", headers=bearer(editor)).get_json()["items"]
    assert [v["version"] for v in versions] == [3, 2, 1]
    assert client.get(url + "/versions", headers=bearer(agent)).status_code == 403


def test_synonyms_through_the_api(client, make_user):
    editor = make_user("supervisor", token=True)
    _make(client, editor, title="空调不制冷", body="检查制冷剂。")
    r = client.post("/api/v1/kb/synonyms", json={"terms": "不制冷，不冷了"},
                    headers=bearer(editor))
    assert r.status_code == 201
    assert client.post("/api/v1/kb/synonyms", json={"terms": "alone"},
                       headers=bearer(editor)).status_code == 422
    found = client.get("/api/v1/kb/search?q=不冷了", headers=bearer(editor)).get_json()
    assert [i["title"] for i in found["items"]] == ["空调不制冷"]


def test_suggestions_for_a_problem_or_for_models(client, make_user, session):
    editor = make_user("supervisor", token=True)
    agent = make_user("agent", token=True)
    _make(client, editor, title="HT6120 车门气泵故障", kind="defect", symptom="车门关不上",
          cause="膜片破损", solution="1. 更换气泵", models=["HT6120"], external_id="D-1")
    _make(client, editor, title="车门保养", body="车门导轨润滑。", external_id="A-1")
    _make(client, editor, title="KX 压缩机", kind="defect", symptom="异响", models=["KX-200"],
          external_id="D-2")
    r = client.get("/api/v1/kb/suggestions?q=车门关不上&model=HT6120", headers=bearer(agent))
    assert [i["external_id"] for i in r.get_json()["items"]][0] == "D-1"
    r = client.get("/api/v1/kb/suggestions?model=KX-200&model=HT6120", headers=bearer(agent))
    assert {i["external_id"] for i in r.get_json()["items"]} == {"D-1", "D-2"}
    assert client.get("/api/v1/kb/suggestions", headers=bearer(agent)).get_json() == {
        "items": [], "corrected": {}}
    assert client.get("/api/v1/kb/suggestions?limit=21",
                      headers=bearer(agent)).status_code == 422


def test_the_defect_code_taxonomy(client, make_user):
    editor = make_user("supervisor", token=True)
    agent = make_user("agent", token=True)
    body = {"code": "ac-cmp-noise", "name": "压缩机异响", "name_en": "Compressor noise",
            "defect_class": "product"}
    r = client.post("/api/v1/kb/defect-codes", json=body, headers=bearer(editor))
    assert r.status_code == 200 and r.get_json()["code"] == "AC-CMP-NOISE"
    r = client.post("/api/v1/kb/defect-codes", json={**body, "defect_class": "service"},
                    headers=bearer(editor))
    listed = client.get("/api/v1/kb/defect-codes", headers=bearer(agent)).get_json()["items"]
    assert listed == [{"code": "AC-CMP-NOISE", "name": "压缩机异响",
                       "name_en": "Compressor noise", "defect_class": "service"}]
    assert client.post("/api/v1/kb/defect-codes", json=body,
                       headers=bearer(agent)).status_code == 403
    for bad in ({"code": "bad code!"}, {"defect_class": "other"}, {"name": ""}):
        assert client.post("/api/v1/kb/defect-codes", json={**body, **bad},
                           headers=bearer(editor)).status_code == 422, bad


def test_a_technicians_job_lists_the_models_defects_matching_the_fault_first(session,
                                                                             make_user):
    from kb.items import create_item
    from kb.suggest import defects_for_job

    editor = make_user("supervisor")
    for title, symptom, helpful in (("上门超时", "技术员未按时上门", 5),
                                    ("车门气泵故障", "车门无法关闭，漏气", 0)):
        item = create_item(session, editor, {"title": title, "kind": "defect",
                                             "status": "published", "symptom": symptom,
                                             "models": ["HT6120"]})
        item.helpful = helpful
    session.flush()
    titles = [d.title for d in defects_for_job(session, "前门气泵不工作，车门无法关闭", "HT6120")]
    assert titles == ["车门气泵故障", "上门超时"]
    assert [d.title for d in defects_for_job(session, "", "HT6120")] == ["上门超时",
                                                                           "车门气泵故障"]
    assert defects_for_job(session, "车门", "OTHER") == []


def test_the_category_tree(client, make_user):
    editor = make_user("supervisor", token=True)
    r = client.post("/api/v1/kb/categories", json={"path": "服务/空调/压缩机"},
                    headers=bearer(editor))
    assert r.status_code == 201 and r.get_json()["path"] == "服务/空调/压缩机"
    assert r.get_json()["depth"] == 2
    client.post("/api/v1/kb/categories", json={"path": "销售"}, headers=bearer(editor))
    again = client.post("/api/v1/kb/categories", json={"path": "服务／空调"},
                        headers=bearer(editor)).get_json()
    listed = client.get("/api/v1/kb/categories", headers=bearer(editor)).get_json()["items"]
    assert [(c["path"], c["depth"]) for c in listed] == [
        ("服务", 0), ("服务/空调", 1), ("服务/空调/压缩机", 2), ("销售", 0)]
    assert again["id"] == listed[1]["id"]
    for bad in ("/", " / ", "a\x00b"):
        assert client.post("/api/v1/kb/categories", json={"path": bad},
                           headers=bearer(editor)).status_code == 422, bad


def test_categories_are_renamed_and_only_empty_ones_removed(client, session, make_user):
    editor = make_user("supervisor", token=True)
    leaf = client.post("/api/v1/kb/categories", json={"path": "服务/空调/压缩机"},
                       headers=bearer(editor)).get_json()
    client.post("/api/v1/kb/categories", json={"path": "服务/冰箱"}, headers=bearer(editor))
    r = client.put(f"/api/v1/kb/categories/{leaf['parent_id']}",
                   json={"name": "冷气机", "name_en": "Air conditioners"}, headers=bearer(editor))
    assert r.status_code == 200 and r.get_json()["path"] == "服务/冷气机"
    listed = client.get("/api/v1/kb/categories", headers=bearer(editor)).get_json()["items"]
    assert "服务/冷气机/压缩机" in [c["path"] for c in listed]
    taken = client.put(f"/api/v1/kb/categories/{leaf['parent_id']}",
                       json={"name": "冰箱"}, headers=bearer(editor))
    assert taken.status_code == 422 and "name" in taken.get_json()["error"]["fields"]
    for bad in ({"name": "a/b"}, {"name": ""}, {"name": "x\x07"}):
        assert client.put(f"/api/v1/kb/categories/{leaf['id']}", json=bad,
                          headers=bearer(editor)).status_code == 422, bad
    assert client.put("/api/v1/kb/categories/999999", json={"name": "x"},
                      headers=bearer(editor)).status_code == 404
    # a parent and a category holding an entry stay; an empty leaf goes
    assert client.delete(f"/api/v1/kb/categories/{leaf['parent_id']}",
                         headers=bearer(editor)).status_code == 409
    item = client.post("/api/v1/kb/items", json={"title": "压缩机异响",
                                                 "category_id": leaf["id"]},
                       headers=bearer(editor)).get_json()
    busy = client.delete(f"/api/v1/kb/categories/{leaf['id']}", headers=bearer(editor))
    assert busy.status_code == 409 and busy.get_json()["error"]["code"] == "kb.category_in_use"
    client.patch(f"/api/v1/kb/items/{item['id']}", json={"category_id": None, "version": 1},
                 headers=bearer(editor))
    assert client.delete(f"/api/v1/kb/categories/{leaf['id']}",
                         headers=bearer(editor)).status_code == 204
    paths = [c["path"] for c in client.get("/api/v1/kb/categories",
                                           headers=bearer(editor)).get_json()["items"]]
    assert "服务/冷气机/压缩机" not in paths and "服务/冷气机" in paths
