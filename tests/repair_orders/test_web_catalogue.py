"""The parts catalogue and the stations' master data through their forms: create,
edit, a taken SKU refused in words, a stale version shown as "changed meanwhile" with
both values and nothing overwritten, and who may edit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from webtools import csrf_token, login, text

from repairs.models import Part, Station


@pytest.fixture
def lead(make_user):
    make_user("agent", username="ann", department="Service")
    return make_user("admin", username="lead", department="Service")


def _post(client, url, **data):
    return client.post(url, data={"csrf_token": csrf_token(text(client.get(url))), **data})


def test_a_part_is_created_edited_and_a_stale_edit_overwrites_nothing(client, session, lead):
    assert login(client, "lead").status_code == 302
    r = _post(client, "/repairs/parts/new", sku="AC-BLT-02", name="压缩机皮带", unit="条",
              unit_price="86.50", fits="HT6120\nHT6800", active="1")
    assert r.status_code == 302
    part = session.query(Part).filter_by(sku="AC-BLT-02").one()
    assert part.unit_price == Decimal("86.50")
    page = text(client.get("/repairs/parts/?fits=HT6800"))
    assert "AC-BLT-02" in page and "HT6120, HT6800" in page
    r = _post(client, "/repairs/parts/new", sku="AC-BLT-02", name="x", unit="个",
              unit_price="1")
    assert r.status_code == 422, text(r)
    assert "There is already a part with the SKU AC-BLT-02." in text(r), text(r)[-2500:]
    r = _post(client, "/repairs/parts/new", sku="X-1", name="x", unit="个", unit_price="1.234")
    assert r.status_code == 422
    url = f"/repairs/parts/{part.id}/edit"
    form = text(client.get(url))
    session.execute(Part.__table__.update().where(Part.id == part.id)
                    .values(unit_price=Decimal("99.00"), version=Part.version + 1))
    session.flush()
    r = client.post(url, data={"csrf_token": csrf_token(form), "version": str(part.version),
                               "sku": "AC-BLT-02", "name": "压缩机皮带", "unit": "条",
                               "unit_price": "70.00", "fits": "HT6120", "active": "1"})
    assert r.status_code == 409
    page = text(r)
    assert "changed meanwhile" in page and "70.00" in page and "99.00" in page
    session.expire_all()
    assert session.get(Part, part.id).unit_price == Decimal("99.00")


def test_a_station_is_created_and_edited(client, session, lead):
    assert login(client, "lead").status_code == 302
    r = _post(client, "/repairs/stations/new", name="天津维修站", address="河西区",
              phone="022-1", active="1")
    assert r.status_code == 302
    station = session.query(Station).filter_by(name="天津维修站").one()
    r = _post(client, f"/repairs/stations/{station.id}/edit", name="天津河西维修站",
              address="河西区", phone="022-1", version=str(station.version), active="1")
    assert r.status_code == 302
    assert "天津河西维修站" in text(client.get("/repairs/stations/"))


def test_an_agent_may_not_edit_the_catalogue(client, lead):
    assert login(client, "ann").status_code == 302
    assert client.get("/repairs/parts/new").status_code == 403
    assert client.get("/repairs/stations/new").status_code == 403
