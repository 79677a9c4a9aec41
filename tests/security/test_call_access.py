"""Issue 9, defect 11: the screen pop showed a customer outside the agent's scope while the
same agent got a 404 for that customer's page.

The rule (callcenter/calls/access.py, docs/architecture.md): the agent rung for a call
may see the caller's card for that call, open that customer's page through the call
(``/customers/<id>?call=<call_id>``) and save the call's wrap-up while the call is theirs
(ringing them or answered by them; until the wrap-up is saved or CALL_ACCESS_HOURS have
passed). Each such access outside their scope is a row in the audit log.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from api_helpers import bearer
from sqlalchemy import select
from webtools import login, post

from callcenter.audit.models import AuditEntry
from callcenter.calls.cards import caller_card
from callcenter.calls.models import CallRecord, Outcome
from callcenter.config import ConfigError, load_settings
from callcenter.realtime.agent_calls import record_agent_event

AGENT_IF = "PJSIP/2001"


@pytest.fixture
def people(make_user):
    return {
        "agent": make_user("agent", username="agent7", scope="own",
                           department="Service/Beijing", interface=AGENT_IF, token=True),
        "other": make_user("agent", username="agent8", scope="own",
                           department="Service/Beijing", interface="PJSIP/2002"),
        "owner": make_user("agent", username="owner", scope="own",
                           department="Service/Shanghai"),
        "admin": make_user("admin", username="root"),
    }


@pytest.fixture
def hidden(people, make_customer):
    """A customer of another department: outside the agent's scope."""
    return make_customer(people["owner"], "上海隐秘物流有限公司", phones=["021-6234 5678"],
                         notes="only for Shanghai")


def _call(session, call_id: str, customer, *, agent=None, age=timedelta(minutes=3),
          outcome=Outcome.ANSWERED) -> CallRecord:
    call = CallRecord(call_id=call_id, caller_number="02162345678",
                      caller_e164="+862162345678", customer_id=customer.id,
                      queue="support", outcome=outcome,
                      agent_id=agent.id if agent else None,
                      agent_interface=agent.interface if agent else None,
                      agents=[agent.interface] if agent else [],
                      started_at=datetime.now(UTC) - age)
    session.add(call)
    session.flush()
    return call


def _audit(session, user, action="customer.viewed_via_call"):
    return list(session.scalars(select(AuditEntry).where(AuditEntry.user_id == user.id,
                                                         AuditEntry.action == action)))


def test_pop_card_page_through_the_call_and_the_audit_row(client, session, people, hidden):
    agent = people["agent"]
    call = _call(session, "1795455872.8", hidden, agent=agent)
    # The pop: the bridge builds the card for the ringing call, whatever the scope.
    card = caller_card(session, "021 6234 5678", "", "CN", today=datetime.now(UTC).date(),
                       exclude_call_id=call.call_id)
    assert card["customer"]["id"] == hidden.id
    assert card["customer"]["url"] == f"/customers/{hidden.id}?call=1795455872.8"

    assert login(client, "agent7").status_code == 302
    assert client.get(f"/customers/{hidden.id}").status_code == 404   # no call, no page
    assert _audit(session, agent) == []
    page = client.get(card["customer"]["url"])
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "上海隐秘物流有限公司" in text and 'id="via-call"' in text
    rows = _audit(session, agent)
    assert [(r.entity, r.entity_id, r.call_id) for r in rows] == \
        [("customer", hidden.id, "1795455872.8")]
    # The call is not a key to other customers, nor to anybody else.
    assert client.get(f"/customers/{people['owner'].id + 999}?call={call.call_id}") \
        .status_code == 404


def test_another_agent_or_a_foreign_call_opens_nothing(client, session, people, hidden,
                                                       make_customer):
    _call(session, "c-agent7", hidden, agent=people["agent"])
    other_customer = make_customer(people["owner"], "Another hidden one")
    _call(session, "c-other", other_customer, agent=people["agent"])
    assert login(client, "agent8").status_code == 302
    assert client.get(f"/customers/{hidden.id}?call=c-agent7").status_code == 404
    post(client, "/logout")
    assert login(client, "agent7").status_code == 302
    assert client.get(f"/customers/{hidden.id}?call=c-other").status_code == 404
    assert client.get(f"/customers/{hidden.id}?call=no-such-call").status_code == 404
    assert client.get(f"/customers/{hidden.id}?call=" + "x" * 500).status_code == 404
    assert _audit(session, people["agent"]) == [] and _audit(session, people["other"]) == []


def test_a_ringing_call_opens_the_page_until_it_is_dismissed(client, session, people, hidden,
                                                             redis_conn):
    """Rung, not answered: the bridge's live entry (the pop it gave this agent) decides."""
    other = people["other"]
    _call(session, "c-ringing", hidden, outcome=Outcome.IN_PROGRESS)
    record_agent_event(redis_conn, other.id, "call.ringing", {
        "call_id": "c-ringing", "event": "call.ringing",
        "customer": {"id": hidden.id, "name": hidden.name}})
    assert login(client, "agent8").status_code == 302
    assert client.get(f"/customers/{hidden.id}?call=c-ringing").status_code == 200
    assert len(_audit(session, other)) == 1
    # Someone else answered: the call is no longer theirs.
    record_agent_event(redis_conn, other.id, "call.dismissed", {"call_id": "c-ringing"},
                       keep=False)
    assert client.get(f"/customers/{hidden.id}?call=c-ringing").status_code == 404


def test_wrap_up_through_the_call_then_access_ends(client, app, session, people, hidden):
    agent = people["agent"]
    call = _call(session, "c-wrap", hidden, agent=agent)
    api = app.test_client()
    r = api.post(f"/api/v1/calls/{call.call_id}/wrapup",
                 json={"disposition": "resolved", "notes": "done"}, headers=bearer(agent))
    assert r.status_code == 200, r.get_json()
    assert [(e.entity_id, e.call_id) for e in _audit(session, agent,
                                                     "call.wrapped_up_via_call")] == \
        [(hidden.id, "c-wrap")]
    # Saved: the call gives no more access, neither to the page nor to another wrap-up.
    assert login(client, "agent7").status_code == 302
    assert client.get(f"/customers/{hidden.id}?call=c-wrap").status_code == 404
    r = api.post(f"/api/v1/calls/{call.call_id}/wrapup",
                 json={"disposition": "other", "notes": "again"}, headers=bearer(agent))
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "call.access_ended"


def test_an_old_call_opens_nothing(client, app, session, people, hidden):
    agent = people["agent"]
    _call(session, "c-old", hidden, agent=agent, age=timedelta(hours=25))
    assert login(client, "agent7").status_code == 302
    assert client.get(f"/customers/{hidden.id}?call=c-old").status_code == 404
    r = app.test_client().post("/api/v1/calls/c-old/wrapup", json={"disposition": "resolved"},
                               headers=bearer(agent))
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "call.access_ended"


def test_in_scope_customers_need_no_call_and_leave_no_audit(client, session, people,
                                                            make_customer):
    agent = people["agent"]
    own = make_customer(agent, "Own Co")
    call = _call(session, "c-own", own, agent=agent, age=timedelta(hours=30))
    assert login(client, "agent7").status_code == 302
    assert client.get(f"/customers/{own.id}?call={call.call_id}").status_code == 200
    assert _audit(session, agent) == []


def test_admins_read_the_audit_log(client, session, people, hidden):
    _call(session, "c-audit", hidden, agent=people["agent"])
    assert login(client, "agent7").status_code == 302
    assert client.get(f"/customers/{hidden.id}?call=c-audit").status_code == 200
    assert client.get("/admin/audit").status_code == 403
    post(client, "/logout")
    assert login(client, "root").status_code == 302
    page = client.get("/admin/audit")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "agent7" in text and "c-audit" in text and f"no. {hidden.id}" in text


def test_call_access_hours_setting(tmp_path):
    def load(**env):
        return load_settings({"CALLCENTER_INSTANCE": str(tmp_path), **env})

    assert load().call_access_hours == 24 and load(CALL_ACCESS_HOURS="").call_access_hours == 24
    assert load(CALL_ACCESS_HOURS="8").call_access_hours == 8
    for bad in ("0", "-1", "a day"):
        with pytest.raises(ConfigError, match="CALL_ACCESS_HOURS"):
            load(CALL_ACCESS_HOURS=bad)
