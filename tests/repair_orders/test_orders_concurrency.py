"""Parallel moves of one repair order against a real served app (a threaded web server
on a fresh database of each backend): of requests holding the same version exactly one
wins and the rest get 409 with the current version; the order moved once and its
history says so once."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy.orm import Session
from test_ticket_concurrency import call, in_parallel

from callcenter.db import make_engine
from callcenter.users.services import create_user

WRITERS = 8


@pytest.fixture
def order(stack):
    engine = make_engine(stack.settings.database_url)
    with Session(engine) as session:
        techs = [create_user(session, username=f"tech{i}", password="tech-pass-12345",
                             role="technician").id for i in range(WRITERS)]
        session.commit()
    engine.dispose()
    r = call(stack, "POST", "/customers", json={"name": "Race Repairs Co", "phones": []})
    assert r.status_code == 201, r.text
    customer = r.json()["id"]
    r = call(stack, "POST", "/products", json={"customer_id": customer, "model": "K9",
                                               "serial_number": "SN-RACE-1",
                                               "warranty_type": "standard",
                                               "warranty_end": "2030-12-31"})
    assert r.status_code == 201, r.text
    product = r.json()["id"]
    r = call(stack, "POST", "/tickets", json={"type": "service_request",
                                              "subject": "Broken", "customer_id": customer})
    assert r.status_code == 201, r.text
    r = call(stack, "POST", "/repair-orders", json={"ticket_id": r.json()["id"],
                                                    "product_id": product,
                                                    "fault_description": "No power"})
    assert r.status_code == 201, r.text
    assert r.json()["in_warranty"] is True
    return {"order": r.json(), "techs": techs}


def test_parallel_dispatches_one_wins(stack, order):
    oid = order["order"]["id"]

    def dispatch(i):
        return call(stack, "POST", f"/repair-orders/{oid}/transitions", "admin",
                    json={"to": "dispatched", "version": 1,
                          "technician_id": order["techs"][i]})

    results = in_parallel(dispatch, WRITERS)
    codes = Counter(r.status_code for r in results)
    assert codes == {200: 1, 409: WRITERS - 1}, [r.text for r in results]
    winner = next(r.json() for r in results if r.status_code == 200)
    for loser in (r for r in results if r.status_code == 409):
        assert loser.json()["current_version"] == 2
        assert loser.json()["error"]["code"] == "repair.stale_version"
    now = call(stack, "GET", f"/repair-orders/{oid}").json()
    assert (now["status"], now["version"]) == ("dispatched", 2)
    assert now["technician_id"] == winner["technician_id"]
    items = call(stack, "GET", f"/repair-orders/{oid}/history").json()["items"]
    assert [i["field"] for i in items].count("technician_id") == 1
    assert [i["new_value"] for i in items if i["field"] == "status"] == ["dispatched"]


def test_parallel_different_moves_one_wins(stack, order):
    oid = order["order"]["id"]

    def move(i):
        if i % 3 == 0:
            body = {"to": "cancelled", "version": 1, "note": f"writer {i}"}
        elif i % 3 == 1:
            body = {"to": "dispatched", "version": 1, "technician_id": order["techs"][i]}
        else:
            return call(stack, "PATCH", f"/repair-orders/{oid}", "admin",
                        json={"version": 1, "findings": f"writer {i}"})
        return call(stack, "POST", f"/repair-orders/{oid}/transitions", "admin",
                    json=body)

    results = in_parallel(move, WRITERS)
    assert sorted(r.status_code for r in results) == [200] + [409] * (WRITERS - 1), \
        [r.text for r in results]
    won = next(i for i, r in enumerate(results) if r.status_code == 200)
    now = call(stack, "GET", f"/repair-orders/{oid}").json()
    assert now["version"] == 2
    expected = {0: "cancelled", 1: "dispatched", 2: "diagnosis"}[won % 3]
    assert now["status"] == expected
    if won % 3 == 2:
        assert now["findings"] == f"writer {won}"
    else:
        assert now["findings"] == ""
