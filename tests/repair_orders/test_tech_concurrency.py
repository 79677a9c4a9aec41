"""The phone's sync under real parallel requests, on both backends: the same change
sent by several connections at once (a phone retrying while the first answer is still
on its way) is applied once, and every request gets the one answer."""

from __future__ import annotations

import threading
import uuid

import requests
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tech_support import make_day, served

from callcenter.db import make_engine
from callcenter.users.services import create_user, issue_api_token
from repairs.models import RepairOrderHistory, StationStock, StockMovement, SyncedChange

PARALLEL = 8


def _seed(url: str) -> dict:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            tech = create_user(session, username="wang", password="tech-pass-12345",
                               role="technician", department="Aftersales/East", scope="own")
            token = issue_api_token(session, tech)
            day = make_day(session, tech, stock=5)
            session.commit()
            return {"token": token, "order": day["order"].id, "part": day["part"].id,
                    "station": day["station"].id}
    finally:
        engine.dispose()


def _fire(base: str, token: str, bodies: list[dict]) -> list[requests.Response]:
    barrier = threading.Barrier(len(bodies))
    answers: list = [None] * len(bodies)

    def send(i: int) -> None:
        barrier.wait()
        answers[i] = requests.post(f"{base}/api/v1/tech/sync", json=bodies[i], timeout=60,
                                   headers={"Authorization": f"Bearer {token}"})

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def test_one_key_sent_in_parallel_has_one_effect(backend, fresh_database, tmp_path,
                                                 redis_url):
    url = fresh_database.create(backend)
    ids = _seed(url)
    key = str(uuid.uuid4())
    part = {"key": key, "order_id": ids["order"], "version": 1, "kind": "part",
            "data": {"part_id": ids["part"], "quantity": 2}}
    signature = {"key": str(uuid.uuid4()), "order_id": ids["order"], "version": 1,
                 "kind": "signature", "data": {"data": _png()}}
    with served(url, tmp_path / "instance", redis_url) as base:
        answers = _fire(base, ids["token"], [part] * PARALLEL)
        signed = _fire(base, ids["token"], [signature] * PARALLEL)
    for batch in (answers, signed):
        assert {a.status_code for a in batch} == {200}, [a.text for a in batch]
        bodies = [a.json() for a in batch]
        assert sum(1 for b in bodies if not b.pop("replayed", False)) == 1
        assert all(b == bodies[0] for b in bodies)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            def count(model, *where):
                return session.scalar(select(func.count()).select_from(model).where(*where))
            assert count(StockMovement, StockMovement.idempotency_key == key) == 1
            assert session.get(StationStock, (ids["station"], ids["part"])).quantity == 3
            assert count(SyncedChange) == 2
            assert count(RepairOrderHistory, RepairOrderHistory.field == "signature") == 1
    finally:
        engine.dispose()


def _png() -> str:
    import base64
    import io

    from PIL import Image
    out = io.BytesIO()
    Image.new("RGB", (40, 16), "white").save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()
