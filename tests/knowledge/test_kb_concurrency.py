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
