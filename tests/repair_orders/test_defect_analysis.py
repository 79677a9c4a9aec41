"""The defect analysis (repairs.defects and /repairs/defects): repairs per model and month
by defect class from the knowledge base's taxonomy, the codes found most, in the user's
scope; cancelled orders not counted."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sheet_support import seed_order
from webtools import login, text

from kb.models import DefectClass, DefectCode
from repairs.defects import defect_counts
from repairs.models import RepairOrder, RepairStatus

ZONE = ZoneInfo("Asia/Shanghai")


def _orders(session, seeded, codes_and_months):
    base = session.get(RepairOrder, seeded["order"])
    made = []
    for code, when, status in codes_and_months:
        order = RepairOrder(status=status, ticket_id=base.ticket_id,
                            product_id=base.product_id, customer_id=base.customer_id,
                            fault_description="x", reported_on=when.date(),
                            created_by_id=base.created_by_id, station_id=base.station_id,
                            technician_id=base.technician_id, warranty_basis={},
                            defect_code=code, created_at=when)
        session.add(order)
        made.append(order)
    session.flush()
    return made


def test_counts_per_model_month_and_class(app, session, make_user):
    lead = make_user("supervisor", username="lead", department="Service", scope="all")
    tech = make_user("technician", username="wang", department="Service/Stations")
    seeded = seed_order(session, lead, tech, settings=app.config["SETTINGS"])
    session.add_all([DefectCode(code="AC-CMP-NOISE", name="压缩机异响", name_en="Compressor "
                                "noise", defect_class=DefectClass.PRODUCT),
                     DefectCode(code="SVC-LATE", name="上门超时",
                                defect_class=DefectClass.SERVICE)])
    session.get(RepairOrder, seeded["order"]).created_at = datetime(2026, 9, 3, tzinfo=UTC)
    _orders(session, seeded, [
        ("AC-CMP-NOISE", datetime(2026, 10, 5, tzinfo=UTC), RepairStatus.CLOSED),
        # 17:00 UTC on 31 October is 1 November in Beijing.
        ("AC-CMP-NOISE", datetime(2026, 10, 31, 17, tzinfo=UTC), RepairStatus.CLOSED),
        ("SVC-LATE", datetime(2026, 11, 2, tzinfo=UTC), RepairStatus.CLOSED),
        ("WHATEVER", datetime(2026, 11, 3, tzinfo=UTC), RepairStatus.REPAIRING),
        ("AC-CMP-NOISE", datetime(2026, 11, 4, tzinfo=UTC), RepairStatus.CANCELLED)])
    counts = defect_counts(session, lead, since=datetime(2026, 9, 1, tzinfo=ZONE),
                           until=datetime(2026, 12, 1, tzinfo=ZONE), zone=ZONE)
    model = "HT6120 城市客车"
    assert counts.months == ["2026-09", "2026-10", "2026-11"] and counts.total == 5
    assert counts.by_model_month[(model, "2026-10")] == {"product": 1}
    assert counts.by_model_month[(model, "2026-11")] == {"product": 1, "service": 1,
                                                         "unclassified": 1}
    assert dict(counts.by_code) == {"AC-CMP-NOISE": 2, "SVC-LATE": 1, "WHATEVER": 1,
                                    "": 1}
    outsider = make_user("technician", username="zhao", department="Other", scope="own")
    assert defect_counts(session, outsider, since=datetime(2026, 9, 1, tzinfo=ZONE),
                         until=datetime(2026, 12, 1, tzinfo=ZONE), zone=ZONE).total == 0


def test_the_page_draws_the_charts_and_lists_the_codes(app, client, session, make_user):
    lead = make_user("supervisor", username="lead", department="Service", scope="all")
    tech = make_user("technician", username="wang", department="Service/Stations")
    seeded = seed_order(session, lead, tech, settings=app.config["SETTINGS"])
    session.add(DefectCode(code="AC-CMP-NOISE", name="压缩机异响", name_en="Compressor noise",
                           defect_class=DefectClass.PRODUCT))
    session.get(RepairOrder, seeded["order"]).defect_code = "AC-CMP-NOISE"
    session.flush()
    assert login(client, "lead").status_code == 302
    page = text(client.get("/repairs/defects"))
    assert "data-defect-chart" in page and "defect-bar--product" in page
    assert "Compressor noise" in page and "AC-CMP-NOISE" in page
    assert "/repairs/defects" in text(client.get("/repairs/"))
    order_page = text(client.get(f"/repairs/{seeded['order']}"))
    assert '<datalist id="w-codes">' in order_page and 'value="AC-CMP-NOISE"' in order_page
    assert client.get("/repairs/defects?since=nope").status_code == 400
