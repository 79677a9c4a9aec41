"""Parallel stock movements against a real served app (a threaded web server on a fresh
database of each backend): 20 clients draw from a stock of 5 at the same moment, exactly
5 get their parts and the stock ends at 0, never below; a key sent by many clients at
once makes one movement."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
import requests
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from stack import WAIT_S
from stock_support import make_order

from callcenter.db import make_engine
from callcenter.users.models import User
from repairs.models import MovementKind, StockMovement

CLIENTS = 20
STOCK = 5


def call(stack, method, path, user="admin", **kwargs):
    return requests.request(method, stack.base + "/api/v1" + path, timeout=WAIT_S * 6,
                            headers={"Authorization": f"Bearer {stack.tokens[user]}",
                                     **kwargs.pop("headers", {})}, **kwargs)


def in_parallel(fn, n: int) -> list:
    """Run ``fn(i)`` in ``n`` threads released at the same moment; their results."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i):
        barrier.wait()
        try:
            results[i] = fn(i)
        except Exception as exc:  # noqa: BLE001 - reported by the assertions
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT_S * 9)
    assert not any(t.is_alive() for t in threads)
    return results


@pytest.fixture
def depot(stack):
    """A part, a station holding STOCK of it, and a repair order to draw for."""
    part = call(stack, "POST", "/parts", json={"sku": "HOT-1", "name": "Hot part",
                                               "unit_price": "9.90"})
    station = call(stack, "POST", "/stations", json={"name": "Busy depot"})
    assert part.status_code == station.status_code == 201, (part.text, station.text)
    part, station = part.json()["id"], station.json()["id"]
    r = call(stack, "POST", "/stock-movements", json={
        "station_id": station, "part_id": part, "kind": "receipt", "quantity": STOCK})
    assert r.status_code == 201, r.text
    engine = make_engine(stack.settings.database_url)
    with Session(engine) as session:
        admin = session.get(User, stack.ids["admin"])
        order = make_order(session, admin).id
        session.commit()
    yield {"part": part, "station": station, "order": order, "engine": engine}
    engine.dispose()


def stock_of(stack, depot) -> int:
    items = call(stack, "GET", f"/stations/{depot['station']}/stock").json()["items"]
    return next(i["quantity"] for i in items if i["part_id"] == depot["part"])


def issues(depot) -> int:
    with Session(depot["engine"]) as session:
        return session.scalar(select(func.count()).select_from(StockMovement).where(
            StockMovement.kind == MovementKind.ISSUE))


def test_twenty_concurrent_issues_against_a_stock_of_five(stack, depot):
    def issue(i):
        return call(stack, "POST", "/stock-movements", json={
            "station_id": depot["station"], "part_id": depot["part"], "kind": "issue",
            "quantity": 1, "repair_order_id": depot["order"]})

    results = in_parallel(issue, CLIENTS)
    assert all(isinstance(r, requests.Response) for r in results), results
    codes = Counter(r.status_code for r in results)
    assert codes == {201: STOCK, 409: CLIENTS - STOCK}, [r.text for r in results]
    for r in results:
        if r.status_code == 409:
            assert r.json()["error"]["code"] == "stock.insufficient"
            assert r.json()["error"]["available"] == 0
    # Each success saw its own balance: 4, 3, 2, 1, 0 in some order.
    assert sorted(r.json()["balance_after"] for r in results if r.status_code == 201) == \
        list(range(STOCK))
    assert stock_of(stack, depot) == 0
    assert issues(depot) == STOCK
    history = call(stack, "GET", f"/stations/{depot['station']}/movements",
                   params={"kind": "issue"}).json()
    assert history["total"] == STOCK


def test_one_key_sent_by_many_clients_at_once_is_one_movement(stack, depot):
    def issue(i):
        return call(stack, "POST", "/stock-movements", json={
            "station_id": depot["station"], "part_id": depot["part"], "kind": "issue",
            "quantity": 2, "repair_order_id": depot["order"]},
            headers={"Idempotency-Key": "phone-sync-42"})

    results = in_parallel(issue, 10)
    assert all(isinstance(r, requests.Response) for r in results), results
    assert [r.status_code for r in results] == [201] * 10, [r.text for r in results]
    assert len({r.json()["id"] for r in results}) == 1
    assert stock_of(stack, depot) == STOCK - 2
    assert issues(depot) == 1

    def receive(i):
        return call(stack, "POST", "/stock-movements", json={
            "station_id": depot["station"], "part_id": depot["part"], "kind": "receipt",
            "quantity": 3, "idempotency_key": "delivery-99"})

    results = in_parallel(receive, 10)
    assert [r.status_code for r in results] == [201] * 10, [r.text for r in results]
    assert len({r.json()["id"] for r in results}) == 1
    assert stock_of(stack, depot) == STOCK - 2 + 3


def test_a_key_for_the_last_units_is_not_refused_when_sent_twice_at_once(stack, depot):
    """The second of two requests with one key waits for the first and answers its
    movement: it is never refused for the stock the first one took."""
    def issue(i):
        return call(stack, "POST", "/stock-movements", json={
            "station_id": depot["station"], "part_id": depot["part"], "kind": "issue",
            "quantity": STOCK, "repair_order_id": depot["order"],
            "idempotency_key": "all-of-it"})

    results = in_parallel(issue, 6)
    assert [r.status_code for r in results] == [201] * 6, [r.text for r in results]
    assert stock_of(stack, depot) == 0 and issues(depot) == 1


def test_concurrent_returns_never_give_back_more_than_was_issued(stack, depot):
    r = call(stack, "POST", "/stock-movements", json={
        "station_id": depot["station"], "part_id": depot["part"], "kind": "issue",
        "quantity": 3, "repair_order_id": depot["order"]})
    assert r.status_code == 201, r.text

    def give_back(i):
        return call(stack, "POST", "/stock-movements", json={
            "station_id": depot["station"], "part_id": depot["part"], "kind": "return",
            "quantity": 1, "repair_order_id": depot["order"]})

    results = in_parallel(give_back, 10)
    assert all(isinstance(r, requests.Response) for r in results), results
    assert Counter(r.status_code for r in results) == {201: 3, 422: 7}, \
        [r.text for r in results]
    for r in results:
        if r.status_code == 422:
            assert r.json()["error"]["problems"]["quantity"]["code"] == "stock.return_exceeds"
    assert stock_of(stack, depot) == STOCK
