"""After-sales finance in the office's pages (settled orders first, closing them, the
stations' and parts' master data, nothing else of an order), re-dispatching a job to
another technician, and the repeat-repairs page (per model, one by one, in the scope)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sheet_support import seed_order
from webtools import login, text

from repairs.models import RepairOrder, RepairStatus


@pytest.fixture
def seeded(app, session, make_user):
    lead = make_user("supervisor", username="lead", department="Service")
    tech = make_user("technician", username="wang", department="Service/Stations",
                     scope="own")
    make_user("technician", username="zhao", department="Service/Stations", scope="own")
    make_user("finance", username="money", department="Service/Finance")
    make_user("agent", username="outsider", department="Elsewhere", scope="own")
    return seed_order(session, lead, tech, settings=app.config["SETTINGS"])


def _hidden(page: str, action: str, marker: str = "") -> dict:
    start = page.index(f'action="{action}"' + (f" novalidate {marker}" if marker else ""))
    chunk = page[start:page.index("</form>", start)]
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', chunk))


def test_finance_lands_on_orders_to_settle_and_closes_them(client, session, seeded):
    order = session.get(RepairOrder, seeded["order"])
    order.status = RepairStatus.SETTLEMENT
    session.flush()
    assert login(client, "money").status_code == 302
    home = client.get("/")
    assert home.status_code == 302 and "status=settlement" in home.headers["Location"]
    listing = text(client.get(home.headers["Location"]))
    assert f"RO-{order.id:06d}" in listing and "After-sales finance" in listing
    page = text(client.get(f"/repairs/{order.id}"))
    # Closing is all finance does to an order: no work, dispatch, warranty or cancel form.
    assert 'value="closed"' in page
    for action in ("/work", "/warranty", 'value="cancelled"', "data-dispatch"):
        assert action not in page, action
    form = _hidden(page, f"/repairs/{order.id}/move")
    refused = client.post(f"/repairs/{order.id}/move",
                          data={**form, "to": "cancelled", "note": "no"})
    assert refused.status_code == 403
    done = client.post(f"/repairs/{order.id}/move", data={**form, "to": "closed"})
    assert done.status_code == 302
    session.expire_all()
    assert session.get(RepairOrder, order.id).status == RepairStatus.CLOSED
    # The master data is finance's to keep.
    assert "New station" in text(client.get("/repairs/stations/"))
    assert client.get("/repairs/parts/").status_code == 200


def test_a_dispatched_job_is_handed_to_another_technician(app, client, session, seeded):
    order_id = seeded["order"]
    assert login(client, "lead").status_code == 302
    page = text(client.get(f"/repairs/{order_id}"))
    assert "Re-dispatch" in page and "Parts issued and findings stay on the order" in page
    zhao = re.search(r'<option value="(\d+)"\s*>zhao</option>', page).group(1)
    form = _hidden(page, f"/repairs/{order_id}/move", "data-dispatch")
    moved = client.post(f"/repairs/{order_id}/move", data={
        **form, "to": "dispatched", "technician_id": zhao, "scheduled_at": ""})
    assert moved.status_code == 302
    session.expire_all()
    order = session.get(RepairOrder, order_id)
    assert (order.status, order.technician_id) == (RepairStatus.DISPATCHED, int(zhao))
    assert order.scheduled_at is not None   # an empty time keeps the one it had
    # Moved to another time: the history says when in local time, not in ISO text.
    page = text(client.get(f"/repairs/{order_id}"))
    form = _hidden(page, f"/repairs/{order_id}/move", "data-dispatch")
    assert client.post(f"/repairs/{order_id}/move", data={
        **form, "to": "dispatched", "technician_id": zhao,
        "scheduled_at": "2030-01-02T09:30"}).status_code == 302
    page = text(client.get(f"/repairs/{order_id}"))
    assert "Jan 2, 2030, 09:30" in page and "2030-01-02T" not in page
    # The job left wang's list and is on zhao's.
    for who, listed in (("wang", False), ("zhao", True)):
        browser = app.test_client()
        assert login(browser, who).status_code == 302
        assert (f"RO-{order_id:06d}" in text(browser.get("/repairs/"))) is listed, who


def _repeat(session, seeded, *, days_after: int) -> RepairOrder:
    """The seeded order closed, and the same serial back ``days_after`` days later."""
    first = session.get(RepairOrder, seeded["order"])
    first.status = RepairStatus.CLOSED
    first.closed_at = datetime.now(UTC) - timedelta(days=days_after + 1)
    second = RepairOrder(
        status=RepairStatus.DIAGNOSIS, ticket_id=first.ticket_id, product_id=first.product_id,
        customer_id=first.customer_id, fault_description="又不制冷了",
        reported_on=first.reported_on,
        created_by_id=first.created_by_id, technician_id=first.technician_id,
        station_id=first.station_id, warranty_basis={}, repeat_of_id=first.id,
        created_at=datetime.now(UTC) - timedelta(days=1))
    session.add(second)
    session.flush()
    return second


def test_the_repeat_repairs_page_counts_per_model_and_lists_each(client, session, seeded):
    second = _repeat(session, seeded, days_after=6)
    assert login(client, "lead").status_code == 302
    assert "/repairs/repeat-repairs" in text(client.get("/repairs/"))
    page = text(client.get("/repairs/repeat-repairs"))
    models = page[page.index("data-repeat-models"):page.index("</table>",
                                                              page.index("data-repeat-models"))]
    cells = re.findall(r'<td[^>]*class="num">([^<]+)<', models)
    assert "HT6120 城市客车" in models and cells == ["2", "1", "50.0%"]
    listed = page[page.index("data-repeat-list"):]
    assert f"RO-{second.id:06d}" in listed and f"RO-{seeded['order']:06d}" in listed
    assert re.search(r'class="num">6<', listed)
    # One model's repeats; a period before them has none.
    one = text(client.get("/repairs/repeat-repairs?model=HT6120 城市客车"))
    assert "Repeat repairs of HT6120 城市客车" in one
    old = text(client.get("/repairs/repeat-repairs?since=2020-01-01&until=2020-12-31"))
    assert "No repairs in this period." in old and "No repeat repairs in this period." in old


@pytest.mark.parametrize(("query", "words"), [
    ("since=yesterday", "Enter a date such as 2026-12-01."),
    ("since=2026-12-05&until=2026-12-01", "The first day comes after the last."),
    ("since=2000-01-01&until=2026-12-01", "At most 1900 days at once."),
])
def test_a_bad_period_is_said_and_the_default_shown(client, session, seeded, query, words):
    assert login(client, "lead").status_code == 302
    answer = client.get(f"/repairs/repeat-repairs?{query}")
    assert answer.status_code == 400 and words in text(answer)
    assert 'aria-invalid="true"' in text(answer)


def test_repeat_repairs_outside_the_scope_are_not_counted(client, session, seeded):
    _repeat(session, seeded, days_after=3)
    assert login(client, "outsider").status_code == 302
    page = text(client.get("/repairs/repeat-repairs"))
    assert "HT6120" not in page and "No repeat repairs in this period." in page
