"""The office's repair-order pages: the list (my jobs, my stations', all in scope) with
its filters, an order's page with everything on it, and the scope (404 outside it)."""

from __future__ import annotations

import pytest
from sheet_support import CUSTOMER, seed_order
from webtools import login, text


@pytest.fixture
def seeded(app, session, make_user):
    lead = make_user("supervisor", username="lead", department="Service")
    tech = make_user("technician", username="wang", department="Service/Stations",
                     scope="own")
    make_user("technician", username="zhao", department="Other", scope="own")
    return seed_order(session, lead, tech, settings=app.config["SETTINGS"])


def test_the_technician_finds_the_job_under_my_jobs(client, seeded):
    assert login(client, "wang").status_code == 302
    page = text(client.get("/repairs/"))
    assert f"RO-{seeded['order']:06d}" in page and CUSTOMER in page
    assert "LZYTBGCL5K1000001" in page and "Dispatched" in page
    assert ">Repairs<" in text(client.get("/customers/"))  # in the menu
    closed = text(client.get("/repairs/?view=mine&status=closed"))
    assert f"RO-{seeded['order']:06d}" not in closed


def test_the_order_page_shows_everything(client, seeded):
    assert login(client, "lead").status_code == 302
    page = text(client.get(f"/repairs/{seeded['order']}"))
    for words in (CUSTOMER, "HT6120 城市客车", "压缩机有异响", "压缩机皮带磨损",
                  "北京朝阳维修站", "AC-BLT-02", "Warranty decision",
                  "The warranty had not ended on the reference date", "History",
                  f"/tickets/{seeded['ticket']}", "/dispatch-sheet"):
        assert words in page, words
    page = text(client.get("/repairs/?view=all&status="))
    assert f"RO-{seeded['order']:06d}" in page


def test_outside_the_scope_the_order_is_not_found(client, seeded):
    assert login(client, "zhao").status_code == 302
    assert client.get(f"/repairs/{seeded['order']}").status_code == 404
    page = text(client.get("/repairs/?view=all&status="))
    assert f"RO-{seeded['order']:06d}" not in page


def test_tampered_filters_are_dropped(client, seeded):
    assert login(client, "lead").status_code == 302
    assert client.get("/repairs/?view=x&status=bogus&technician=abc&page=-3").status_code == 200


def test_the_customer_page_shows_the_products_repair_history(client, session, seeded):
    from repairs.models import RepairOrder
    first = session.get(RepairOrder, seeded["order"])
    session.add(RepairOrder(ticket_id=first.ticket_id, product_id=first.product_id,
                            customer_id=first.customer_id, fault_description="又不制冷",
                            reported_on=first.reported_on, repeat_of_id=first.id))
    session.flush()
    assert login(client, "lead").status_code == 302
    page = text(client.get(f"/customers/{seeded['customer']}"))
    assert "Repair history" in page and f"RO-{seeded['order']:06d}" in page
    assert "2 repairs" in page and "1 repeat repair" in page
    ticket = text(client.get(f"/tickets/{seeded['ticket']}"))
    assert f"RO-{seeded['order']:06d}" in ticket and "Repeat repair" in ticket
