"""The call log page (/calls, issue 12): the user's calls only, each filter, paging, the
wrap-up on the row, a link to the customer, bad filters answered on the page (422), and
the CSV export (same filters and scope, Excel-safe, no formula from a caller's name)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from test_calls import AGENT_IF, T0, finished, summary
from webtools import login, text

from callcenter.calls.recording import record_call
from callcenter.calls.services import save_wrapup


@pytest.fixture
def world(session, make_user, make_customer):
    agent = make_user("agent", username="agent1", scope="own", department="Service/Beijing",
                      interface=AGENT_IF)
    other = make_user("agent", username="agent2", scope="own", department="Service/Shanghai",
                      interface="Local/agent2@agents/n")
    boss = make_user("admin", username="boss")
    owner = make_user("supervisor", department="Service/Beijing")
    customer = make_customer(owner, "北京华通汽车有限公司", phones=["13812345678"])
    record_call(session, finished("1795455872.8", caller_name='=HYPERLINK("x")'),
                region="CN")
    record_call(session, summary("1795455900.1", caller_number="anonymous",
                                 outcome="abandoned", started_at=T0 + 100, ended_at=T0 + 130,
                                 wait_s=30), region="CN")
    record_call(session, finished("1795456000.5", queue="repairs", caller_number="010-62345678",
                                  started_at=T0 + 200, ended_at=T0 + 300,
                                  agent_interface="Local/agent2@agents/n",
                                  agents=["Local/agent2@agents/n"]), region="CN")
    # agent2 dialled a customer from the desk: an outbound call, no queue.
    record_call(session, finished("1795456100.2", queue=None, caller_number="13900001111",
                                  started_at=T0 + 400, ended_at=T0 + 460,
                                  agent_interface="Local/agent2@agents/n",
                                  agents=["Local/agent2@agents/n"], direction="outbound"),
                region="CN")
    session.flush()
    save_wrapup(session, agent, "1795455872.8", "resolved", "换了压缩机皮带，客户满意",
                access_window_h=10**6)
    session.flush()
    return {"agent": agent, "other": other, "boss": boss, "customer": customer}


def _ids(page: str) -> list[str]:
    import re
    return re.findall(r'data-call="([^"]+)"', page)


def test_an_agent_sees_the_calls_they_handled_with_the_wrapup(client, world):
    assert login(client, "agent1").status_code == 302
    page = text(client.get("/calls/"))
    assert _ids(page) == ["1795455872.8"]
    assert "换了压缩机皮带，客户满意" in page and "北京华通汽车有限公司" in page
    # Outside agent1's own scope: opened through the call they took (audited).
    assert f'/customers/{world["customer"].id}?call=1795455872.8' in page
    assert "138 1234 5678" in page and "+86 138" not in page  # national at home
    assert "&lt;" not in page or "=HYPERLINK" in page   # the name is text, escaped


@pytest.mark.parametrize("params,expected", [
    ({}, ["1795456100.2", "1795456000.5", "1795455900.1", "1795455872.8"]),
    ({"queue": "repairs"}, ["1795456000.5"]),
    ({"outcome": "abandoned"}, ["1795455900.1"]),
    ({"agent": "agent2"}, ["1795456100.2", "1795456000.5"]),
    ({"direction": "outbound"}, ["1795456100.2"]),
    ({"direction": "inbound", "agent": "agent2"}, ["1795456000.5"]),
    ({"disposition": "resolved"}, ["1795455872.8"]),
    ({"disposition": "none"}, ["1795456100.2", "1795456000.5", "1795455900.1"]),
    ({"number": "138-1234-5678"}, ["1795455872.8"]),
    ({"since": "DAY", "until": "DAY"},
     ["1795456100.2", "1795456000.5", "1795455900.1", "1795455872.8"]),
    ({"until": "2000-01-01"}, []),
])
def test_the_filters(client, world, params, expected):
    """("DAY": the calls' day in the call center's time zone.)"""
    day = datetime.fromtimestamp(T0, ZoneInfo(client.application.config["TIMEZONE"]))
    params = {k: day.date().isoformat() if v == "DAY" else v for k, v in params.items()}
    assert login(client, "boss").status_code == 302
    r = client.get("/calls/", query_string=params)
    assert r.status_code == 200
    assert _ids(text(r)) == expected


def test_customer_filter_paging_and_bad_filters(client, world):
    assert login(client, "boss").status_code == 302
    page = text(client.get("/calls/", query_string={"customer": world["customer"].id}))
    assert _ids(page) == ["1795455872.8"] and "北京华通汽车有限公司" in page
    bad = client.get("/calls/", query_string={"since": "yesterday", "number": "1"})
    assert bad.status_code == 422
    assert 'id="f-since-error"' in text(bad) and 'aria-invalid="true"' in text(bad)
    sideways = client.get("/calls/", query_string={"direction": "sideways"})
    assert sideways.status_code == 422 and 'id="f-direction-error"' in text(sideways)
    assert client.get("/calls/", query_string={"page": "99"}).status_code == 200


def test_the_csv_export(client, world):
    assert login(client, "agent2").status_code == 302
    r = client.get("/calls/export.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    body = r.get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))
    assert [row["call_id"] for row in rows] == ["1795456100.2", "1795456000.5"]  # agent2's
    outbound = list(csv.DictReader(io.StringIO(client.get(
        "/calls/export.csv", query_string={"direction": "outbound"})
        .get_data(as_text=True).lstrip("\ufeff"))))
    assert [(row["call_id"], row["direction"]) for row in outbound] == [
        ("1795456100.2", "outbound")]
    client.post("/logout", data={"csrf_token": _token(client)})
    assert login(client, "boss").status_code == 302
    rows = list(csv.DictReader(io.StringIO(
        client.get("/calls/export.csv", query_string={"outcome": "answered"})
        .get_data(as_text=True).lstrip("\ufeff"))))
    assert [row["call_id"] for row in rows] == ["1795456100.2", "1795456000.5",
                                                "1795455872.8"]
    first = rows[2]
    assert first["caller_name"].startswith("'=HYPERLINK")   # no formula in a spreadsheet
    assert first["disposition"] == "resolved" and first["notes"] == "换了压缩机皮带，客户满意"
    assert first["customer"] == "北京华通汽车有限公司" and first["agent"] == "agent1"
    assert client.get("/calls/export.csv",
                      query_string={"since": "nope"}).status_code == 422


def test_the_call_log_needs_a_login(client, world):
    assert client.get("/calls/").status_code == 302
    assert client.get("/calls/export.csv").status_code == 302


def _token(client) -> str:
    import re
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                     text(client.get("/calls/"))).group(1)


def test_a_customer_outside_the_readers_scope_is_named_not_linked(client, session, world,
                                                                   make_user):
    from sqlalchemy import update

    from callcenter.calls.models import PbxQueue
    from callcenter.users.services import ensure_department

    session.execute(update(PbxQueue).where(PbxQueue.name == "support").values(
        department_id=ensure_department(session, "Aftersales").id))
    session.flush()
    # Sees the queue's calls (their department's queue), not the customer's record.
    make_user("supervisor", username="far_sup", department="Aftersales", scope="department")
    assert login(client, "far_sup").status_code == 302
    page = text(client.get("/calls/"))
    assert "1795455872.8" in page and "北京华通汽车有限公司" in page
    assert f'/customers/{world["customer"].id}' not in page
    client.post("/logout", data={"csrf_token": _token(client)})
    assert login(client, "boss").status_code == 302
    page = text(client.get("/calls/"))
    assert f'href="/customers/{world["customer"].id}"' in page


def test_the_caller_id_name_shows_only_when_it_is_not_the_customers_name(client, world,
                                                                        session):
    import re
    record_call(session, finished("1795456200.3", caller_name="北京华通汽车有限公司",
                                  started_at=T0 + 500, ended_at=T0 + 560), region="CN")
    session.flush()
    assert login(client, "boss").status_code == 302
    page = text(client.get("/calls/"))
    rows = dict(re.findall(r'<tr data-call="([^"]+)">(.*?)</tr>', page, re.S))
    assert "北京华通汽车有限公司" in rows["1795456200.3"]          # once: the customer
    assert "data-caller-name" not in rows["1795456200.3"]
    assert "data-caller-name" in rows["1795455872.8"]            # a name of its own
