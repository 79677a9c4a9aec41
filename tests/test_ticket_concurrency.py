"""Parallel writers against a real served app (a threaded web server on a fresh database
of each backend, real Redis): of writers holding the same version exactly one wins and
the others get 409 with the current version, never a lost update; parallel ticket
creations for one team go round-robin to different available members."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
import requests
from stack import WAIT_S

from callcenter.realtime.live import AGENTS_KEY, write_live_entries

WRITERS = 8


def call(stack, method, path, user="admin", **kwargs):
    return requests.request(method, stack.base + "/api/v1" + path, timeout=WAIT_S * 3,
                            headers={"Authorization": f"Bearer {stack.tokens[user]}"},
                            **kwargs)


def in_parallel(fn, n: int) -> list:
    """Run ``fn(i)`` in ``n`` threads released at the same moment; their results."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i):
        barrier.wait()
        results[i] = fn(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT_S * 6)
    assert not any(t.is_alive() for t in threads)
    return results


@pytest.fixture
def desk(stack):
    """A customer of the hotline team and one of its tickets."""
    team = call(stack, "GET", "/me", "agent1").json()["department"]["id"]
    r = call(stack, "POST", "/customers", json={"name": "Parallel Co", "phones": [],
                                                "department_id": team})
    assert r.status_code == 201, r.text
    customer = r.json()["id"]
    r = call(stack, "POST", "/tickets", "agent1", json={
        "type": "complaint", "subject": "Race", "customer_id": customer,
        "assignee_id": stack.ids["agent1"]})
    assert r.status_code == 201, r.text
    return {"team": team, "customer": customer, "ticket": r.json()}


def test_parallel_patches_one_wins_the_rest_get_409(stack, desk):
    ticket = desk["ticket"]
    priorities = ["low", "high", "urgent", "low", "high", "urgent", "low", "high"]

    def patch(i):
        return call(stack, "PATCH", f"/tickets/{ticket['id']}", f"agent{i % 5 + 1}",
                    json={"version": ticket["version"], "priority": priorities[i],
                          "subject": f"Race {i}"})

    results = in_parallel(patch, WRITERS)
    codes = Counter(r.status_code for r in results)
    assert codes == {200: 1, 409: WRITERS - 1}, [r.text for r in results]
    winner = next(r.json() for r in results if r.status_code == 200)
    for loser in (r for r in results if r.status_code == 409):
        assert loser.json()["current_version"] == ticket["version"] + 1
        assert loser.json()["error"]["code"] == "ticket.stale_version"
    now = call(stack, "GET", f"/tickets/{ticket['id']}").json()
    assert now["version"] == ticket["version"] + 1
    assert (now["subject"], now["priority"]) == (winner["subject"], winner["priority"])
    items = call(stack, "GET", f"/tickets/{ticket['id']}/history").json()["items"]
    assert [i["field"] for i in items if i["field"] in ("priority", "subject")] == \
        ["priority", "subject"]  # one writer's changes, once


def test_parallel_transitions_and_patches_never_lose_an_update(stack, desk):
    ticket = desk["ticket"]
    path = f"/tickets/{ticket['id']}"

    def write(i):
        if i % 2:
            return call(stack, "POST", path + "/transitions", "agent1",
                        json={"to": "in_progress", "version": ticket["version"]})
        return call(stack, "PATCH", path, "agent1",
                    json={"version": ticket["version"], "description": f"writer {i}"})

    results = in_parallel(write, WRITERS)
    assert sorted(r.status_code for r in results) == [200] + [409] * (WRITERS - 1)
    now = call(stack, "GET", path).json()
    won = next(i for i, r in enumerate(results) if r.status_code == 200)
    if won % 2:
        assert now["status"] == "in_progress" and now["description"] == ""
    else:
        assert now["status"] == "assigned" and now["description"] == f"writer {won}"
    assert now["version"] == ticket["version"] + 1


def test_parallel_creations_go_round_robin(stack, desk, redis_conn):
    members = ["agent1", "agent2", "agent3"]
    agents = {f"Local/{name}@agents/n": {
        "interface": f"Local/{name}@agents/n", "name": name, "state": "available",
        "reason": None, "since": None, "queues": ["support"], "user_id": stack.ids[name]}
        for name in members}
    # agent4 is logged in but on a call: not available, never chosen.
    agents["Local/agent4@agents/n"] = {**agents["Local/agent1@agents/n"],
                                       "interface": "Local/agent4@agents/n",
                                       "state": "on_call", "user_id": stack.ids["agent4"]}
    pipe = redis_conn.pipeline()
    write_live_entries(pipe, {}, agents)
    pipe.execute()
    assert redis_conn.hlen(AGENTS_KEY) == 4

    def create(i):
        return call(stack, "POST", "/tickets", "agent5", json={
            "type": "inquiry", "subject": f"Parallel {i}", "customer_id": desk["customer"],
            "department_id": desk["team"], "round_robin": True})

    results = in_parallel(create, 6)
    assert all(r.status_code == 201 for r in results), [r.text for r in results]
    assignees = Counter(r.json()["assignee_id"] for r in results)
    assert assignees == {stack.ids[name]: 2 for name in members}
    assert all(r.json()["status"] == "assigned" for r in results)
    # Nobody available: the ticket waits unassigned in the team's queue.
    redis_conn.delete(AGENTS_KEY)
    r = call(stack, "POST", "/tickets", "agent5", json={
        "type": "inquiry", "subject": "Nobody", "customer_id": desk["customer"],
        "department_id": desk["team"], "round_robin": True})
    assert r.status_code == 201 and r.json()["assignee_id"] is None
    queue = call(stack, "GET", "/tickets", "agent5", params={"queue": "unassigned"}).json()
    assert [t["id"] for t in queue["items"]] == [r.json()["id"]]
