"""The technician's phone's sync endpoint (POST /api/v1/tech/sync) and jobs document
(GET /api/v1/tech/jobs) on both backends: a change applied once whatever the retries,
refusals stored as answers, conflicts with both values, and the scope (only the
technician the order is dispatched to, or a supervisor). Parallel requests with one key
are in test_tech_concurrency.py."""

from __future__ import annotations

import base64
import io
import uuid

import pytest
from api_helpers import bearer
from sqlalchemy import func, select
from tech_support import earlier, make_day, make_job

from repairs.models import RepairOrderHistory, StationStock, StockMovement, SyncedChange
from repairs.stock import available
from tickets.models import TicketAttachment

SYNC = "/api/v1/tech/sync"


@pytest.fixture
def tech(make_user):
    return make_user("technician", scope="own", department="Aftersales/East", token=True)


@pytest.fixture
def day(session, tech):
    return make_day(session, tech)


def count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


def change(order, kind: str, data: dict, *, key: str | None = None, version=None) -> dict:
    return {"key": key or str(uuid.uuid4()), "order_id": order.id,
            "version": order.version if version is None else version, "kind": kind,
            "data": data}


def png() -> str:
    from PIL import Image
    out = io.BytesIO()
    Image.new("RGB", (60, 24), "white").save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def test_the_same_key_twice_is_one_effect_and_the_same_answer(client, session, tech, day):
    body = change(day["order"], "part", {"part_id": day["part"].id, "quantity": 2})
    first = client.post(SYNC, json=body, headers=bearer(tech))
    assert first.status_code == 200, first.get_json()
    again = client.post(SYNC, json=body, headers=bearer(tech))
    assert again.status_code == 200
    a, b = first.get_json(), again.get_json()
    assert b.pop("replayed") is True and a == b
    assert a["order"]["id"] == day["order"].id and a["version_before"] == 1
    assert count(session, StockMovement, StockMovement.idempotency_key == body["key"]) == 1
    assert available(session, day["station"].id, day["part"].id) == 3
    stored = session.get(SyncedChange, body["key"])
    assert (stored.user_id, stored.order_id, stored.status_code) == \
        (tech.id, day["order"].id, 200)


def test_a_refusal_is_the_stored_answer_too(client, session, tech, day):
    body = change(day["order"], "part", {"part_id": day["part"].id, "quantity": 9})
    first = client.post(SYNC, json=body, headers=bearer(tech))
    assert first.status_code == 409 and first.get_json()["error"]["code"] == "stock.insufficient"
    assert "conflict" not in first.get_json()
    # Stock arrives meanwhile: the same key still answers what it answered.
    session.execute(StationStock.__table__.update().values(quantity=20))
    again = client.post(SYNC, json=body, headers=bearer(tech))
    assert again.status_code == 409 and again.get_json()["replayed"] is True
    assert count(session, StockMovement) == 0


def test_another_technicians_order_is_not_found_and_nothing_is_stored(client, session,
                                                                      make_user, tech, day):
    other = make_user("technician", scope="department", department="Aftersales/East",
                      token=True)
    body = change(day["order"], "part", {"part_id": day["part"].id, "quantity": 1})
    response = client.post(SYNC, json=body, headers=bearer(other))
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    missing = client.post(SYNC, json={**body, "key": str(uuid.uuid4()), "order_id": 999999},
                          headers=bearer(other))
    assert missing.status_code == 404
    assert missing.get_json()["error"]["message"] == response.get_json()["error"]["message"]
    assert count(session, SyncedChange) == 0 and count(session, StockMovement) == 0
    # Then the technician's own sync of that key works: the refusal was not stored.
    assert client.post(SYNC, json=body, headers=bearer(tech)).status_code == 200


def test_a_supervisor_may_sync_and_a_key_is_one_users(client, session, make_user, tech, day):
    lead = make_user("supervisor", scope="all", token=True)
    body = change(day["order"], "part", {"part_id": day["part"].id, "quantity": 1})
    assert client.post(SYNC, json=body, headers=bearer(lead)).status_code == 200
    reused = client.post(SYNC, json=body, headers=bearer(tech))
    assert reused.status_code == 422
    assert reused.get_json()["error"]["problems"]["key"]["code"] == "tech.key_reused"
    assert count(session, StockMovement) == 1


def test_bad_changes_are_refused_before_anything_is_stored(client, session, tech, day):
    order = day["order"]
    for body, field in [({**change(order, "part", {}), "key": "short"}, "key"),
                        ({**change(order, "part", {}), "key": "a/b/c/d/e/f"}, "key"),
                        (change(order, "teleport", {}), "kind"),
                        ({**change(order, "part", {}), "version": "1"}, "version")]:
        response = client.post(SYNC, json=body, headers=bearer(tech))
        assert response.status_code == 422, body
        assert field in response.get_json()["error"]["problems"]
    assert count(session, SyncedChange) == 0


def test_signature_and_photo_are_kept_by_the_attachment_store(client, session, tech, day):
    order = day["order"]
    signed = client.post(SYNC, json=change(order, "signature", {"data": png()}),
                         headers=bearer(tech))
    assert signed.status_code == 200, signed.get_json()
    assert signed.get_json()["order"]["signed"] is True
    session.refresh(order)
    assert order.signature_path.startswith("attachments/") and order.version == 2
    photo = client.post(SYNC, json=change(order, "photo", {"name": "a.png", "data": png()}),
                        headers=bearer(tech))
    assert photo.status_code == 200
    names = set(session.scalars(select(TicketAttachment.filename)
                                .where(TicketAttachment.ticket_id == order.ticket_id)))
    assert names == {f"signature-{order.id}.png", "a.png"}
    assert count(session, RepairOrderHistory, RepairOrderHistory.order_id == order.id,
                 RepairOrderHistory.field.in_(("signature", "photo"))) == 2
    html = client.post(SYNC, json=change(order, "signature",
                                         {"data": "data:image/png;base64,PHN2Zz4="}),
                       headers=bearer(tech))
    assert html.status_code == 422


def test_findings_made_on_an_old_version_are_a_conflict_with_both_values(client, session,
                                                                           tech, day):
    pytest.importorskip("repairs.orders")
    order = day["order"]
    mine = change(order, "findings", {"findings": "Relay burnt out"})
    order.findings, order.version = "Office: customer says battery", order.version + 1
    session.flush()
    response = client.post(SYNC, json=mine, headers=bearer(tech))
    assert response.status_code == 409
    body = response.get_json()
    assert body["current_version"] == 2 and body["error"]["code"] == "tech.changed_meanwhile"
    assert body["conflict"] == {"field": "findings", "mine": "Relay burnt out",
                                "theirs": "Office: customer says battery", "my_version": 1}
    session.refresh(order)
    assert order.findings == "Office: customer says battery"  # never overwritten
    # Keep mine: a new change on the current version.
    kept = client.post(SYNC, json=change(order, "findings", {"findings": "Relay burnt out"}),
                       headers=bearer(tech))
    assert kept.status_code == 200, kept.get_json()
    session.refresh(order)
    assert order.findings == "Relay burnt out" and order.version == 3


def test_a_move_on_an_old_version_is_a_conflict(client, session, tech, day):
    pytest.importorskip("repairs.transitions")
    order = day["order"]
    stale = change(order, "move", {"to": "repairing"})
    order.version += 1
    session.flush()
    response = client.post(SYNC, json=stale, headers=bearer(tech))
    assert response.status_code == 409
    assert response.get_json()["conflict"]["theirs"] == "dispatched"
    fresh = client.post(SYNC, json=change(order, "move", {"to": "repairing"}),
                        headers=bearer(tech))
    assert fresh.status_code == 200, fresh.get_json()
    assert fresh.get_json()["order"]["status"] == "repairing"
    session.refresh(order)
    refused = client.post(SYNC, json=change(order, "move", {"to": "closed"}),
                          headers=bearer(tech))
    assert refused.status_code == 422
    assert refused.get_json()["error"]["problems"]["to"]["code"] == "tech.bad_move"


def test_jobs_today_in_order_with_address_map_history_and_stock(client, session, make_user,
                                                                tech, day):
    late = make_job(session, tech, day["station"], customer_name="晚上的客户")
    early = make_job(session, tech, day["station"], when=earlier(1))
    other = make_user("technician", department="Aftersales/East")
    make_job(session, other, day["station"])  # someone else's
    response = client.get("/api/v1/tech/jobs", headers=bearer(tech))
    assert response.status_code == 200
    doc = response.get_json()
    ids = [job["id"] for job in doc["jobs"]]
    assert set(ids) == {day["order"].id, late.id, early.id} and ids[0] == early.id
    job = doc["jobs"][ids.index(day["order"].id)]
    assert job["customer"]["address"] == "北京市朝阳路88号"  # 北京 + 北京市 once
    assert job["customer"]["map_url"].startswith("https://www.openstreetmap.org/search?query=")
    assert job["customer"]["phone"] == "+8613812345678"
    assert job["product"]["model"] == "HT6120 城市客车"
    assert doc["stock"][str(day["station"].id)][0]["quantity"] == 5
    assert doc["csrf_token"]


def test_the_shell_the_worker_and_the_manifest(client, tech):
    assert client.get("/tech").status_code == 302  # to the login
    worker = client.get("/tech/sw.js")
    assert worker.status_code == 200 and worker.mimetype == "text/javascript"
    assert worker.headers["Service-Worker-Allowed"] == "/tech"
    manifest = client.get("/tech/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    data = manifest.get_json()
    assert (data["start_url"], data["scope"], data["display"]) == ("/tech", "/tech",
                                                                   "standalone")
    # Installable: PNG icons of 192 and 512 pixels that exist and are what they say.
    sizes = {}
    for icon in data["icons"]:
        served = client.get(icon["src"])
        assert served.status_code == 200, icon["src"]
        if icon["type"] == "image/png":
            png = served.data
            assert png[:8] == b"\x89PNG\r\n\x1a\n"
            width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
            assert icon["sizes"] == f"{width}x{height}"
            sizes.setdefault(icon["purpose"], set()).add(width)
        served.close()
    assert {192, 512} <= sizes["any"] and 512 in sizes["maskable"]


@pytest.mark.parametrize(("role", "scope", "own", "status"), [
    ("technician", "own", True, 200),         # the order's technician
    ("technician", "all", False, 404),        # sees it, but it is someone else's job
    ("agent", "all", False, 404),             # may write repair orders, not sync them
    ("supervisor", "department", False, 200),
    ("admin", "all", False, 200),
])
def test_who_may_sync_a_change_to_an_order(client, session, make_user, role, scope, own,
                                           status):
    caller = make_user(role, scope=scope, department="Aftersales/East", token=True)
    technician = caller if own else make_user("technician", department="Aftersales/East")
    day = make_day(session, technician)
    body = change(day["order"], "part", {"part_id": day["part"].id, "quantity": 1})
    assert client.post(SYNC, json=body, headers=bearer(caller)).status_code == status
    assert client.post(SYNC, json=body).status_code == 401
    assert client.get("/api/v1/tech/jobs").status_code == 401
