"""The stations' pages: the list with low stock marked, a station's stock and movement
history, goods in / transfer / adjustment through the form (CSRF on), an adjustment
below zero refused with the service's words, and the permission on both."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from webtools import csrf_token, login, text

from repairs.models import Part, Station, StationStock


@pytest.fixture
def depot(session, make_user):
    make_user("supervisor", username="lead", department="Service")
    make_user("agent", username="ann", department="Service")
    a = Station(name="北京朝阳维修站", address="朝阳区", phone="010-1")
    b = Station(name="天津维修站")
    part = Part(sku="AC-BLT-02", name="压缩机皮带", unit="条", unit_price=Decimal("86.50"))
    session.add_all([a, b, part])
    session.flush()
    return {"a": a.id, "b": b.id, "part": part.id}


def _post(client, station_id, **data):
    page = text(client.get(f"/repairs/stations/{station_id}/stock"))
    return client.post(f"/repairs/stations/{station_id}/movements",
                       data={"csrf_token": csrf_token(page), **data})


def test_goods_in_transfer_and_a_refused_adjustment(client, session, depot):
    assert login(client, "lead").status_code == 302
    r = _post(client, depot["a"], kind="receipt", part_id=depot["part"], quantity="5",
              reason="月度补货")
    assert r.status_code == 302
    r = _post(client, depot["a"], kind="transfer", part_id=depot["part"], quantity="2",
              to_station_id=depot["b"])
    assert r.status_code == 302
    r = _post(client, depot["a"], kind="adjustment", part_id=depot["part"], quantity="-9",
              reason="盘点")
    assert r.status_code == 409
    assert "Only 3 in stock; 9 requested." in text(r)
    r = _post(client, depot["a"], kind="adjustment", part_id=depot["part"], quantity="-1",
              reason="")
    assert r.status_code == 422
    page = text(client.get(f"/repairs/stations/{depot['a']}/stock"))
    assert re.search(r"<span class=\"strong\">3</span>", page)
    for words in ("Goods in", "Transferred out", "天津维修站", "月度补货"):
        assert words in page, words
    assert session.get(StationStock, (depot["b"], depot["part"])).quantity == 2


def test_low_stock_is_marked_on_the_station_and_the_list(client, session, depot):
    session.add(StationStock(station_id=depot["a"], part_id=depot["part"], quantity=1,
                             low_threshold=3))
    session.flush()
    assert login(client, "lead").status_code == 302
    assert "Low stock" in text(client.get(f"/repairs/stations/{depot['a']}/stock"))
    assert "1 part low" in text(client.get("/repairs/stations/"))


def test_an_agent_may_neither_read_nor_move_stock(client, depot):
    assert login(client, "ann").status_code == 302
    assert client.get("/repairs/stations/").status_code == 403
    assert client.get(f"/repairs/stations/{depot['a']}/stock").status_code == 403
    token = csrf_token(text(client.get("/customers/")))
    r = client.post(f"/repairs/stations/{depot['a']}/movements",
                    data={"csrf_token": token, "kind": "receipt",
                          "part_id": depot["part"], "quantity": "5"})
    assert r.status_code == 403


def test_a_movement_without_csrf_is_refused(client, depot):
    assert login(client, "lead").status_code == 302
    r = client.post(f"/repairs/stations/{depot['a']}/movements",
                    data={"kind": "receipt", "part_id": depot["part"], "quantity": "5"})
    assert r.status_code == 400
