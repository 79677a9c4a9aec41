"""Parallel writers on the knowledge base against a real served app (threaded server, a
fresh database of each backend): of editors holding the same version exactly one wins
and the others get 409; parallel votes and reads are each counted once, none lost."""

from __future__ import annotations

from test_ticket_concurrency import call, in_parallel

AGENTS = [f"agent{i}" for i in range(1, 6)]


def test_parallel_edits_votes_and_reads(stack):
    r = call(stack, "POST", "/kb/items", json={"title": "车门气泵故障", "status": "published",
                                               "body": "检查气路。"})
    assert r.status_code == 201, r.text
    item = r.json()
    url = f"/kb/items/{item['id']}"

    edits = in_parallel(lambda i: call(stack, "PATCH", url, "sup_support" if i % 2 else "admin",
                                       json={"version": item["version"],
                                             "body": f"版本 {i}"}), 8)
    assert sorted(r.status_code for r in edits) == [200] + [409] * 7, [r.text for r in edits]
    won = next(r.json() for r in edits if r.status_code == 200)
    assert won["version"] == 2

    votes = in_parallel(lambda i: call(stack, "POST", url + "/feedback", AGENTS[i],
                                       json={"helpful": True}), len(AGENTS))
    assert all(r.status_code == 200 for r in votes), [r.text for r in votes]
    reads = in_parallel(lambda i: call(stack, "GET", url, AGENTS[i % 5]), 10)
    assert all(r.status_code == 200 for r in reads)
    final = call(stack, "GET", url).json()
    assert (final["helpful"], final["not_helpful"]) == (5, 0)
    # Ten parallel reads counted; this last read counts after it was answered.
    assert final["views"] == 10 and final["body"] == won["body"]
    versions = call(stack, "GET", url + "/versions").json()["items"]
    assert [v["version"] for v in versions] == [2, 1]
    found = call(stack, "GET", "/kb/search", params={"q": won["body"]}).json()["items"]
    assert [i["id"] for i in found] == [item["id"]]


def test_parallel_category_adds_renames_and_removes(stack):
    """The same new path added eight times at once is one category; two categories
    renamed to the same name at once: one wins, the other is told the name is taken; an
    entry filed while its category is removed either keeps the category or is refused."""
    made = in_parallel(lambda i: call(stack, "POST", "/kb/categories",
                                      json={"path": "服务/并发/压缩机"}), 8)
    assert all(r.status_code == 201 for r in made), [r.text for r in made]
    assert len({r.json()["id"] for r in made}) == 1
    tree = call(stack, "GET", "/kb/categories").json()["items"]
    assert [c["path"] for c in tree].count("服务/并发/压缩机") == 1

    a = call(stack, "POST", "/kb/categories", json={"path": "服务/并发/甲"}).json()
    b = call(stack, "POST", "/kb/categories", json={"path": "服务/并发/乙"}).json()
    renames = in_parallel(lambda i: call(stack, "PUT", f"/kb/categories/{(a, b)[i % 2]['id']}",
                                         json={"name": "同名"}), 2)
    assert sorted(r.status_code for r in renames) == [200, 422], [r.text for r in renames]
    names = {c["id"]: c["name"] for c in call(stack, "GET", "/kb/categories").json()["items"]}
    assert sorted([names[a["id"]], names[b["id"]]]) in (["乙", "同名"], ["同名", "甲"])

    c = call(stack, "POST", "/kb/categories", json={"path": "服务/并发/丙"}).json()

    def file_or_remove(i: int):
        if i == 0:
            return call(stack, "DELETE", f"/kb/categories/{c['id']}")
        return call(stack, "POST", "/kb/items", json={
            "title": f"并发条目 {i}", "body": "检查。", "category_id": c["id"]})
    results = in_parallel(file_or_remove, 4)
    removed, filed = results[0], results[1:]
    assert all(r.status_code < 500 for r in results), [r.text for r in results]
    tree_ids = {x["id"] for x in call(stack, "GET", "/kb/categories").json()["items"]}
    if removed.status_code == 204:
        assert c["id"] not in tree_ids
        assert all(r.status_code == 422 for r in filed), [r.text for r in filed]
    else:
        assert removed.status_code == 409 and c["id"] in tree_ids
        assert any(r.status_code == 201 for r in filed)
