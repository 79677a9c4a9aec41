"""An order worked through the office's forms (CSRF on): raised from the ticket's page,
dispatched, repaired with a part from the station, inspection failed then passed,
settled and closed; a stale form shows "changed meanwhile" and changes nothing; a
cancel without a reason and too few parts are refused in words."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from webtools import csrf_token, login, text

from callcenter.customers.services import add_contact, create_customer
from callcenter.products.models import InstalledProduct
from repairs.models import Part, RepairOrder, RepairStatus, Station, StationStock
from tickets.services import create_ticket


@pytest.fixture
def world(app, session, make_user):
    lead = make_user("supervisor", username="lead", department="Service")
    tech = make_user("technician", username="wang", department="Service/Stations")
    customer = create_customer(session, lead, {"name": "北京华通汽车运输有限公司",
                                               "phones": ["13812345678"]}, region="CN")
    contact = add_contact(session, lead, customer, {"name": "张伟",
                                                    "phones": ["13900001111"]}, region="CN")
    product = InstalledProduct(model="HT6120", serial_number="LZYT0001",
                               customer_id=customer.id)
    session.add(product)
    session.flush()
    ticket = create_ticket(session, lead, {"type": "service_request", "subject": "空调不制冷",
                                           "description": "出风不凉", "customer_id": customer.id,
                                           "contact_id": contact.id,
                                           "installed_product_id": product.id},
                           settings=app.config["SETTINGS"])
    station = Station(name="北京朝阳维修站", department_id=tech.department_id)
    part = Part(sku="AC-BLT-02", name="压缩机皮带", unit="条", unit_price=Decimal("86.50"))
    session.add_all([station, part])
    session.flush()
    session.add(StationStock(station_id=station.id, part_id=part.id, quantity=2))
    session.flush()
    return {"ticket": ticket.id, "product": product.id, "station": station.id,
            "part": part.id, "tech": tech.id}


def _form(page: str, action: str) -> dict:
    """The hidden fields (csrf_token, version) of the form posting to ``action``."""
    start = page.index(f'action="{action}"')
    chunk = page[start:page.index("</form>", start)]
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', chunk))


def _post(client, order_id, action, **data):
    page = text(client.get(f"/repairs/{order_id}"))
    return client.post(f"/repairs/{order_id}/{action}",
                       data={**_form(page, f"/repairs/{order_id}/{action}"), **data})


def test_an_order_from_raise_to_close(client, session, world):
    assert login(client, "lead").status_code == 302
    ticket_page = text(client.get(f"/tickets/{world['ticket']}"))
    assert "data-raise-repair" in ticket_page
    form = text(client.get(f"/repairs/new?ticket_id={world['ticket']}"))
    assert "出风不凉" in form and "LZYT0001" in form
    r = client.post("/repairs/new", data={"csrf_token": csrf_token(form),
                                          "ticket_id": world["ticket"],
                                          "product_id": world["product"],
                                          "fault_description": "空调出风不凉"})
    assert r.status_code == 302, text(r)[-2000:]
    order = session.query(RepairOrder).one()
    assert f"RO-{order.id:06d}" in text(client.get(f"/tickets/{world['ticket']}"))
    oid = order.id

    r = _post(client, oid, "move", to="cancelled", note="")
    assert r.status_code == 422 and "data-problem" in text(r)
    r = _post(client, oid, "move", to="dispatched", technician_id=world["tech"],
              station_id=world["station"], scheduled_at="2026-12-09T09:30")
    assert r.status_code == 302, text(r)[-3000:]
    assert _post(client, oid, "move", to="repairing").status_code == 302
    r = _post(client, oid, "parts", station_id=world["station"], part_id=world["part"],
              quantity="5")
    assert r.status_code == 409 and "Only 2 in stock; 5 requested." in text(r)
    r = _post(client, oid, "parts", station_id=world["station"], part_id=world["part"],
              quantity="1")
    assert r.status_code == 302
    r = _post(client, oid, "work", diagnosis="皮带磨损", findings="更换皮带",
              labour_hours="1.5")
    assert r.status_code == 302, text(r)[-3000:]
    assert _post(client, oid, "move", to="inspection").status_code == 302
    r = _post(client, oid, "move", to="repairing", note="")
    assert r.status_code == 422
    assert _post(client, oid, "move", to="repairing", note="皮带松").status_code == 302
    assert _post(client, oid, "move", to="inspection").status_code == 302
    assert _post(client, oid, "move", to="settlement").status_code == 302
    page = text(client.get(f"/repairs/{oid}"))
    assert "86.50" in page and "Payable by the customer" in page
    assert _post(client, oid, "move", to="closed").status_code == 302
    session.expire_all()
    assert session.get(RepairOrder, oid).status == RepairStatus.CLOSED
    assert "Next step" not in text(client.get(f"/repairs/{oid}"))


def test_a_stale_form_changes_nothing(client, session, world):
    assert login(client, "lead").status_code == 302
    form = text(client.get(f"/repairs/new?ticket_id={world['ticket']}"))
    client.post("/repairs/new", data={"csrf_token": csrf_token(form),
                                      "ticket_id": world["ticket"],
                                      "product_id": world["product"],
                                      "fault_description": "空调出风不凉"})
    oid = session.query(RepairOrder).one().id
    page = text(client.get(f"/repairs/{oid}"))
    old = _form(page, f"/repairs/{oid}/work")
    assert _post(client, oid, "work", diagnosis="first").status_code == 302
    r = client.post(f"/repairs/{oid}/work", data={**old, "diagnosis": "second"})
    assert r.status_code == 409 and "changed meanwhile" in text(r)
    session.expire_all()
    assert session.get(RepairOrder, oid).diagnosis == "first"
